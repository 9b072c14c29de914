"""`python -m benchmarks.whole_process`: the `digestbot` CLI timed as a process, spawn to exit."""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from benchmarks.fake_model import LLMRecorder
from benchmarks.measure import _PRELOAD, GitHubCounts, github_counts
from benchmarks.report import README, machine, write_section
from benchmarks.scenarios import BASE_DAY, CommitSpec, Scenario, busy_day, load
from tests.fakes.github_server import FakeGitHub
from tests.fakes.openai_server import FakeOpenAI

ROOT = Path(__file__).resolve().parents[1]
SECTION = "Whole process: the CLI timed from spawn to exit"
# What the in-process benchmark (benchmarks/measure.py) imports before its clock starts, less
# its naive baseline, plus the CLI module itself.
DIGEST_IMPORTS = ("digestbot.cli", *(m for m in _PRELOAD if not m.startswith("benchmarks.")))
# The only variables the child inherits; everything digestbot reads is set explicitly.
_INHERITED = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "PYENV_ROOT", "PYENV_VERSION")
_COMMITS_LINE = re.compile(r"^> ([\d,]+) commits?\b", re.MULTILINE)
SMALL_DAY = BASE_DAY + timedelta(days=40)
LARGE_DAY = BASE_DAY + timedelta(days=50)
BIG_FIRST_DAY = BASE_DAY + timedelta(days=60)


class RunFailed(RuntimeError):
    """A child exited non-zero or printed no report: the benchmark stops with its stderr."""


# -- the fakes, with arrival and reply times ----------------------------------------------------


class TimedGitHub(FakeGitHub):
    """FakeGitHub that records when each request arrives (time.monotonic)."""

    def __init__(self, *, latency: float = 0.0) -> None:
        super().__init__(latency=latency)
        self.arrivals: list[float] = []
        self._times = threading.Lock()

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        with self._times:
            self.arrivals.append(time.monotonic())
        super()._handle(handler, method)

    def reset_times(self) -> None:
        self.reset_requests()
        with self._times:
            self.arrivals.clear()

    def first_arrival(self) -> float | None:
        with self._times:
            return min(self.arrivals, default=None)


class TimedOpenAI(FakeOpenAI):
    """FakeOpenAI that records when each completion request arrives and when its reply is sent."""

    def __init__(self, *, latency: float, recorder: LLMRecorder) -> None:
        super().__init__(latency=latency, default=recorder, token_counter=recorder.counter.count)
        self.recorder = recorder
        self.arrivals: list[float] = []
        self.replies: list[float] = []
        self._times = threading.Lock()

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        arrived = time.monotonic()
        super()._handle(handler, method)
        replied = time.monotonic()
        with self._times:
            self.arrivals.append(arrived)
            self.replies.append(replied)

    def reset_times(self) -> None:
        self.reset()
        self.recorder.reset()
        with self._times:
            self.arrivals.clear()
            self.replies.clear()

    def first_arrival_last_reply(self) -> tuple[float | None, float | None]:
        with self._times:
            return min(self.arrivals, default=None), max(self.replies, default=None)

    def call_kinds(self) -> tuple[int, int]:
        """(analysis calls, overview calls), told apart as benchmarks/fake_model.py does."""
        overview = sum(1 for body in list(self.requests) if _schema_name(body) == "day_overview")
        return len(self.requests) - overview, overview


def _schema_name(body: dict[str, Any]) -> str | None:
    fmt = body.get("response_format") or {}
    name = (fmt.get("json_schema") or {}).get("name") if isinstance(fmt, dict) else None
    return str(name) if name else None


@dataclass
class Fakes:
    github: TimedGitHub
    llm: TimedOpenAI

    def reset(self) -> None:
        self.github.reset_times()
        self.llm.reset_times()


# -- options and cases -------------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    repeats: int = 3
    small: int = 14
    large: int = 200
    concurrencies: tuple[int, ...] = (8, 32)
    small_concurrency: int = 8
    big: int = 1457
    big_days: int = 7
    help_runs: int = 5
    github_latency: float = 0.1
    llm_latency: float = 1.0
    seed: int = 7
    checkout: Path | None = None
    day: str | None = None
    tz: str = "UTC"
    big_checkout_window: str | None = None  # None: no local-git variant of the big run
    timeout: float = 1800.0
    write: bool = False
    warm_up: bool = True  # one unmeasured run first: byte-code and page cache, as a user's
    command: str = "python -m benchmarks.whole_process"
    log: Callable[[str], None] = field(default=lambda message: None)


