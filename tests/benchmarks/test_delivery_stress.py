"""Smoke test of `python benchmarks/delivery_stress.py` (a few runs) and its README section."""

from __future__ import annotations

import re
from pathlib import Path

from benchmarks.delivery_stress import SECTION, main


def test_a_few_stress_runs_lose_and_repeat_nothing_and_are_recorded(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("# benchmarks\n", encoding="utf-8")
    argv = ["--runs", "2", "--long-runs", "1", "--pg-rounds", "0", "--refusal", "0.2", "--write"]
    assert main(argv, readme=readme) == 0
    written = readme.read_text(encoding="utf-8")
    assert f"## {SECTION}" in written and "load average before the run" in written
    for name in ("duplicates", "losses"):
        assert re.findall(rf"{name}\s+(\d+)", written) == ["0", "0"]
    expected = [int(n) for n in re.findall(r"parts expected\s+(\d+)", written)]
    assert len(expected) == 2 and min(expected) > 0
