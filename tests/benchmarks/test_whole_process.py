"""Smoke test of `python -m benchmarks.whole_process` (tiny sizes, zero latency; no timings)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.report import OTHER_SECTIONS, write_section
from benchmarks.whole_process import (
    SECTION,
    DigestCase,
    Results,
    options_from,
    run,
    section,
    table,
)

ARGV = [
    "--repeats=1",
    "--small=3",
    "--large=4",
    "--concurrency=8",
    "--big=6",
    "--big-days=2",
    "--help-runs=1",
    "--github-latency=0",
    "--llm-latency=0",
    "--no-warm-up",
]


@pytest.fixture(scope="module")
def results() -> Results:
    return run(options_from(ARGV, quiet=True))


def _kept(results: Results, key: str) -> int:
    """Commits of a scenario the default filters keep (bot commits are left out)."""
    return sum(1 for c in results.scenarios[key].commits if not c.author.endswith("[bot]"))


def test_every_case_has_its_rows_and_every_run_exited_0(results: Results) -> None:
    text = table(results)
    for row in (
        "| 3-commit day, GitHub | cold | 1 |",
        "| 3-commit day, GitHub | warm | 1 |",
        "| 4-commit day, GitHub, C=8 | cold | 1 |",
        "| 4-commit day, GitHub, C=8 | warm | 1 |",
        "| 6-commit window, GitHub, heuristic | cold | 1 |",
        "| 6-commit window, GitHub, heuristic | warm | 1 |",
        "| `digestbot --help` | python -m digestbot --help | 1 |",
        "| baseline | python -c pass | 1 |",
        "| baseline | imports of a digest | 1 |",
    ):
        assert row in text, row
    assert len(results.runs) == len(text.splitlines()) - 2
    for r in results.runs:
        assert r.exit_code == 0 and r.wall_s > 0 and r.peak_rss_mb > 0, r
        assert r.report_chars > 0 or r.case == "baseline", r  # a report, or the --help text


def test_llm_calls_counted_at_the_fake(results: Results) -> None:
    expected = {
        "3-commit day, GitHub": _kept(results, "small"),
        "4-commit day, GitHub, C=8": _kept(results, "large"),
        "6-commit window, GitHub, heuristic": _kept(results, "big"),
    }
    llm = {c.name: c.llm for c in results.cases if isinstance(c, DigestCase)}
    for name, kept in expected.items():
        (cold,) = results.of(name, "cold")
        (warm,) = results.of(name, "warm")
        assert cold.commits == warm.commits == kept
        if llm[name]:
            assert (cold.analysis_calls, cold.overview_calls) == (kept, 1)
            assert cold.first_llm_s is not None and cold.tail_s is not None
        else:
            assert (cold.analysis_calls, cold.overview_calls) == (0, 0)
        assert (warm.analysis_calls, warm.overview_calls) == (0, 0)
        assert cold.github.details == kept and cold.github.list_pages >= 1
        assert warm.github.only_list and warm.github.list_pages >= 1


def test_peak_rss_is_the_childs_not_the_benchmarks(results: Results) -> None:
    # A direct child of the benchmark would start at the benchmark's RSS (fakes and all).
    (bare,) = results.of("baseline", "python -c pass")
    assert bare.peak_rss_mb < 60


def test_section_goes_into_the_readme(results: Results, tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# benchmarks\n\nmain tables\n", encoding="utf-8")
    text = section(results)
    write_section(SECTION, text, readme)
    write_section(SECTION, text, readme)  # replaced, not repeated
    written = readme.read_text(encoding="utf-8")
    assert written.startswith("# benchmarks\n\nmain tables\n")
    assert written.count(OTHER_SECTIONS) == 1 and written.count(f"## {SECTION}") == 1
    assert "whole-process" in written and "in-process" in written and "load average" in written


def test_checkout_options() -> None:
    options = options_from(["--checkout", ".", "--day", "2026-08-14", "--tz", "Asia/Shanghai"])
    assert options.big_checkout_window == "2026-01-01..2026-08-14"
    assert options.checkout is not None and options.checkout.is_absolute()
    off = options_from(["--checkout", ".", "--day=2026-08-14", "--big-checkout-window=off"])
    assert off.big_checkout_window is None
    assert options_from([]).checkout is None