@dataclass(frozen=True)
class DigestCase:
    """`digestbot digest TARGET WHEN`: cold on a fresh database, then warm on the same one."""

    name: str
    target: str  # owner/name on the fake GitHub, or a local checkout path
    when: str
    tz: str
    concurrency: int | None  # LLM_CONCURRENCY; None: LLM off (the heuristic analyzer)
    cold_every_round: bool = True  # False: one cold run fills the cache, warm runs are measured

    @property
    def llm(self) -> bool:
        return self.concurrency is not None


@dataclass(frozen=True)
class CommandCase:
    """A command with no fake behind it (`--help`, a bare interpreter), run often in a round."""

    name: str
    phase: str
    argv: tuple[str, ...]


@dataclass(frozen=True)
class Run:
    case: str
    phase: str  # "cold", "warm" or the command's label
    wall_s: float
    peak_rss_mb: float
    exit_code: int
    report_chars: int
    commits: int | None  # the digest's "N commits" statistics line
    github: GitHubCounts
    analysis_calls: int
    overview_calls: int
    first_github_s: float | None  # spawn → first GitHub request at the fake
    first_llm_s: float | None  # spawn → first LLM request at the fake
    tail_s: float | None  # last LLM reply sent → process exit


@dataclass
class Results:
    options: Options
    cases: list[DigestCase | CommandCase]
    scenarios: dict[str, Scenario]
    runs: list[Run] = field(default_factory=list)
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    load_before: tuple[float, float, float] = (0.0, 0.0, 0.0)
    seconds: float = 0.0
    console_script: str | None = None

    def of(self, case: str, phase: str) -> list[Run]:
        return [r for r in self.runs if r.case == case and r.phase == phase]


