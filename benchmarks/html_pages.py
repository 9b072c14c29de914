"""`python -m benchmarks.html_pages`: the digests' web pages — size and render time of the
report for a 14-commit and a 200-commit day (model-like analyses), and of the week's chart."""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence
from datetime import timedelta

from benchmarks.fake_model import synthetic_digest
from benchmarks.report import README, write_section
from bot.models import Digest, Window
from formatters.html_report import render_html_report
from formatters.week_chart import render_week_chart, week_summary

SECTION = "Web pages and the week's chart"


def _median_ms(work: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def _week(digest: Digest) -> Digest:
    start = digest.window.start
    return digest.model_copy(
        update={"window": Window(start=start, end=start + timedelta(days=7), tz="UTC", label="w")}
    )


def table(runs: int) -> str:
    lines = [
        f"| what | size | render (median of {runs}) |",
        "|---|---:|---:|",
    ]
    for count in (14, 200):
        digest = synthetic_digest(count, seed=3)
        page = render_html_report(digest)
        ms = _median_ms(lambda digest=digest: render_html_report(digest), runs)
        lines.append(f"| report page, {count} commits | {len(page.encode()):,} B | {ms:.1f} ms |")
    week = _week(synthetic_digest(200, seed=5))
    summary = week_summary(week)
    render_week_chart(summary, fmt="png")  # the first render loads matplotlib and its fonts
    for fmt in ("png", "svg"):
        image = render_week_chart(summary, fmt=fmt)  # type: ignore[arg-type]
        ms = _median_ms(lambda fmt=fmt: render_week_chart(summary, fmt=fmt), runs)  # type: ignore[arg-type]
        lines.append(
            f"| week chart {fmt.upper()} ({image.width}×{image.height}), 200 commits "
            f"| {len(image.data):,} B | {ms:.0f} ms |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--write", action="store_true", help="update benchmarks/README.md")
    args = parser.parse_args(argv)
    text = table(args.runs)
    print(text)
    if args.write:
        body = f"## {SECTION}\n\n`python -m benchmarks.html_pages --write`\n\n{text}\n"
        print(f"wrote {write_section(SECTION, body, README)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
