"""Smoke test of `python -m benchmarks.html_pages` (one run; no timings asserted)."""

from __future__ import annotations

from benchmarks.html_pages import table


def test_the_table_has_the_pages_and_the_chart() -> None:
    text = table(1)
    assert text.count("\n| report page") == 2 and "| week chart PNG (1200×800)" in text
    assert "| week chart SVG" in text