def _split(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def scenarios(options: Options) -> dict[str, Scenario]:
    """The synthetic repositories: a small day, a large day and a multi-day big window."""
    out = {
        "small": Scenario(
            "bench/whole-small",
            SMALL_DAY,
            busy_day(options.small, seed=options.seed, day=SMALL_DAY),
        ),
        "large": Scenario(
            "bench/whole-large",
            LARGE_DAY,
            busy_day(options.large, seed=options.seed + 1, day=LARGE_DAY),
        ),
    }
    days = max(1, min(options.big_days, options.big))
    commits: list[CommitSpec] = []
    for index, count in enumerate(_split(options.big, days)):
        day = BIG_FIRST_DAY + timedelta(days=index)
        commits += busy_day(count, seed=options.seed + 100 + index, day=day)
    out["big"] = Scenario("bench/whole-big", BIG_FIRST_DAY, tuple(commits))
    return out


def _days(first: datetime, count: int) -> str:
    last = first + timedelta(days=count - 1)
    return first.date().isoformat() if count == 1 else f"{first.date()}..{last.date()}"


def cases(
    options: Options, found: dict[str, Scenario], console_script: str | None
) -> list[DigestCase | CommandCase]:
    small, large, big = found["small"], found["large"], found["big"]
    big_days = max(1, min(options.big_days, options.big))
    out: list[DigestCase | CommandCase] = [
        DigestCase(
            f"{options.small}-commit day, GitHub",
            small.repo,
            _days(small.day, 1),
            "UTC",
            options.small_concurrency,
        )
    ]
    out += [
        DigestCase(
            f"{options.large}-commit day, GitHub, C={c}", large.repo, _days(large.day, 1), "UTC", c
        )
        for c in options.concurrencies
    ]
    if options.checkout is not None and options.day is not None:
        out.append(
            DigestCase(
                f"real day {options.day} ({options.tz}), local git",
                str(options.checkout),
                options.day,
                options.tz,
                options.small_concurrency,
            )
        )
    out.append(
        DigestCase(
            f"{options.big:,}-commit window, GitHub, heuristic",
            big.repo,
            _days(big.day, big_days),
            "UTC",
            None,
            cold_every_round=False,
        )
    )
    if options.checkout is not None and options.big_checkout_window:
        out.append(
            DigestCase(
                f"window {options.big_checkout_window}, local git, heuristic",
                str(options.checkout),
                options.big_checkout_window,
                options.tz,
                None,
                cold_every_round=False,
            )
        )
    python = sys.executable
    imports = "import " + ", ".join(DIGEST_IMPORTS)
    out += [
        CommandCase(
            "`digestbot --help`",
            "python -m digestbot --help",
            (python, "-m", "digestbot", "--help"),
        ),
    ]
    if console_script:
        out.append(
            CommandCase("`digestbot --help`", "console script --help", (console_script, "--help"))
        )
        real = Path(python).parent / "digestbot"
        if real.exists() and Path(console_script).resolve() != real.resolve():
            out.append(
                CommandCase("`digestbot --help`", "console script, no shim", (str(real), "--help"))
            )
    out += [
        CommandCase("baseline", "python -c pass", (python, "-c", "pass")),
        CommandCase("baseline", "imports of a digest", (python, "-c", imports)),
    ]
    return out


# -- running one child --------------------------------------------------------------------------


def child_env(
    home: Path,
    *,
    database: Path | None = None,
    github_url: str | None = None,
    openai_url: str | None = None,
    concurrency: int | None = None,
) -> dict[str, str]:
    env = {name: os.environ[name] for name in _INHERITED if name in os.environ}
    env["HOME"] = str(home)
    env["PYTHONPATH"] = str(ROOT)  # this checkout's code, whatever is installed
    if database is not None:
        env["DATABASE_URL"] = f"sqlite:///{database}"
    if github_url is not None:
        env["GITHUB_API_URL"] = github_url
        env["GITHUB_TOKEN"] = "x"
    if openai_url is not None:
        env["OPENAI_API_KEY"] = "x"
        env["OPENAI_BASE_URL"] = openai_url
    if concurrency is not None:
        env["LLM_CONCURRENCY"] = str(concurrency)
    return env


@dataclass(frozen=True)
class Spawned:
    began: float  # time.monotonic(): CLOCK_MONOTONIC, the same clock in every process
    ended: float
    exit_code: int
    peak_rss_kib: int
    stdout: str
    stderr: str


# The launcher: a bare interpreter (-I -S, stdlib only, ~13 MB) that Popens the measured command,
# reads its stdout fully, then wait4s it. It exists for the peak RSS: Linux starts a child's
# ru_maxrss at its parent's RSS (vfork or fork, then execve: exec_mmap records the old mm's
# high-water mark), so a child of this process (the fakes, the synthetic repositories: 100-300 MB)
# would show at least that. A child of the launcher starts at the launcher's ~13 MB, which is
# below any Python process's own peak.
_LAUNCHER = """\
import json, os, subprocess, sys, threading, time
job = json.load(sys.stdin)
with open(job["stdout"], "wb") as out, open(job["stderr"], "wb") as err:
    began = time.monotonic()
    proc = subprocess.Popen(job["argv"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=err, env=job["env"], cwd=job["cwd"])
    watchdog = threading.Timer(job["timeout"], proc.kill)
    watchdog.start()
    data = proc.stdout.read()
    proc.stdout.close()
    _, status, usage = os.wait4(proc.pid, 0)
    ended = time.monotonic()
    watchdog.cancel()
    proc.returncode = os.waitstatus_to_exitcode(status)
    out.write(data)
print(json.dumps({"began": began, "ended": ended, "exit_code": proc.returncode,
                  "maxrss_kib": usage.ru_maxrss}))
"""


def spawn(argv: Sequence[str], env: dict[str, str], cwd: Path, timeout: float) -> Spawned:
    """Run `argv` as its own process (through the launcher): wall from just before Popen to
    after wait4, peak RSS from wait4's rusage (ru_maxrss, KiB on Linux: the child's own, or a
    reaped descendant's such as `git` if that were larger)."""
    stdout, stderr = cwd / "stdout.txt", cwd / "stderr.txt"
    job = {
        "argv": list(argv),
        "env": env,
        "cwd": str(cwd),
        "stdout": str(stdout),
        "stderr": str(stderr),
        "timeout": timeout,
    }
    launcher = subprocess.run(
        [sys.executable, "-I", "-S", "-c", _LAUNCHER],
        input=json.dumps(job),
        capture_output=True,
        text=True,
        timeout=timeout + 60,
        check=False,
    )
    if launcher.returncode != 0:
        raise RunFailed(f"the launcher failed (exit {launcher.returncode}):\n{launcher.stderr}")
    figures = json.loads(launcher.stdout)
    return Spawned(
        began=figures["began"],
        ended=figures["ended"],
        exit_code=figures["exit_code"],
        peak_rss_kib=figures["maxrss_kib"],
        stdout=stdout.read_text(encoding="utf-8", errors="replace"),
        stderr=stderr.read_text(encoding="utf-8", errors="replace"),
    )


def _check(argv: Sequence[str], spawned: Spawned) -> None:
    if spawned.exit_code != 0 or not spawned.stdout.strip():
        raise RunFailed(
            f"{' '.join(argv)} exited {spawned.exit_code} after "
            f"{spawned.ended - spawned.began:.2f} s with {len(spawned.stdout)} characters on "
            f"stdout; stderr:\n{spawned.stderr[-4000:]}"
        )


def _commits(report: str) -> int | None:
    match = _COMMITS_LINE.search(report)
    return int(match.group(1).replace(",", "")) if match else None


def run_digest(case: DigestCase, phase: str, workdir: Path, fakes: Fakes, options: Options) -> Run:
    home = workdir / "home"
    home.mkdir(exist_ok=True)
    env = child_env(
        home,
        database=workdir / "db.sqlite",
        github_url=fakes.github.url,
        openai_url=fakes.llm.base_url if case.llm else None,
        concurrency=case.concurrency,
    )
    argv = [sys.executable, "-m", "digestbot", "digest", case.target, case.when]
    argv += ["--tz", case.tz, "--format", "markdown"]
    fakes.reset()
    spawned = spawn(argv, env, workdir, options.timeout)
    _check(argv, spawned)
    github, llm = fakes.github, fakes.llm
    analysis, overview = llm.call_kinds()
    first_github = github.first_arrival()
    first_llm, last_reply = llm.first_arrival_last_reply()
    return Run(
        case=case.name,
        phase=phase,
        wall_s=spawned.ended - spawned.began,
        peak_rss_mb=spawned.peak_rss_kib / 1024,
        exit_code=spawned.exit_code,
        report_chars=len(spawned.stdout),
        commits=_commits(spawned.stdout),
        github=github_counts(github),
        analysis_calls=analysis,
        overview_calls=overview,
        first_github_s=None if first_github is None else first_github - spawned.began,
        first_llm_s=None if first_llm is None else first_llm - spawned.began,
        tail_s=None if last_reply is None else spawned.ended - last_reply,
    )


def run_command(case: CommandCase, workdir: Path, options: Options) -> Run:
    home = workdir / "home"
    home.mkdir(exist_ok=True)
    spawned = spawn(case.argv, child_env(home), workdir, options.timeout)
    if spawned.exit_code != 0:
        raise RunFailed(f"{' '.join(case.argv)} exited {spawned.exit_code}:\n{spawned.stderr}")
    return Run(
        case=case.name,
        phase=case.phase,
        wall_s=spawned.ended - spawned.began,
        peak_rss_mb=spawned.peak_rss_kib / 1024,
        exit_code=spawned.exit_code,
        report_chars=len(spawned.stdout),
        commits=None,
        github=GitHubCounts(),
        analysis_calls=0,
        overview_calls=0,
        first_github_s=None,
        first_llm_s=None,
        tail_s=None,
    )


# -- the whole benchmark ----------------------------------------------------------------------


@contextmanager
def _fakes(options: Options) -> Iterator[Fakes]:
    with (
        TimedGitHub(latency=options.github_latency) as github,
        TimedOpenAI(latency=options.llm_latency, recorder=LLMRecorder()) as llm,
    ):
        yield Fakes(github, llm)


@contextmanager
def _no_latency(fakes: Fakes) -> Iterator[None]:
    saved = fakes.github.latency, fakes.llm.latency
    fakes.github.latency = fakes.llm.latency = 0.0
    try:
        yield
    finally:
        fakes.github.latency, fakes.llm.latency = saved


def run(options: Options) -> Results:
    """Every case, rounds interleaved: round r runs each case once (cold then warm)."""
    console = shutil.which("digestbot")
    found = scenarios(options)
    results = Results(options, cases(options, found, console), found, console_script=console)
    results.load_before = os.getloadavg()
    began = time.monotonic()
    digest_cases = [c for c in results.cases if isinstance(c, DigestCase)]
    commands = [c for c in results.cases if isinstance(c, CommandCase)]
    per_round = math.ceil(max(options.help_runs, options.repeats) / options.repeats)
    with _fakes(options) as fakes, tempfile.TemporaryDirectory(prefix="digestbot-whole-") as tmp:
        workdir = Path(tmp)
        for scenario in found.values():
            load(fakes.github, scenario)
        if options.warm_up:
            options.log("warm-up (unmeasured): byte-code and page cache")
            with _no_latency(fakes):
                run_digest(digest_cases[0], "warm-up", _fresh(workdir, "warm-up"), fakes, options)
        filled: dict[str, Path] = {}
        for round_ in range(options.repeats):
            for case in digest_cases:
                if case.cold_every_round or case.name not in filled:
                    where = _fresh(workdir, f"{len(results.runs)}")
                    options.log(f"round {round_ + 1}: {case.name}, cold")
                    results.runs.append(run_digest(case, "cold", where, fakes, options))
                    filled[case.name] = where
                options.log(f"round {round_ + 1}: {case.name}, warm")
                results.runs.append(run_digest(case, "warm", filled[case.name], fakes, options))
            for _ in range(per_round):
                for command in commands:
                    where = _fresh(workdir, f"{len(results.runs)}")
                    results.runs.append(run_command(command, where, options))
            options.log(f"round {round_ + 1} done, {time.monotonic() - began:.0f} s")
    results.seconds = time.monotonic() - began
    return results


def _fresh(workdir: Path, name: str) -> Path:
    path = workdir / name
    path.mkdir()
    return path


# -- the table ----------------------------------------------------------------------------------


def lower_bound(run: Run, concurrency: int, options: Options) -> float:
    """list pages × t_github, plus the first commit's detail and pull requests (GitHub), plus
    ceil(analysis calls / C) × t_llm, plus overview calls × t_llm: the overview is written from
    the analyses, so it follows the last one."""
    first_commit = (1 if run.github.details else 0) + (1 if run.github.pulls else 0)
    rounds = math.ceil(run.analysis_calls / concurrency)
    return (
        (run.github.list_pages + first_commit) * options.github_latency
        + rounds * options.llm_latency
        + run.overview_calls * options.llm_latency
    )


def _median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def _spread(values: Sequence[float], fmt: str) -> str:
    if not values:
        return "—"
    middle = fmt.format(statistics.median(values))
    if len(values) == 1:
        return middle
    return f"{middle} ({fmt.format(min(values))}–{fmt.format(max(values))})"


def _same(values: Sequence[int | None]) -> str:
    present = sorted({v for v in values if v is not None})
    if not present:
        return "—"
    return f"{present[0]:,}" if len(present) == 1 else f"{present[0]:,}–{present[-1]:,}"


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _github(runs: Sequence[Run]) -> str:
    counts = runs[0].github
    if counts.total == 0:
        return "0"
    differs = "" if len({r.github for r in runs}) == 1 else " (varies)"
    return counts.text() + differs


HEADER = (
    "| case | run | n | wall s: median (min–max) | peak RSS MB: median (min–max) | commits "
    "| GitHub requests | LLM calls (analysis + overview) | bound s | wall / bound "
    "| spawn → 1st GitHub s | spawn → 1st LLM s | last LLM reply → exit s |\n"
    "|---|---|---:|---:|---:|---:|---|---|---:|---:|---:|---:|---:|"
)


def rows(results: Results) -> list[tuple[str, str, list[Run], DigestCase | CommandCase]]:
    out = []
    for case in results.cases:
        phases = ("cold", "warm") if isinstance(case, DigestCase) else (case.phase,)
        for phase in phases:
            runs = results.of(case.name, phase)
            if runs:
                out.append((case.name, phase, runs, case))
    return out


def table(results: Results) -> str:
    options = results.options
    lines = [HEADER]
    for name, phase, runs, case in rows(results):
        walls = [r.wall_s for r in runs]
        llm = "—"
        bound = ratio = "—"
        if isinstance(case, DigestCase):
            analysis = _same([r.analysis_calls for r in runs])
            llm = f"{analysis} + {_same([r.overview_calls for r in runs])}"
            if case.llm and phase == "cold":
                bounds = [lower_bound(r, case.concurrency or 1, options) for r in runs]
                if max(bounds) > 0:
                    bound = f"{statistics.median(bounds):.2f}"
                    ratios = [w / b for w, b in zip(walls, bounds, strict=True)]
                    ratio = f"{statistics.median(ratios):.2f}"
        commits = github = "—"
        if isinstance(case, DigestCase):
            commits, github = _same([r.commits for r in runs]), _github(runs)
        lines.append(
            f"| {name} | {phase} | {len(runs)} | {_spread(walls, '{:.2f}')} "
            f"| {_spread([r.peak_rss_mb for r in runs], '{:.0f}')} | {commits} "
            f"| {github} | {llm} | {bound} | {ratio} "
            f"| {_seconds(_median([r.first_github_s for r in runs]))} "
            f"| {_seconds(_median([r.first_llm_s for r in runs]))} "
            f"| {_seconds(_median([r.tail_s for r in runs]))} |"
        )
    return "\n".join(lines)


def _scenario_note(results: Results) -> str:
    found = results.scenarios
    parts = []
    for key in ("small", "large", "big"):
        scenario = found.get(key)
        if scenario is None:
            continue
        bots = sum(1 for c in scenario.commits if c.author.endswith("[bot]"))
        parts.append(
            f"`{scenario.repo}`: {len(scenario.commits):,} commits ({bots} by bots, left out "
            f"by the default filters), {scenario.files:,} files, "
            f"{scenario.patch_bytes / 1e6:.1f} MB of patch"
        )
    return "; ".join(parts)


def settings_text(results: Results) -> str:
    o = results.options
    text = (
        f"{o.repeats} round(s), cases interleaved round-robin; GitHub latency "
        f"{o.github_latency:g} s/request, LLM latency {o.llm_latency:g} s/call, "
        f"LLM_CONCURRENCY {o.small_concurrency} unless the case says C, GITHUB_CONCURRENCY "
        f"default, triage default, seed {o.seed}"
    )
    if o.checkout is not None:
        text += f"; checkout {o.checkout}"
    return text


def section(results: Results) -> str:
    info = machine()
    load = ", ".join(f"{x:.2f}" for x in results.load_before)
    console = results.console_script or "not on PATH"
    return (
        f"## {SECTION}\n\n"
        f"Written by `{results.options.command}`; re-run and compare.\n\n"
        f"- date: {results.started:%Y-%m-%d %H:%M} UTC (whole run {results.seconds:.0f} s)\n"
        f"- machine: {info['cores']} cores, {info['memory']} memory, {info['cpu']}, "
        f"{info['os']}, Python {info['python']}; load average before the run {load}\n"
        f"- settings: {settings_text(results)}\n"
        f"- repositories: {_scenario_note(results)}\n"
        f"- console script: `{console}`\n\n"
        f"{table(results)}\n\n"
        "**These figures are whole-process**: each run is `python -m digestbot digest … "
        "--format markdown` (or the command named) spawned as its own OS process with a fresh "
        "`HOME`; wall time runs from just before `Popen` to after `wait4`, so it includes "
        "interpreter start-up, every import, building the store and clients, the work, "
        "rendering and interpreter shut-down. Peak RSS is `ru_maxrss` from `wait4` (the "
        "child's own high-water mark, or a reaped `git` child's if that were larger); the "
        "child is started by a small launcher (`python -I -S`, about 13 MB) because Linux "
        "starts a child's `ru_maxrss` at its parent's RSS, and the benchmark process (fakes "
        "and synthetic repositories) holds 100–300 MB. The "
        "fakes run in the benchmark's process, so their CPU competes with the child's on "
        "this machine. **Every other table in this README is in-process**: timed inside the "
        "child around the work, with imports excluded (`benchmarks/measure.py`); the "
        "`imports of a digest` baseline row is what those tables leave out.\n\n"
        "Cold: a fresh SQLite file; warm: the same file right after. The lower bound of a cold "
        "LLM run is (GitHub list pages + the first commit's detail and pull request) × t_github"
        " + ceil(analysis calls / C) × t_llm + overview calls × t_llm (calls counted at the "
        "fake; the overview is the call with the `day_overview` schema, and it follows the last"
        " analysis because it is written from them). `spawn → 1st GitHub` and `spawn → 1st LLM`"
        " are measured from just before `Popen` to the request arriving at the fake; `last LLM "
        "reply → exit` from the fake sending the last reply to `wait4` returning. The heuristic"
        " cases run without `OPENAI_*` (the heuristic analyzer); the cold run fills the cache "
        "once, warm runs follow in every round.\n"
    )


# -- command line -------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.whole_process", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("--repeats", type=int, default=3, help="rounds (medians over them)")
    parser.add_argument("--checkout", type=Path, help="a local git checkout for the real-day case")
    parser.add_argument("--day", help="YYYY-MM-DD: the real day (with --checkout)")
    parser.add_argument("--tz", default="UTC", help="time zone of --day (with --checkout)")
    parser.add_argument(
        "--big-checkout-window",
        help="window of the big local-git heuristic run (default: Jan 1 of --day's year..--day; "
        "'off' skips it)",
    )
    parser.add_argument("--small", type=int, default=14, help="commits on the small day")
    parser.add_argument("--large", type=int, default=200, help="commits on the large day")
    parser.add_argument(
        "--concurrency",
        type=lambda s: tuple(int(x) for x in s.split(",")),
        default=(8, 32),
        help="LLM_CONCURRENCY values of the large day, comma-separated (default 8,32)",
    )
    parser.add_argument("--big", type=int, default=1457, help="commits in the big window")
    parser.add_argument("--big-days", type=int, default=7, help="days the big window spans")
    parser.add_argument("--help-runs", type=int, default=5, help="runs of each --help command")
    parser.add_argument("--github-latency", type=float, default=0.1, metavar="S")
    parser.add_argument("--llm-latency", type=float, default=1.0, metavar="S")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--no-warm-up", action="store_true", help="skip the unmeasured first run (smoke tests)"
    )
    parser.add_argument(
        "--write", action="store_true", help="write the benchmarks/README.md section"
    )
    return parser


