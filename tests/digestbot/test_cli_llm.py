"""The CLI with an LLM configured: real openai client against the fake server, cache hits."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from digestbot.cli import main
from tests.digestbot.test_cli import REPO, github, isolated_env  # noqa: F401 - fixtures
from tests.fakes.github_server import FakeGitHub
from tests.fakes.openai_server import FakeOpenAI, Scripted, sample_analysis, valid

CANARY = "sk-canary-0123456789abcdefghij"


def _answer(body: dict[str, Any]) -> Scripted:
    """A valid overview or a valid analysis (whose scope is a real directory of the commit)."""
    if '"overview"' in json.dumps(body.get("response_format") or body["messages"][0]["content"]):
        return valid({"overview": "A quiet day. Two fixes stand out."})
    return valid(sample_analysis(scope=["python/sglang"], importance="medium"))


@pytest.fixture
def llm(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOpenAI]:
    with FakeOpenAI(default=_answer) as fake:
        monkeypatch.setenv("OPENAI_API_KEY", CANARY)
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        monkeypatch.setenv("LLM_MODEL", "fake-model")
        monkeypatch.setenv("LLM_TRIAGE", "heuristic")
        yield fake


def test_a_warm_llm_digest_never_loads_the_openai_sdk(
    github: FakeGitHub, llm: FakeOpenAI, tmp_path: Path
) -> None:
    """A day whose analyses are all stored makes no LLM call, so it never loads the openai SDK
    (half a second of imports); the cold run before it does, in a worker thread."""
    code = (
        "import io, sys, contextlib\n"
        "from digestbot.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    code = main(['digest', sys.argv[1], '2026-02-08', '--tz', 'Asia/Shanghai'])\n"
        "assert code == 0 and out.getvalue()\n"
        "print('openai' in sys.modules)\n"
    )
    env = {**os.environ, "GITHUB_API_URL": github.url}

    def run() -> str:
        done = subprocess.run(
            [sys.executable, "-c", code, REPO],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stdout.strip()

    assert run() == "True" and llm.requests  # cold: the model was asked
    calls = len(llm.requests)
    assert run() == "False"  # warm: every analysis and the overview were stored
    assert len(llm.requests) == calls


def test_llm_digest_is_cached_across_runs(
    github: FakeGitHub,
    llm: FakeOpenAI,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    args = ["digest", REPO, "2026-02-08", "--tz", "Asia/Shanghai", "--format", "json"]
    assert main(args) == 0
    first = json.loads(capsys.readouterr().out)
    calls = len(llm.requests)
    prov = first["provenance"]
    assert calls >= 1
    assert prov["llm_analyses"] >= 1 and prov["model"] == "fake-model"
    assert prov["prompt_tokens"] > 0 and prov["completion_tokens"] > 0
    assert all(CANARY not in json.dumps(r) for r in llm.requests)

    assert main(args) == 0
    second = json.loads(capsys.readouterr().out)
    assert len(llm.requests) == calls  # a day's second run costs no LLM call
    assert [i["summary"] for i in second["items"]] == [i["summary"] for i in first["items"]]
    assert first["overview"] == second["overview"] == "A quiet day. Two fixes stand out."

    sha = next(i["sha"] for i in first["items"] if i["provenance"]["analyzer"] == "llm")
    assert main(["details", REPO, sha[:8], "--lang", "en"]) == 0
    assert sha[:7] in capsys.readouterr().out
    # `details` in the digest's language reuses the cache; another language is a new analysis.
    assert main(["details", REPO, sha[:8], "--lang", first["language"]]) == 0
    capsys.readouterr()


def test_llm_outage_falls_back_to_heuristic(
    github: FakeGitHub,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with FakeOpenAI() as broken:  # no default: every request answers HTTP 500
        monkeypatch.setenv("OPENAI_API_KEY", CANARY)
        monkeypatch.setenv("OPENAI_BASE_URL", broken.base_url)
        monkeypatch.setenv("LLM_MAX_RETRIES", "0")
        monkeypatch.setenv("LLM_TRIAGE", "off")
        code = main(["digest", REPO, "2026-02-08", "--tz", "Asia/Shanghai", "--format", "json"])
        data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert data["stats"]["total"] == 9
    assert data["provenance"]["fallbacks"] == 9
    assert all(i["provenance"]["analyzer"] == "heuristic" for i in data["items"])
