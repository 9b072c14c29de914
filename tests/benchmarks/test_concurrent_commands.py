"""Smoke test of `python -m benchmarks.concurrent_commands` (tiny size) and its README section."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from benchmarks.concurrent_commands import SECTION, Options, run, section
from benchmarks.report import OTHER_SECTIONS, write_section


def test_concurrent_commands_cost_what_one_command_costs(tmp_path: Path) -> None:
    # The LLM latency keeps one digest in flight longer than the commands take to arrive.
    options = Options(
        commands=6, spacing_ms=10, late_spacing_ms=0, commits=5, github_latency=0, llm_latency=0.3
    )
    ideal, at_once, spaced, _ = run(options)
    assert ideal.digests == 1 and ideal.github.list_pages == 1 and ideal.overview_calls == 1
    assert ideal.github.details == ideal.github.pulls == ideal.llm_calls - 1 > 0
    for r in (at_once, spaced):
        assert r.digests == 6
        assert (r.github.total, r.llm_calls) == (ideal.github.total, ideal.llm_calls)

    readme = tmp_path / "README.md"
    readme.write_text("# benchmarks\n\nmain tables\n", encoding="utf-8")
    text = section([ideal, at_once, spaced], options, datetime(2026, 12, 6, tzinfo=UTC), "m")
    write_section(SECTION, text, readme)
    write_section("Other", "## Other\n\nkept\n", readme)
    write_section(SECTION, text, readme)  # replaced, not repeated
    written = readme.read_text(encoding="utf-8")
    assert written.startswith("# benchmarks\n\nmain tables\n")
    assert written.count(OTHER_SECTIONS) == 1 and written.count(f"## {SECTION}") == 1
    assert "## Other\n\nkept" in written and "| 6 at once | 6 | 6 |" in written