def options_from(argv: Sequence[str], *, quiet: bool = False) -> Options:
    parser = _parser()
    args = parser.parse_args(list(argv))
    if args.checkout is not None and args.day is None:
        parser.error("--checkout needs --day (and --tz)")
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    checkout = args.checkout.resolve() if args.checkout is not None else None
    window = args.big_checkout_window
    if window is None and args.day is not None:
        window = f"{date.fromisoformat(args.day).year}-01-01..{args.day}"
    if window == "off":
        window = None
    return Options(
        repeats=args.repeats,
        small=args.small,
        large=args.large,
        concurrencies=args.concurrency,
        big=args.big,
        big_days=args.big_days,
        help_runs=args.help_runs,
        github_latency=args.github_latency,
        llm_latency=args.llm_latency,
        seed=args.seed,
        checkout=checkout,
        day=args.day,
        tz=args.tz,
        big_checkout_window=window if checkout is not None else None,
        write=bool(args.write),
        warm_up=not args.no_warm_up,
        command=" ".join(["python -m benchmarks.whole_process", *argv]),
        log=(lambda m: None) if quiet else (lambda m: print(f"… {m}", file=sys.stderr, flush=True)),
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    options = options_from(argv)
    try:
        results = run(options)
    except RunFailed as exc:
        print(f"whole_process: {exc}", file=sys.stderr)
        return 1
    info = machine()
    print(
        f"machine: {info['cores']} cores, {info['memory']}, {info['cpu']}, Python {info['python']}"
        f"; load average before the run {', '.join(f'{x:.2f}' for x in results.load_before)}"
        f", after {', '.join(f'{x:.2f}' for x in os.getloadavg())}; whole run "
        f"{results.seconds:.0f} s"
    )
    print(f"settings: {settings_text(results)}")
    print(f"repositories: {_scenario_note(results)}")
    print(f"console script: {results.console_script or 'not on PATH'}\n")
    print(table(results))
    if options.write:
        print(f"wrote {write_section(SECTION, section(results), README)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
