"""Stress (not a test): many more randomised crash-and-restart runs of the scheduler than the
test suite makes, and repeated multi-process runs on PostgreSQL when a server answers.

In-process runs on SQLite (tests/fakes/crash_harness.py): each run has 1–3 random
subscriptions over 5 simulated days and digests of 1–4 parts; at each part's post the bot dies
with probability p before the send, after the send, or right after any outbox commit (plan,
begin, record, sent); the platform refuses parts now and then (and some for good); the bot's
clock steps by 10–40 minutes (more than the lease) during posts; it comes back after a random
delay; the chat platform outlives it and keeps true time. Multi-process runs on PostgreSQL
(tests/fakes/delivery_worker.py): N real processes on one database, 3-part digests, some
dying at any step and being replaced, parts refused, and — in the mixed round — each replica's
clock 2 minutes off (the lease is 3 s) and stepping by 15–30 minutes during posts.

Run: `python benchmarks/delivery_stress.py [--runs 2000] [--long-runs 500] [--pg-rounds 3]
[--write]`. Prints runs, parts expected, parts seen, partial deliveries, missed runs,
duplicates and losses; `--write` also puts them, with the machine, its load and the date, in
benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.report import README, machine, write_section
from tests.fakes.crash_harness import (
    ALL_DELAYS,
    CRASH_POINTS,
    SHORT_DELAYS,
    CrashRun,
    RunResult,
)
from tests.fakes.scheduled_chat import SnapshotSource, make_daily_repo

LINES: list[str] = []  # what was printed, for --write


def say(text: str = "") -> None:
    print(text, flush=True)
    LINES.append(text)


def _workdir() -> Path:
    shm = Path("/dev/shm")
    base = shm if shm.is_dir() and os.access(shm, os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix="digestbot-stress-", dir=base))


async def in_process(
    runs: int,
    seed: int,
    delays: tuple[timedelta, ...],
    probability: float,
    repo: Path,
    workdir: Path,
    *,
    refusal: float,
    steps: float,
) -> list[RunResult]:
    source = await SnapshotSource.load(repo, date(2026, 1, 25), date(2026, 6, 30))
    slots = asyncio.Semaphore(8)

    async def one(index: int) -> RunResult:
        async with slots:
            rng = random.Random(seed * 1_000_000 + index)
            start = datetime(2026, 2, 1, tzinfo=UTC) + timedelta(minutes=rng.randint(0, 120 * 1440))
            path = workdir / f"run{index}"
            result = await CrashRun(
                path,
                repo,
                rng,
                start=start,
                source=source,
                delays=delays,
                probability=probability,
                refusal=refusal,
                steps=steps,
            ).run()
            shutil.rmtree(path, ignore_errors=True)
            return result

    return list(await asyncio.gather(*(one(i) for i in range(runs))))


def report(title: str, results: list[RunResult], seconds: float) -> bool:
    crashes: Counter[str] = Counter()
    for r in results:
        crashes.update(r.crashes)
    figures = {
        "runs": len(results),
        "digests due": sum(len(r.expected) for r in results),
        "parts expected": sum(r.parts_expected for r in results),
        "parts seen": sum(r.parts_seen for r in results),
        "partial reported": sum(len(r.partial) for r in results),
        "missed reported": sum(sum(r.missed.values()) for r in results),
        "duplicates": sum(r.duplicates for r in results),
        "losses": sum(r.losses for r in results),
        "unexpected posts": sum(r.unexpected for r in results),
        "restarts": sum(r.restarts for r in results),
        "refusals": sum(r.refusals for r in results),
        "clock steps": sum(r.clock_steps for r in results),
        **{f"crashes {p.replace('_', ' ')}": crashes[p] for p in CRASH_POINTS},
        "seconds": round(seconds, 1),
    }
    say(f"\n{title}")
    for name, value in figures.items():
        say(f"  {name:<22} {value}")
    return figures["duplicates"] == figures["losses"] == figures["unexpected posts"] == 0


def multi_process(rounds: int, repo: Path) -> bool:
    from sqlalchemy import create_engine, text

    from tests.fakes.delivery_worker import run_processes, seed_scenario
    from tests.fakes.postgres import DEFAULT_URL

    base = os.environ.get("DIGESTBOT_TEST_PG_URL", DEFAULT_URL)
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    ok = True
    totals: Counter[str] = Counter()
    # (processes, crash probability, refusal, clock skew in s, clock-step probability)
    shapes = ((2, 0.0, 0.0, 0.0, 0.0), (4, 0.06, 0.05, 0.0, 0.0), (3, 0.04, 0.1, 120.0, 0.1))
    for round_index in range(rounds):
        for shape, (processes, crash, refusal, skew, steps) in enumerate(shapes):
            name = f"dbt_stress_{os.getpid()}_{round_index}_{shape}"
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            url = base.rsplit("/", 1)[0] + "/" + name
            try:
                scenario = seed_scenario(url, 24, datetime.now(UTC), parts=3)
                figures = run_processes(
                    url,
                    repo,
                    scenario,
                    processes,
                    crash_probability=crash,
                    seed=round_index,
                    parts=3,
                    refusal=refusal,
                    skew_seconds=skew,
                    step_probability=steps,
                )
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            label = f"{processes} processes" + (" crashing" if crash else "")
            label += f", refusing {refusal:.0%}" if refusal else ""
            label += f", clocks ±{skew:.0f} s and stepping" if skew else ""
            say(
                f"  round {round_index + 1}, {label}: parts expected "
                f"{figures.posts_expected}, parts seen {figures.posts_seen}, partial "
                f"{figures.partial}, notices {figures.notices_seen}/"
                f"{figures.notices_expected + figures.partial}, duplicates "
                f"{figures.duplicates}, losses {figures.losses}, crashes {figures.crashes}, "
                f"processes spawned {figures.spawned}"
            )
            totals.update(
                {
                    "runs": 1,
                    "parts expected": figures.posts_expected,
                    "parts seen": figures.posts_seen,
                    "partial": figures.partial,
                    "duplicates": figures.duplicates,
                    "losses": figures.losses,
                    "crashes": figures.crashes,
                }
            )
            ok = ok and figures.duplicates == 0 and figures.losses == 0
    admin.dispose()
    say("  total: " + ", ".join(f"{k} {v}" for k, v in totals.items()))
    return ok


def main(argv: list[str] | None = None, *, readme: Path = README) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=2000, help="runs with 1 s..5 h restarts")
    parser.add_argument("--long-runs", type=int, default=500, help="runs with up to 72 h outages")
    parser.add_argument("--pg-rounds", type=int, default=3, help="multi-process rounds (0: skip)")
    parser.add_argument("--probability", type=float, default=0.12)
    parser.add_argument("--refusal", type=float, default=0.05, help="per part post")
    parser.add_argument("--steps", type=float, default=0.05, help="clock steps per post")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--write", action="store_true", help="record in benchmarks/README.md")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.CRITICAL)
    LINES.clear()
    started, load = datetime.now(UTC), os.getloadavg()
    workdir = _workdir()
    ok = True
    try:
        repo = workdir / "widget"
        make_daily_repo(repo, date(2026, 1, 25), 160)
        for title, runs, delays, probability in (
            (
                "in-process, restarts after 1 s / 5 min / 1 h / 5 h",
                args.runs,
                SHORT_DELAYS,
                args.probability,
            ),
            (
                "in-process, restarts after up to 25 h / 72 h too",
                args.long_runs,
                ALL_DELAYS,
                args.probability * 1.5,
            ),
        ):
            if runs <= 0:
                continue
            began = time.perf_counter()
            results = asyncio.run(
                in_process(
                    runs,
                    args.seed,
                    delays,
                    probability,
                    repo,
                    workdir,
                    refusal=args.refusal,
                    steps=args.steps,
                )
            )
            ok = report(title, results, time.perf_counter() - began) and ok
        if args.pg_rounds > 0:
            import socket

            try:
                socket.create_connection(("127.0.0.1", 5432), timeout=0.5).close()
            except OSError:
                say("\nmulti-process: skipped (no PostgreSQL on 127.0.0.1:5432)")
            else:
                say("\nmulti-process on PostgreSQL (real OS processes, shared sink table)")
                ok = multi_process(args.pg_rounds, repo) and ok
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    say("\nOK: no duplicates, no losses" if ok else "\nFAILED: duplicates or losses (above)")
    if args.write:
        write_section(SECTION, _section(argv, started, load), readme)
    return 0 if ok else 1


SECTION = "Delivery under crashes, refusals, clock steps and replicas"


def _section(argv: list[str] | None, started: datetime, load: tuple[float, ...]) -> str:
    box = machine()
    command = " ".join(["python benchmarks/delivery_stress.py", *(argv or sys.argv[1:])])
    return (
        f"## {SECTION}\n\n"
        f"`{command}` on {started:%Y-%m-%d %H:%M} UTC; {box['cores']} cores, {box['memory']}, "
        f"{box['cpu']}, Python {box['python']}; load average before the run "
        f"{' '.join(f'{x:.2f}' for x in load)}. Design and policies: docs/delivery.md.\n\n"
        "```\n" + "\n".join(line for line in LINES if line.strip()) + "\n```\n"
    )


if __name__ == "__main__":
    sys.exit(main())
