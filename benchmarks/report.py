"""The benchmark's results as tables, on the terminal and in benchmarks/README.md."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.measure import GitHubCounts

README = Path(__file__).resolve().parent / "README.md"


@dataclass(frozen=True)
class Row:
    """One line of the results table; None means "not applicable" (shown as —)."""

    scenario: str
    wall_s: float | None = None
    github: GitHubCounts | None = None
    llm_calls: int | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    peak_rss_mb: float | None = None
    note: str = ""


@dataclass(frozen=True)
class Target:
    name: str
    goal: str
    measured: str
    met: bool | None  # None: not measured


@dataclass
class Results:
    command: str
    settings: dict[str, str]
    rows: list[Row] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    seconds: float = 0.0

    def row(self, scenario: str) -> Row:
        for row in self.rows:
            if row.scenario == scenario:
                return row
        raise KeyError(scenario)


def machine() -> dict[str, str]:
    """Cores, memory, CPU model and Python: what a reader needs to compare figures."""
    cpu = platform.processor() or platform.machine()
    memory = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                break
    except OSError:
        pass
    return {
        "cores": str(os.cpu_count() or "?"),
        "memory": memory,
        "cpu": cpu,
        "python": platform.python_version(),
        "os": f"{platform.system()} {platform.release()}",
    }


def _num(value: float | None, fmt: str = "{:,.0f}") -> str:
    return "—" if value is None else fmt.format(value)


def _requests(counts: GitHubCounts | None) -> str:
    return "—" if counts is None else counts.text()


# -- targets (from the benchmarks issue) ------------------------------------------------------


def speedup_target(size: int, speedup: float) -> Target:
    return Target(f"naive / ours wall time, {size} commits", "≥ 5", f"{speedup:.1f}", speedup >= 5)


def warm_target(size: int, llm_calls: int, github: GitHubCounts, seconds: float) -> Target:
    return Target(
        f"warm re-run, {size} commits",
        "0 LLM calls, only list requests, < 1 s",
        f"{llm_calls} LLM calls, {github.total} requests ({github.list_pages} list), "
        f"{seconds:.2f} s",
        llm_calls == 0 and github.only_list and seconds < 1.0,
    )


def bound_target(size: int, ratio: float | None, concurrency: int) -> Target:
    return Target(
        f"cold digest vs lower bound, {size} commits",
        f"≤ 1.25 × bound (C = {concurrency})",
        f"{ratio:.2f} ×" if ratio is not None else "zero latency: no bound",
        None if ratio is None else ratio <= 1.25,
    )


def rss_target(commits: int, peak_mb: float, base_mb: float, huge_files: int) -> Target:
    return Target(
        f"peak RSS, {commits}-commit run",
        f"< 250 MB (incl. the {huge_files:,}-file commit)",
        f"{peak_mb:.0f} MB (after imports: {base_mb:.0f} MB)",
        peak_mb < 250,
    )


def budget_target(budget: int, worst: int) -> Target:
    return Target(
        "per-call input",
        f"≤ the deep-read budget ({budget:,} tokens)",
        f"max {worst:,} tokens over every analysis call of our runs",
        worst <= budget,
    )


def triage_target(
    default: tuple[int, int], off: tuple[int, int], triaged: int, analysed: int
) -> Target:
    """`default` and `off`: (input, output) tokens with the default triage and without."""
    in_share = 1 - default[0] / max(off[0], 1)
    all_share = 1 - sum(default) / max(sum(off), 1)
    return Target(
        "triage saves a stated share",
        "a share, stated",
        f"{in_share:.0%} of input tokens, {all_share:.0%} of all tokens "
        f"({triaged} of {analysed} analysed commits triaged)",
        None if off[0] == 0 else in_share > 0,
    )


def slack_target(p99_ms: float | None, reason: str = "") -> Target:
    goal = "p99 < 300 ms while digests are being built"
    if p99_ms is None:
        return Target("Slack ack", goal, reason, None)
    return Target("Slack ack", goal, f"p99 {p99_ms:.1f} ms", p99_ms < 300)


# -- tables -------------------------------------------------------------------------------------

HEADER = (
    "| scenario | wall s | GitHub requests | LLM calls | input tok | output tok | peak RSS MB "
    "| notes |\n|---|---:|---|---:|---:|---:|---:|---|"
)


def rows_table(rows: list[Row]) -> str:
    lines = [HEADER]
    for r in rows:
        lines.append(
            f"| {r.scenario} | {_num(r.wall_s, '{:,.2f}')} | {_requests(r.github)} "
            f"| {_num(r.llm_calls)} | {_num(r.input_tokens)} | {_num(r.output_tokens)} "
            f"| {_num(r.peak_rss_mb, '{:,.0f}')} | {r.note} |"
        )
    return "\n".join(lines)


def targets_table(targets: list[Target]) -> str:
    lines = ["| target | goal | measured | met |", "|---|---|---|---|"]
    for t in targets:
        met = "not measured" if t.met is None else ("yes" if t.met else "**no**")
        lines.append(f"| {t.name} | {t.goal} | {t.measured} | {met} |")
    return "\n".join(lines)


_METHOD = """\
## What is measured, and how

- **Fakes.** The fake GitHub REST API (`tests/fakes/github_server.py`) and the fake
  OpenAI-compatible endpoint (`tests/fakes/openai_server.py`) run in the benchmark's own
  process on 127.0.0.1, with a fixed latency per request (GitHub) and per completion (LLM).
  Both sides use the real SDKs (PyGithub, `openai`). Every measured run happens in a fresh
  child process, so runs share no cache, pool or heap, and the child's peak RSS (`VmHWM`) is
  digestbot's (or the naive script's) alone; the fakes' repositories are not counted. Wall
  time is taken in the child from building the client/core to the rendered Markdown digest
  (interpreter start-up and imports excluded; they are the same for both).
