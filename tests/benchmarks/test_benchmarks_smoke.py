"""Smoke test of `python -m benchmarks` at tiny sizes and zero latency (never asserts timings)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.__main__ import QUICK_SIZES, Options, lower_bound, options_from, run_all
from benchmarks.fake_model import analysis_payload
from benchmarks.report import Results, render_readme, write_readme
from benchmarks.scenarios import busy_day, standard_scenarios

SIZES = (3, 8)


@pytest.fixture(scope="module")
def results() -> Results:
    return run_all(
        Options(
            sizes=SIZES,
            github_latency=0.0,
            llm_latency=0.0,
            huge=(40, 30_000),
            render_commits=25,
            slack_commands=2,
            slack_commits=1,
        )
    )


def test_every_row_is_there_with_sane_figures(results: Results) -> None:
    expected = []
    for size in SIZES:
        expected += [
            f"cold digest, {size} commits",
            f"warm re-run, {size} commits",
            f"lower bound, {size} commits",
            f"naive baseline, {size} commits",
        ]
    expected += ["one 40-file commit", f"cold digest, {SIZES[-1]} commits, triage off"]
    expected += [f"render 25 commits: {f}" for f in ("markdown", "slack", "feishu", "discord")]
    expected += ["Slack ack, 2 slash commands"]
    assert [r.scenario for r in results.rows] == expected
    for row in results.rows:
        for value in (row.wall_s, row.llm_calls, row.input_tokens, row.output_tokens):
            assert value is None or value >= 0, row
        if row.github is not None:
            assert row.github.total == (
                row.github.list_pages + row.github.details + row.github.pulls + row.github.other
            )
        if not row.scenario.startswith("lower bound"):
            assert row.wall_s is not None and row.peak_rss_mb is not None and row.peak_rss_mb > 0
    assert "not measured" not in results.row("Slack ack, 2 slash commands").note


def test_cold_runs_fetch_and_call_the_model(results: Results) -> None:
    for size in SIZES:
        cold = results.row(f"cold digest, {size} commits")
        assert cold.github is not None and cold.github.details > 0 and cold.github.pulls > 0
        assert cold.llm_calls and cold.input_tokens and cold.output_tokens
        naive = results.row(f"naive baseline, {size} commits")
        assert naive.github is not None and naive.github.details == size  # no cache, no filter
        assert naive.llm_calls == size and naive.input_tokens


def test_warm_run_makes_no_llm_call_and_only_list_requests(results: Results) -> None:
    for size in SIZES:
        warm = results.row(f"warm re-run, {size} commits")
        assert warm.llm_calls == 0 and warm.input_tokens == 0
        assert warm.github is not None and warm.github.only_list and warm.github.list_pages >= 1


def test_targets_are_all_reported(results: Results) -> None:
    names = [t.name for t in results.targets]
    expected = (
        "naive / ours",
        "warm re-run",
        "vs lower bound",
        "peak RSS",
        "per-call input",
        "triage saves",
        "Slack ack",
    )
    for name in expected:
        assert any(name in n for n in names), name
    budget = next(t for t in results.targets if t.name == "per-call input")
    assert budget.met is True  # a correctness property, not a timing
    warm = next(t for t in results.targets if t.name.startswith("warm re-run"))
    assert warm.measured.startswith("0 LLM calls")


def test_readme_has_the_table_machine_and_command(results: Results, tmp_path: Path) -> None:
    text = render_readme(results)
    assert "| scenario | wall s | GitHub requests |" in text
    assert "cores" in text and "memory" in text and "Python" in text
    assert "python -m benchmarks" in text
    path = write_readme(results, tmp_path / "README.md")
    assert path.read_text(encoding="utf-8") == text


def test_lower_bound_is_the_issue_formula() -> None:
    options = Options(github_latency=0.1, llm_latency=1.0, concurrency=8)
    # 2 list pages x 0.1 + one detail (commit + pulls) 0.2 + ceil(190 / 8) x 1.0
    assert lower_bound(2, 190, options) == pytest.approx(0.2 + 0.2 + 24.0)
    assert lower_bound(1, 0, Options(github_latency=0.0, llm_latency=0.0)) == 0.0


def test_quick_flag_shrinks_sizes() -> None:
    options = options_from(["--quick", "--llm-latency", "0.5"])
    assert options.sizes == QUICK_SIZES and options.llm_latency == 0.5
    assert options.huge[0] < 3000 and options.render_commits < 2000


def test_scenarios_are_deterministic_and_shaped_like_a_busy_repo() -> None:
    day = busy_day(200, seed=3, huge=(3000, 5_000_000))
    assert day == busy_day(200, seed=3, huge=(3000, 5_000_000))
    counts = sorted(len(c.files) for c in day)
    assert counts[-1] == 3000
    assert sum(1 for n in counts if n <= 20) >= 0.8 * len(counts)  # mostly 1-20 files
    assert sum(1 for n in counts if 100 <= n < 3000) >= 2  # some 100+
    huge = next(c for c in day if len(c.files) == 3000)
    assert 4_500_000 <= huge.patch_bytes <= 5_500_000
    assert len({c.sha for c in day}) == 200
    scenarios = standard_scenarios((5, 9), seed=1, huge=(30, 10_000))
    assert set(scenarios) == {"cold5", "cold9", "huge"}
    assert len(scenarios["huge"].commits) == 1 and scenarios["huge"].files == 30


def test_fake_model_answers_depend_only_on_the_commit() -> None:
    sha = "a" * 40
    first = analysis_payload(f"boundary 1234\nCommit SHA: {sha}")
    assert first == analysis_payload(f"boundary 9876\nCommit SHA: {sha}")
    assert analysis_payload("x", short=True)["importance"] == "low"
    levels = {analysis_payload(f"{i:040x}")["importance"] for i in range(60)}
    assert levels == {"high", "medium", "low"}
