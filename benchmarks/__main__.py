"""`python -m benchmarks`: digest speed, cost and memory, side by side with the naive way.

Starts the fake GitHub and OpenAI-compatible servers with injected latency, loads synthetic
busy-day repositories, and runs (each in its own child process): our cold digest, the warm
re-run and the naive script for each size; the 3,000-file commit alone; the cold run again
with triage off (for the token share); rendering a 2,000-commit digest to every format; the
Slack ack benchmark. Prints the tables; `--write` also writes benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.fake_model import LLMCall, LLMRecorder
from benchmarks.measure import ChildFailed, GitHubCounts, github_counts, run_child
from benchmarks.report import (
    Results,
    Row,
    bound_target,
    budget_target,
    render_terminal,
    rss_target,
    slack_target,
    speedup_target,
    triage_target,
    warm_target,
    write_readme,
)
from benchmarks.scenarios import FULL_HUGE, HugeShape, Scenario, load, standard_scenarios
from tests.fakes.github_server import FakeGitHub
from tests.fakes.openai_server import FakeOpenAI

DEFAULT_SIZES = (50, 200)
QUICK_SIZES = (6, 20)
QUICK_HUGE: HugeShape = (300, 200_000)


@dataclass
class Options:
    sizes: tuple[int, ...] = DEFAULT_SIZES
    github_latency: float = 0.1
    llm_latency: float = 1.0
    concurrency: int = 8  # LLM_CONCURRENCY: the C of the lower bound
    github_concurrency: int = 8
    seed: int = 7
    huge: HugeShape = FULL_HUGE
    render_commits: int = 2000
    slack_commands: int = 200
    slack_commits: int = 40
    naive: bool = True
    slack: bool = True
    command: str = "python -m benchmarks"
    log: Callable[[str], None] = field(default=lambda message: None)


@dataclass
class _Fakes:
    github: FakeGitHub
    llm: FakeOpenAI
    recorder: LLMRecorder
    workdir: Path


@dataclass(frozen=True)
class _Run:
    figures: dict[str, Any]
    github: GitHubCounts
    calls: list[LLMCall]

    @property
    def input_tokens(self) -> int:
        return sum(c.prompt_tokens for c in self.calls)

    @property
    def output_tokens(self) -> int:
        return sum(c.completion_tokens for c in self.calls)


def _measure(fakes: _Fakes, job: dict[str, Any]) -> _Run:
    fakes.github.reset_requests()
    fakes.recorder.reset()
    job = {"github_url": fakes.github.url, "openai_url": fakes.llm.base_url, **job}
    figures = run_child(job)
    return _Run(figures, github_counts(fakes.github), fakes.recorder.snapshot())


def _digest_job(
    scenario: Scenario, data_dir: Path, options: Options, **extra: Any
) -> dict[str, Any]:
    data_dir.mkdir(parents=True, exist_ok=True)
    return {
        "kind": "digest",
        "repo": scenario.repo,
        "start": scenario.window.start.isoformat(),
        "end": scenario.window.end.isoformat(),
        "data_dir": str(data_dir),
        "concurrency": options.concurrency,
        "github_concurrency": options.github_concurrency,
        **extra,
    }


def lower_bound(list_pages: int, llm_calls: int, options: Options) -> float:
    """list pages × t_list + one detail (detail + pulls) + ceil(N_llm / C) × t_llm."""
    rounds = math.ceil(llm_calls / options.concurrency)
    return (list_pages + 2) * options.github_latency + rounds * options.llm_latency


def _row(name: str, run: _Run, note: str = "") -> Row:
    return Row(
        scenario=name,
        wall_s=run.figures["seconds"],
        github=run.github,
        llm_calls=len(run.calls),
        input_tokens=run.input_tokens,
        output_tokens=run.output_tokens,
        peak_rss_mb=run.figures["peak_rss_mb"],
        note=note,
    )


def _max_commit_input(runs: Sequence[_Run]) -> int:
    return max(
        (c.prompt_tokens for r in runs for c in r.calls if c.kind in ("analysis", "short")),
        default=0,
    )


def run_all(options: Options) -> Results:
    began = time.perf_counter()
    results = Results(
        command=options.command,
        settings={
            "GitHub latency": f"{options.github_latency:g} s/request",
            "LLM latency": f"{options.llm_latency:g} s/call",
            "LLM concurrency": str(options.concurrency),
            "GitHub concurrency": str(options.github_concurrency),
            "seed": str(options.seed),
        },
    )
    recorder = LLMRecorder()
    with (
        FakeGitHub(latency=options.github_latency) as github,
        FakeOpenAI(
            latency=options.llm_latency, default=recorder, token_counter=recorder.counter.count
        ) as llm,
        tempfile.TemporaryDirectory(prefix="digestbot-bench-") as tmp,
    ):
        fakes = _Fakes(github, llm, recorder, Path(tmp))
        scenarios = standard_scenarios(options.sizes, seed=options.seed, huge=options.huge)
        for scenario in scenarios.values():
            load(github, scenario)
        _digests(fakes, scenarios, options, results)
        _render(options, results)
        _slack(options, results)
    results.seconds = time.perf_counter() - began
    return results


def _digests(
    fakes: _Fakes, scenarios: dict[str, Scenario], options: Options, results: Results
) -> None:
    ours: list[_Run] = []
    largest = max(options.sizes)
    largest_cold: _Run | None = None
    for size in options.sizes:
        scenario = scenarios[f"cold{size}"]
        data_dir = fakes.workdir / f"ours-{size}"
        options.log(f"cold digest, {size} commits")
        cold = _measure(fakes, _digest_job(scenario, data_dir, options))
        ours.append(cold)
        if size == largest:
            largest_cold = cold
        huge_note = f" incl. the {options.huge[0]:,}-file commit" if size == largest else ""
        results.rows.append(
            _row(
                f"cold digest, {size} commits",
                cold,
                f"{scenario.files:,} files, {scenario.patch_bytes / 1e6:.1f} MB patch{huge_note}; "
                f"{cold.figures['excluded']} bot commits left out, "
                f"{cold.figures['triaged']} triaged",
            )
        )
        options.log(f"warm re-run, {size} commits")
        warm = _measure(fakes, _digest_job(scenario, data_dir, options))
        results.rows.append(_row(f"warm re-run, {size} commits", warm))
        bound = lower_bound(cold.github.list_pages, len(cold.calls), options)
        ratio = cold.figures["seconds"] / bound if bound > 0 else None
        results.rows.append(
            Row(
                scenario=f"lower bound, {size} commits",
                wall_s=bound,
                note=(f"measured / bound = {ratio:.2f}" if ratio is not None else "zero latency")
                + f" ({cold.github.list_pages} list pages, {len(cold.calls)} LLM calls, "
                f"C = {options.concurrency})",
            )
        )
        if options.naive:
            options.log(f"naive baseline, {size} commits (sequential: the slow one)")
            naive_job = {
                "kind": "naive",
                "repo": scenario.repo,
                "start": scenario.window.start.isoformat(),
                "end": scenario.window.end.isoformat(),
            }
            naive = _measure(fakes, naive_job)
            speedup = naive.figures["seconds"] / max(cold.figures["seconds"], 1e-9)
            results.rows.append(
                _row(
                    f"naive baseline, {size} commits",
                    naive,
                    f"naive / ours: wall {speedup:.1f}×, input tokens "
                    f"{naive.input_tokens / max(cold.input_tokens, 1):.1f}×",
                )
            )
            if size == largest:
                results.targets.append(speedup_target(size, speedup))
                results.notes.append(
                    f"{size} commits: the naive script analyses all {naive.figures['items']} "
                    f"(bots included); digestbot analyses {cold.figures['items']} "
                    f"({cold.figures['excluded']} bot commits left out by its default "
                    "filters), so part of the LLM-call difference is the filter, the rest "
                    "of the wall-time ratio is concurrency."
                )
        if size == largest:
            results.targets.append(
                warm_target(size, len(warm.calls), warm.github, warm.figures["seconds"])
            )
        results.targets.append(bound_target(size, ratio, options.concurrency))
        if size == largest:
            results.targets.append(
                rss_target(
                    cold.figures["items"] + cold.figures["excluded"],
                    cold.figures["peak_rss_mb"],
                    cold.figures["base_rss_mb"],
                    options.huge[0],
                )
            )

    options.log("the 3,000-file commit alone")
    huge = _measure(fakes, _digest_job(scenarios["huge"], fakes.workdir / "huge", options))
    ours.append(huge)
    files, size_mb = scenarios["huge"].files, scenarios["huge"].patch_bytes / 1e6
    results.rows.append(
        _row(
            f"one {files:,}-file commit",
            huge,
            f"{size_mb:.1f} MB patch; max input per commit "
            f"{_max_commit_input([huge]):,} tokens (deep budget {huge.figures['deep_budget']:,})",
        )
    )
    results.targets.append(budget_target(int(huge.figures["deep_budget"]), _max_commit_input(ours)))
    assert largest_cold is not None
    _triage(fakes, scenarios[f"cold{largest}"], options, results, largest_cold)


def _triage(
    fakes: _Fakes, scenario: Scenario, options: Options, results: Results, default: _Run
) -> None:
    options.log("triage off (zero latency; tokens only)")
    saved = (fakes.github.latency, fakes.llm.latency)
    fakes.github.latency = fakes.llm.latency = 0.0
    try:
        job = _digest_job(scenario, fakes.workdir / "triage-off", options, triage="off")
        off = _measure(fakes, job)
    finally:
        fakes.github.latency, fakes.llm.latency = saved
    size = len(scenario.commits)
    results.rows.append(
        _row(
            f"cold digest, {size} commits, triage off",
            off,
            "zero latency (tokens only): wall time not comparable",
        )
    )
    results.targets.append(
        triage_target(
            (default.input_tokens, default.output_tokens),
            (off.input_tokens, off.output_tokens),
            default.figures["triaged"],
            default.figures["items"],
        )
    )


def _render(options: Options, results: Results) -> None:
    options.log(f"rendering {options.render_commits} commits")
    figures = run_child({"kind": "render", "commits": options.render_commits, "seed": options.seed})
    for fmt, f in figures["formats"].items():
        results.rows.append(
            Row(
                scenario=f"render {figures['items']:,} commits: {fmt}",
                wall_s=f["seconds"],
                peak_rss_mb=figures["peak_rss_mb"],
                note=f"{int(f['messages'])} message(s), {f['bytes'] / 1e3:,.0f} kB",
            )
        )


def _slack(options: Options, results: Results) -> None:
    name = f"Slack ack, {options.slack_commands} slash commands"
    if not options.slack:
        results.rows.append(Row(scenario=name, note="not measured: --no-slack"))
        results.targets.append(slack_target(None, "not measured (--no-slack)"))
        return
    options.log(f"Slack ack, {options.slack_commands} commands")
    job = {
        "kind": "slack_ack",
        "commands": options.slack_commands,
        "channels": 50,
        "interval": 0.01,
        "commits": options.slack_commits,
    }
    try:
        f = run_child(job)
    except ChildFailed as exc:
        reason = str(exc).splitlines()[-1][:120]
        results.rows.append(Row(scenario=name, note=f"not measured: {reason}"))
        results.targets.append(slack_target(None, f"not measured: {reason}"))
        return
    results.rows.append(
        Row(
            scenario=name,
            wall_s=f["seconds"],
            peak_rss_mb=f["peak_rss_mb"],
            note=(
                f"ack p50 {f['p50_ms']:.1f} ms, p99 {f['p99_ms']:.1f} ms, "
                f"max {f['max_ms']:.1f} ms; "
                f"{f['digests_posted']} digests posted, {f['acks_while_building']} acks with "
                "digests in flight"
            ),
        )
    )
    results.targets.append(slack_target(f["p99_ms"]))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description=(__doc__ or "").splitlines()[0]
    )
    parser.add_argument("--write", action="store_true", help="write benchmarks/README.md")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (for a smoke run)")
    parser.add_argument("--github-latency", type=float, default=0.1, metavar="S")
    parser.add_argument("--llm-latency", type=float, default=1.0, metavar="S")
    parser.add_argument("--concurrency", type=int, default=8, help="LLM_CONCURRENCY (C)")
    parser.add_argument("--github-concurrency", type=int, default=8)
    parser.add_argument(
        "--sizes",
        type=lambda s: tuple(int(x) for x in s.split(",")),
        help="commits per cold day, comma-separated (default 50,200)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-naive", action="store_true", help="skip the naive baseline")
    parser.add_argument("--no-slack", action="store_true", help="skip the Slack ack benchmark")
    return parser


def options_from(argv: Sequence[str]) -> Options:
    args = _parser().parse_args(argv)
    quick = bool(args.quick)
    return Options(
        sizes=args.sizes or (QUICK_SIZES if quick else DEFAULT_SIZES),
        github_latency=args.github_latency,
        llm_latency=args.llm_latency,
        concurrency=args.concurrency,
        github_concurrency=args.github_concurrency,
        seed=args.seed,
        huge=QUICK_HUGE if quick else FULL_HUGE,
        render_commits=100 if quick else 2000,
        slack_commands=6 if quick else 200,
        slack_commits=2 if quick else 40,
        naive=not args.no_naive,
        slack=not args.no_slack,
        command=" ".join(["python -m benchmarks", *argv]),
        log=lambda message: print(f"… {message}", file=sys.stderr, flush=True),
    )


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    options = options_from(argv)
    results = run_all(options)
    print(render_terminal(results))
    if "--write" in argv:
        print(f"wrote {write_readme(results)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
