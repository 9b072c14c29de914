"""Smoke test of `python -m benchmarks.alerts_day` (a few commits, no latency; no timings)."""

from __future__ import annotations

from pathlib import Path

from benchmarks.alerts_day import Options, digest_alone, polling, pushes, render, webhook


async def test_a_small_day_alerts_every_high_commit_and_costs_no_extra_llm_call(
    tmp_path: Path,
) -> None:
    options = Options(commits=8, github_latency=0.0, llm_latency=0.0, seed=3)
    day = pushes(options)
    for name in ("alone", "polling", "webhook"):
        (tmp_path / name).mkdir()
    alone, high = await digest_alone(options, day, tmp_path / "alone")
    polled = await polling(options, day, tmp_path / "polling")
    hooked = await webhook(options, day, tmp_path / "webhook")
    for phase in (polled, hooked):
        assert phase.alerted == high  # every high commit, and nothing else
        assert phase.llm_alerts + phase.llm_digest == alone
        assert len(phase.latencies) == len(high)
    assert polled.unchanged > 0 and polled.charged < polled.requests  # 304s are free
    assert hooked.polls == 0 and hooked.charged == hooked.requests
    table = render(options, day, alone, high, [polled, hooked])
    assert table.count("\n| ") == 3 and "| 0 |" in table
