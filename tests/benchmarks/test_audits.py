"""The two real-history audits run end to end on a small local repository and measure what
they claim: template noise, public names reaching the model, whole summaries, label agreement."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from benchmarks import analysis_audit, heuristic_audit
from tests.fakes.git_repo import GitRepoBuilder

DAY = datetime(2026, 2, 8, 9, tzinfo=UTC)
TEMPLATE_BODY = (
    "<!-- .github/pull_request_template.md -->\n\n## 📌 Description\n\n"
    "Plans the kernel once per shape. The cache key now holds the dtype.\n\n"
    "## 🚀 Pull Request Checklist\n\n- [x] I have installed pre-commit\n- [ ] Tests added\n"
)


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    b = GitRepoBuilder(tmp_path_factory.mktemp("audit") / "repo")
    api = "def plan(q, causal=False):\n    return q\n\n\ndef run(q):\n    return q\n"
    b.commit("feat: add the api", {"pkg/api.py": api}, when=DAY.replace(hour=1))
    shas = {
        "noisy": b.commit(
            f"perf(api): plan once per shape (#12)\n\n{TEMPLATE_BODY}",
            {"pkg/cache.py": "KEY = ('shape', 'dtype')\n"},
            when=DAY.replace(hour=2),
        ),
        "removal": b.commit(
            "refactor(api): drop plan (#13)",
            {"pkg/api.py": "def run(q):\n    return q\n"},
            when=DAY.replace(hour=3),
        ),
        "docs": b.commit("docs: typo", {"README.md": "hello\n"}, when=DAY.replace(hour=4)),
    }
    return b.path, shas


def test_the_analysis_audit_measures_noise_and_surface(
    repo: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    path, shas = repo
    out = tmp_path / "audit.json"
    argv = ["--repo", str(path), "--day", "2026-02-08", "--latency", "0", "--pr-body"]
    assert analysis_audit.main([*argv, "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["commits"] == 4 and result["calls"] >= 4
    assert result["noise_share"] < 0.01  # the template never reaches the prompt
    rows = {row["sha"]: row for row in result["rows"]}
    removal = rows[shas["removal"][:7]]
    assert removal["surface"] == ["plan"] and removal["surface_reached"] == ["plan"]
    assert result["input_tokens"] > 0 and result["counter"] == "o200k_base"


def test_the_heuristic_audit_checks_summaries_and_agreement(
    repo: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    path, shas = repo
    labels = tmp_path / "labels.json"
    labels.write_text(
        json.dumps(
            [
                {"sha": shas["removal"], "importance": "high", "confidence": "sure"},
                {"sha": shas["docs"], "importance": "low", "confidence": "sure"},
                {"sha": shas["noisy"], "importance": "high", "confidence": "unsure"},
            ]
        )
    )
    out = tmp_path / "heuristic.json"
    argv = ["--repo", str(path), "--window", "2026-02-08", "--labels", str(labels)]
    assert heuristic_audit.main([*argv, "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["commits"] == 4
    assert result["summaries_with_template_text"] == 0
    assert result["share_whole_and_clean"] == 1.0
    assert result["labelled"] == 3 and result["agreement_sure"] == 1.0
    assert result["rules"].get("high:api-removed") == 1
