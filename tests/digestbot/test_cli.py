"""The CLI end to end: real PyGithub against the fake GitHub, real git repos, exit codes."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from digestbot.cli import main
from tests.data.heuristic_cases import REFERENCE_CASES
from tests.fakes.chat import preserved_logging
from tests.fakes.git_repo import GitRepoBuilder
from tests.fakes.github_server import FakeFile, FakeGitHub, FakePull

REPO = "sgl-project/sglang"


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test gets its own data dir, no ambient settings or config files, and pytest's
    logging handlers back afterwards (the CLI installs its own)."""
    for name in (
        "GITHUB_TOKEN",
        "OPENAI_API_KEY",
        "DATABASE_URL",
        "DIGESTBOT_CONFIG",
        "DIGESTBOT_TZ",
        "DIGESTBOT_LANG",
        "GITHUB_API_URL",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DIGESTBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    with preserved_logging():
        yield


@pytest.fixture
def github(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        fake.add_repo(REPO)
        for case in sorted(REFERENCE_CASES, key=lambda c: c.commit.committed_at):
            commit = case.commit
            pr = commit.pr
            fake.add_commit(
                REPO,
                commit.message,
                sha=commit.sha,
                committed_at=commit.committed_at.astimezone(UTC),
                author=commit.author,
                files=[
                    FakeFile(
                        f.path, f.status, f.additions, f.deletions, f.patch or "@@ -1 +1 @@\n+x"
                    )
                    for f in commit.files
                ],
                pulls=[
                    FakePull(pr.number, pr.title, pr.body, pr.labels, merge_commit_sha=commit.sha)
                ]
                if pr
                else [],
            )
        monkeypatch.setenv("GITHUB_API_URL", fake.url)
        monkeypatch.setenv("GITHUB_TOKEN", "ghp_canarycanarycanarycanary0000")
        yield fake


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_github_digest_cold_then_warm(
    github: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys, "digest", REPO, "2026-02-08", "--tz", "Asia/Shanghai", "--lang", "zh"
    )
    assert code == 0, err
    assert out.startswith("# 每日更新报告（2026-02-08）")
    assert "本日共 9 个提交" in out
    for case in REFERENCE_CASES:
        assert case.commit.sha[:7] in out
    cold = [r.path for r in github.requests]
    list_calls = sum(1 for p in cold if p == f"/repos/{REPO}/commits")
    assert list_calls == 1
    assert sum(1 for p in cold if p.endswith("/pulls")) == 9
    assert (
        sum(1 for p in cold if p.count("/") == 5 and "/commits/" in p and not p.endswith("/pulls"))
        == 9
    )

    github.reset_requests()
    code, warm_out, _ = run(
        capsys, "digest", REPO, "2026-02-08", "--tz", "Asia/Shanghai", "--lang", "zh"
    )
    assert code == 0
    assert warm_out == out
    assert [r.path for r in github.requests] == [f"/repos/{REPO}/commits"]  # only the list

    github.reset_requests()
    code, _, _ = run(capsys, "digest", REPO, "2026-02-08", "--tz", "Asia/Shanghai", "--no-cache")
    assert code == 0 and len(github.requests) == len(cold)


def test_json_format_and_empty_day(github: FakeGitHub, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "digest", REPO, "2026-02-08", "--tz", "Asia/Shanghai", "--format", "json"
    )
    data = json.loads(out)
    assert code == 0
    assert data["stats"]["total"] == 9
    assert data["window"]["tz"] == "Asia/Shanghai"
    assert {i["importance"] for i in data["items"]} <= {"high", "medium", "low"}
    code, out, _ = run(capsys, "digest", REPO, "2026-01-01", "--lang", "en")
    assert code == 0
    assert "No commits" in out


def test_details_by_short_sha(github: FakeGitHub, capsys: pytest.CaptureFixture[str]) -> None:
    sha = REFERENCE_CASES[0].commit.sha
    code, out, err = run(capsys, "details", REPO, sha[:7], "--lang", "en")
    assert code == 0, err
    # The short SHA was resolved to the commit: its title heads the details.
    assert REFERENCE_CASES[0].commit.title in out and f"`{sha[:7]}`" in out
    # The fake serves plain http: repository links need https, so none is made.
    assert "http://" not in out


@pytest.mark.parametrize(
    ("args", "code", "fragment"),
    [
        (("digest", "nosuchalias"), 2, "Unknown repository"),
        (("digest", "bad//name"), 2, "not a valid GitHub repository"),
        (("digest", REPO, "2026-13-01"), 2, "not a valid date"),
        (("digest", REPO, "someday"), 2, "not a date"),
        (("digest", REPO, "999999d"), 2, "at most 366 days"),
        (("digest", REPO, "latest"), 2, "`latest` works for local checkouts only"),
        (("digest", REPO, "today", "--tz", "Mars/Base"), 78, "Unknown time zone"),
        (("details", REPO, "xyz"), 2, "not a commit SHA"),
    ],
)
def test_bad_input_fails_before_any_request(
    github: FakeGitHub,
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
    code: int,
    fragment: str,
) -> None:
    got, out, err = run(capsys, *args)
    assert got == code
    assert fragment in err
    assert err.count("\n") == 1 and out == ""
    assert github.requests == []


@pytest.mark.parametrize(
    ("kind", "code", "fragment"),
    [("401", 77, "denied access"), ("404", 4, "not found"), ("rate_limit", 75, "rate limit")],
)
def test_upstream_failures_have_exit_codes(
    github: FakeGitHub,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    kind: str,
    code: int,
    fragment: str,
) -> None:
    monkeypatch.setenv("GITHUB_MAX_RATE_LIMIT_WAIT", "0")
    reset = int((datetime.now(UTC) + timedelta(minutes=30)).timestamp())
    github.fail_next(kind, count=10, reset_at=reset)
    got, _, err = run(capsys, "digest", REPO, "2026-02-08")
    assert got == code
    assert fragment in err.lower()
    assert "ghp_canary" not in err


def test_network_failure(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("GITHUB_API_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("GITHUB_TIMEOUT", "2")
    got, _, err = run(capsys, "digest", REPO, "2026-02-08")
    assert got == 69
    assert err.startswith("digestbot: ") and err.count("\n") == 1


def test_local_checkout_digest(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    builder = GitRepoBuilder(tmp_path / "proj")
    now = datetime.now(UTC)
    builder.commit(
        "feat: add the parser (#12)",
        {"src/parser.py": "x = 1\n" * 40},
        when=now - timedelta(days=1),
    )
    builder.commit("docs: usage", {"README.md": "use it\n"}, when=now - timedelta(days=2))
    builder.commit("ancient", {"README.md": "old\n"}, when=now - timedelta(days=30))
    code, out, err = run(capsys, "digest", str(builder.path), "7d", "--lang", "en")
    assert code == 0, err
    assert "feat: add the parser (#12)" in out and "docs: usage" in out and "ancient" not in out
    assert "2 commits" in out


def test_console_script_is_installed(tmp_path: Path) -> None:
    exe = shutil.which("digestbot")
    assert exe is not None, "pip install -e . must provide the digestbot command"
    done = subprocess.run(
        [exe, "digest", "--help"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0
    assert "WHEN" in done.stdout.upper()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LLM_CONCURRENCY", "many"),
        ("SLACK_MODE", "carrier-pigeon"),
        ("DISCORD_MESSAGE_CONTENT", "x"),
    ],
)
def test_a_malformed_setting_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], name: str, value: str
) -> None:
    """The core's settings and every platform's are read at start, each under its prefix."""
    monkeypatch.setenv(name, value)
    code, out, err = run(capsys, "digest", REPO)
    assert code == 78 and out == ""
    assert err.startswith(f"digestbot: invalid setting {name}:") and err.count("\n") == 1


def test_the_cli_loads_no_sdk_and_no_database_layer_to_start() -> None:
    """`digestbot --help` stays fast: the parser loads neither pydantic nor the core, and the
    LLM, GitHub, database and chat stacks load only on the paths that use them."""
    code = (
        "import sys, digestbot.cli\n"
        "heavy = ('openai', 'github', 'sqlalchemy', 'slack_sdk', 'slack_bolt', 'lark_oapi',"
        " 'discord', 'aiohttp', 'pydantic', 'pydantic_settings', 'rich', 'bot.models',"
        " 'bot.config', 'bot.service', 'handlers.registry', 'asyncio')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


def test_feishu_payloads_default_to_chinese_as_the_bot_posts_them(
    github: FakeGitHub, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "digest", REPO, "2026-02-08", "--format", "feishu")
    assert code == 0, err
    assert "提交" in out or "摘要" in out
    code, out, err = run(capsys, "digest", REPO, "2026-02-08", "--format", "feishu", "--lang", "en")
    assert code == 0 and "提交" not in out and "摘要" not in out