- **Repositories** (`benchmarks/scenarios.py`, deterministic from `--seed`): a busy
  ML-systems day — features and fixes on 1–20 source files, tests, docs, CI, version and
  dependency bumps by bots (left out by digestbot's default filters, kept by the naive
  script), a few refactors of 100–320 files, and in the 200-commit day one commit of
  3,000 files with ~5 MB of patch. The fake model answers schema-valid analyses (about 15 %
  high, 40 % medium, 45 % low); tokens are counted with digestbot's own counter, the units
  its input budget is enforced in.
- **Ours** is `build_core(Settings(...))` + `DigestService.build_digest` + `render_markdown`
  with the default settings (LLM concurrency and GitHub concurrency 8, input budget 5,000
  tokens per standard read and 16,000 per deep read, triage `short`, default filters), a
  fresh SQLite file per scenario.
- **Warm** re-runs the same window on the same database: commits, analyses and the day
  overview come from the cache.
- **Naive** (`benchmarks/naive.py`) is what a simple digest script does: PyGithub, one commit
  after the other (list, then the commit's files: one call chain per commit), the whole diff
  and the message in one chat completion per commit through the `openai` client, cut only to
  the model's context (128k tokens), no cache, no triage, no filters. In its favour:
  PyGithub's default 0.25 s pause between requests is off and it makes no overview call.
- **Lower bound** for a cold run at LLM concurrency C: list pages × t_github + one commit
  detail (the detail and its pull-request lookup: 2 × t_github) + ceil(N_llm / C) × t_llm,
  where N_llm counts every LLM call of the run (the day overview included; since the
  overview can only start after the last analysis, this is never above the true bound).
- **Triage** share: the largest cold day is run again with `LLM_TRIAGE=off` (zero latency:
  only its tokens are used) and compared with the default run.
- **Where a cold run's time goes** (200 commits): about 0.5 s from start to the first LLM
  request (store, list pages, the first commit's detail and pull-request lookup), then the
  LLM rounds (8 calls at a time, ~1.05 s per round against 1.0 s of latency), then the day
  overview, which needs every analysis and so cannot overlap them. Detail fetches overlap
  the LLM calls: `DigestService` starts each commit's analysis as soon as its details
  arrive. Before that change (fetch everything, then analyse) the same runs took 1.50× (50
  commits) and 1.43× (200) of the bound.
- **What the analysis sees and says** on real histories is audited apart, in
  [AUDITS.md](AUDITS.md) (`benchmarks.analysis_audit`, `benchmarks.heuristic_audit`).
- **Slack ack**: `benchmarks/slack_ack.py` — signed `/digest` slash commands through the real
  bolt app while earlier commands' digests are being built (local git source, fake Slack Web
  API); latency from handing the request to bolt until the ack response.
"""


def render_readme(results: Results) -> str:
    info = machine()
    settings = ", ".join(f"{k} {v}" for k, v in results.settings.items())
    notes = "\n".join(f"- {n}" for n in results.notes)
    return (
        "# digestbot benchmarks\n\n"
        "Generated by the benchmark itself; re-run and compare:\n\n"
        f"```\n{results.command}\n```\n\n"
        f"- date: {results.started:%Y-%m-%d %H:%M} UTC (whole run {results.seconds:.0f} s)\n"
        f"- machine: {info['cores']} cores, {info['memory']} memory, {info['cpu']}, "
        f"{info['os']}, Python {info['python']}\n"
        f"- settings: {settings}\n\n"
        "## Results\n\n"
        f"{rows_table(results.rows)}\n\n"
        "## Targets\n\n"
        f"{targets_table(results.targets)}\n\n"
        + (f"## Notes\n\n{notes}\n\n" if notes else "")
        + _METHOD
    )


def render_terminal(results: Results) -> str:
    return (
        f"{rows_table(results.rows)}\n\n{targets_table(results.targets)}\n"
        + "".join(f"\n- {n}" for n in results.notes)
        + "\n"
    )


# Sections other benchmark modules write into the README sit below this line; regenerating the
# main tables keeps them.
OTHER_SECTIONS = (
    "<!-- sections of other benchmark modules; `python -m benchmarks --write` keeps them -->"
)


def _other_sections(path: Path) -> str:
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    index = text.find(OTHER_SECTIONS)
    return text[index:] if index >= 0 else ""


def write_readme(results: Results, path: Path = README) -> Path:
    tail = _other_sections(path)
    path.write_text(render_readme(results) + ("\n" + tail if tail else ""), encoding="utf-8")
    return path


def write_section(title: str, body: str, path: Path = README) -> Path:
    """Put `body` (which starts with `## {title}`) below the other-sections marker, replacing the
    section of that title if there is one."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if OTHER_SECTIONS not in text:
        text = text.rstrip("\n") + "\n\n" + OTHER_SECTIONS + "\n"
    head, _, tail = text.partition(OTHER_SECTIONS)
    sections = [s for s in tail.split("\n## ") if s.strip()]
    kept = [s for s in sections if not s.lstrip("# ").startswith(title)]
    parts = ["## " + s.lstrip("# ").rstrip("\n") for s in kept]
    parts.append(body.rstrip("\n"))
    path.write_text(head + OTHER_SECTIONS + "\n\n" + "\n\n".join(parts) + "\n", encoding="utf-8")
    return path
