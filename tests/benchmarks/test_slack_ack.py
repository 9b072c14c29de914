"""Smoke test of the ack-latency benchmark at a tiny size (no timing assertions)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.slack_ack import main, run


async def test_benchmark_runs_and_posts_every_digest(tmp_path: Path) -> None:
    result = await run(tmp_path, commands=4, channels=2, interval=0.0, commits=2)
    assert result.commands == 4 and len(result.latencies) == 4
    assert result.digests_posted == 4
    assert "p50" in result.report() and "p99" in result.report()


def test_benchmark_cli_prints_the_figures(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--commands", "2", "--channels", "2", "--interval", "0", "--commits", "1"]) == 0
    out = capsys.readouterr().out
    assert "ack latency ms: p50" in out and "digests posted: 2" in out
