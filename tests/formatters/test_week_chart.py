"""The week chart: the summary's sums and days, the PNG's size, the SVG's safety, zh labels."""

from __future__ import annotations

import re
import struct
import xml.etree.ElementTree as ET
from collections import Counter
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings

from bot.models import (
    AnalysisProvenance,
    ChangeType,
    CommitAnalysis,
    CommitSummary,
    Digest,
    DigestItem,
    DigestProvenance,
    DigestStats,
    Importance,
    Window,
)
from formatters.week_chart import (
    AREAS_SHOWN,
    CHART_EN,
    CHART_ZH,
    HEIGHT_PX,
    HIGH_SHOWN,
    WIDTH_PX,
    ChartImage,
    WeekSummary,
    chart_text,
    render_week_chart,
    week_summary,
)
from tests.data.reference_day import big_digest, empty_digest, reference_digest
from tests.formatters.digest_strategies import digests

HOSTILE = (
    "</text><script>alert(1)</script>",
    "$\\frac{1}{0}$",
    '<a href="http://evil">x</a>',
    '"><svg onload=alert(1)>',
    "]]><!ENTITY x SYSTEM 'http://evil'>",
    "\x00\x07\x1b[31m\ufffe\ud800 control",
)


def _stats_of(digest: Digest) -> Digest:
    """`digest` with its stats counted from its items (as bot.service builds them): the test
    strategies and `big_digest` leave them at the defaults / the reference day's."""
    counts = Counter(item.analysis.importance for item in digest.items)
    stats = DigestStats(
        total=len(digest.items),
        high=counts[Importance.HIGH],
        medium=counts[Importance.MEDIUM],
        low=counts[Importance.LOW],
    )
    return digest.model_copy(update={"stats": stats})


def _assert_sums(summary: WeekSummary, digest: Digest) -> None:
    assert summary.total == digest.stats.total
    assert summary.high == digest.stats.high
    assert summary.medium == digest.stats.medium
    assert summary.low == digest.stats.low
    assert len(summary.high_commits) + summary.high_more == digest.stats.high


def _item(
    sha: str,
    when: datetime,
    importance: Importance = Importance.LOW,
    *,
    title: str = "a commit",
    areas: tuple[str, ...] = (),
) -> DigestItem:
    return DigestItem(
        commit=CommitSummary(
            repo="o/r",
            sha=sha,
            title=title,
            author="a",
            committed_at=when,
            url=f"https://github.com/o/r/commit/{sha}",
        ),
        analysis=CommitAnalysis(
            sha=sha,
            change_type=ChangeType.FIX,
            importance=importance,
            summary="s",
            provenance=AnalysisProvenance(analyzer="heuristic"),
        ),
        areas=areas,
    )


def _week(
    items: list[DigestItem], start: datetime, *, days: int = 7, language: str = "en"
) -> Digest:
    tz = start.tzinfo
    assert isinstance(tz, ZoneInfo)
    return _stats_of(
        Digest(
            repo="o/r",
            window=Window(start=start, end=start + timedelta(days=days), tz=tz.key, label="7d"),
            language="zh" if language == "zh" else "en",
            items=tuple(items),
            provenance=DigestProvenance(generated_at=start),
        )
    )


SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2026, 2, 2, tzinfo=SHANGHAI)


def _hostile_week() -> Digest:
    items = [
        _item(
            f"{index:07x}" + "0" * 33,
            MONDAY + timedelta(hours=index),
            Importance.HIGH,
            title=title,
            areas=(title, f"{title}/x"),
        )
        for index, title in enumerate(HOSTILE)
    ]
    return _week(items, MONDAY)


# --- the summary -----------------------------------------------------------------------------


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(digests(max_commits=400))
def test_sums_equal_the_stats_for_any_digest(digest: Digest) -> None:
    digest = _stats_of(digest)
    summary = week_summary(digest)
    _assert_sums(summary, digest)
    assert len(summary.days) == (digest.window.end - digest.window.start).days
    assert len(summary.high_commits) <= HIGH_SHOWN


@pytest.mark.parametrize("language", ["zh", "en"])
def test_reference_day_sums(language: str) -> None:
    digest = reference_digest(language)  # type: ignore[arg-type]
    summary = week_summary(digest)
    _assert_sums(summary, digest)
    assert [day.day.isoformat() for day in summary.days] == ["2026-02-08"]
    assert [commit.short_sha for commit in summary.high_commits] == [
        item.commit.short_sha for item in digest.by_importance(Importance.HIGH)
    ]


def test_big_digest_sums() -> None:
    digest = _stats_of(big_digest(400))
    summary = week_summary(digest)
    _assert_sums(summary, digest)
    assert len(summary.high_commits) == HIGH_SHOWN
    assert summary.high_more == digest.stats.high - HIGH_SHOWN


def test_every_day_of_the_window_even_empty() -> None:
    items = [
        _item("a" * 40, MONDAY + timedelta(hours=3), Importance.HIGH),
        _item("b" * 40, MONDAY + timedelta(days=4, hours=23, minutes=59)),
        # 2026-02-05 23:30 UTC is Friday 07:30 in Shanghai, not Thursday.
        _item("c" * 40, datetime(2026, 2, 5, 23, 30, tzinfo=ZoneInfo("UTC")), Importance.MEDIUM),
    ]
    summary = week_summary(_week(items, MONDAY))
    assert [day.day.isoformat() for day in summary.days] == [
        f"2026-02-0{day}" for day in range(2, 9)
    ]
    assert [day.total for day in summary.days] == [1, 0, 0, 0, 2, 0, 0]
    assert summary.days[4].medium == 1
    assert summary.days[4].low == 1
    assert week_summary(empty_digest()).total == 0
    assert len(week_summary(empty_digest()).days) == 1


def test_a_window_across_a_dst_change() -> None:
    """America/New_York springs forward on 2026-03-08: that local day has 23 hours."""
    new_york = ZoneInfo("America/New_York")
    start = datetime(2026, 3, 5, tzinfo=new_york)
    end = datetime(2026, 3, 12, tzinfo=new_york)
    utc = ZoneInfo("UTC")
    assert end.astimezone(utc) - start.astimezone(utc) == timedelta(days=7, hours=-1)
    items = [
        _item("a" * 40, datetime(2026, 3, 8, 23, 30, tzinfo=new_york)),  # late on the short day
        _item("b" * 40, datetime(2026, 3, 9, 0, 30, tzinfo=new_york)),  # the next day
        _item("c" * 40, datetime(2026, 3, 12, 3, 59, tzinfo=ZoneInfo("UTC"))),  # Mar 11 local
    ]
    digest = Digest(
        repo="o/r",
        window=Window(start=start, end=end, tz="America/New_York", label="7d"),
        items=tuple(items),
        stats=DigestStats(total=3, low=3),
        provenance=DigestProvenance(generated_at=end),
    )
    summary = week_summary(digest)
    assert [day.day.isoformat() for day in summary.days] == [
        "2026-03-05", "2026-03-06", "2026-03-07", "2026-03-08",
        "2026-03-09", "2026-03-10", "2026-03-11",
    ]  # fmt: skip
    assert [day.total for day in summary.days] == [0, 0, 0, 1, 1, 0, 1]
    _assert_sums(summary, digest)
    # The same window given in UTC instants names the same seven local days.
    instants = {"start": start.astimezone(utc), "end": end.astimezone(utc)}
    in_utc = digest.model_copy(update={"window": digest.window.model_copy(update=instants)})
    assert week_summary(in_utc) == summary


def test_commits_outside_the_window_still_count() -> None:
    items = [
        _item("a" * 40, MONDAY - timedelta(hours=1)),
        _item("b" * 40, MONDAY + timedelta(days=9)),
    ]
    summary = week_summary(_week(items, MONDAY))
    assert summary.days[0].total == 1
    assert summary.days[-1].total == 1


def test_top_areas_count_commits_not_files() -> None:
    items = [
        _item(f"{index:040x}", MONDAY, areas=tuple(f"dir/{area}" for area in range(index % 12)))
        for index in range(40)
    ] + [_item("f" * 40, MONDAY, areas=("dir/0", "dir/0"))]
    summary = week_summary(_week(items, MONDAY))
    assert len(summary.areas) == AREAS_SHOWN
    assert summary.areas[0].area == "dir/0"
    assert summary.areas[0].commits == sum(1 for i in range(40) if i % 12 > 0) + 1
    assert [area.commits for area in summary.areas] == sorted(
        (area.commits for area in summary.areas), reverse=True
    )


def test_high_commits_newest_first_at_most_ten() -> None:
    items = [
        _item(f"{index:07x}" + "0" * 33, MONDAY + timedelta(hours=index), Importance.HIGH)
        for index in range(13)
    ]
    summary = week_summary(_week(items, MONDAY))
    assert [commit.short_sha for commit in summary.high_commits] == [
        f"{index:07x}" for index in range(12, 2, -1)
    ]
    assert summary.high_more == 3
    assert summary.high_commits[0].url.endswith("/commit/000000c" + "0" * 33)


def test_more_than_a_month_is_refused() -> None:
    digest = _week([], MONDAY, days=40)
    with pytest.raises(ValueError, match="at most"):
        week_summary(digest)


def test_chart_text_cleans_and_clips() -> None:
    assert chart_text("a\x00b\u202ec\nd\ufffe", 60) == "abc d"
    assert chart_text("x" * 80, 60) == "x" * 60 + "…"
    assert chart_text("中" * 40, 60) == "中" * 30 + "…"  # wide characters count two
    assert chart_text("$\\frac{1}{0}$", 60) == "$\\frac{1}{0}$"  # drawn as written


# --- rendering -------------------------------------------------------------------------------


def _png_size(image: ChartImage) -> tuple[int, int]:
    assert image.data[:8] == b"\x89PNG\r\n\x1a\n"
    assert image.data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", image.data[16:24])
    return width, height


@pytest.mark.parametrize(
    "digest",
    [
        _stats_of(big_digest(200)),
        empty_digest(),
        _hostile_week(),
        reference_digest("zh"),
    ],
    ids=["big", "empty", "hostile", "zh"],
)
def test_png_has_the_fixed_size(digest: Digest) -> None:
    image = render_week_chart(week_summary(digest), fmt="png")
    assert image.mime == "image/png"
    assert (image.width, image.height) == (WIDTH_PX, HEIGHT_PX) == (1200, 800)
    assert _png_size(image) == (WIDTH_PX, HEIGHT_PX)


_SVG = "{http://www.w3.org/2000/svg}"
_XLINK_HREF = "{http://www.w3.org/1999/xlink}href"


def _svg_texts(root: ET.Element) -> list[str]:
    return ["".join(node.itertext()) for node in root.iter(f"{_SVG}text")]


def test_svg_is_safe_to_inline_with_hostile_titles() -> None:
    image = render_week_chart(week_summary(_hostile_week()), fmt="svg")
    assert image.mime == "image/svg+xml"
    text = image.data.decode("utf-8")
    lowered = text.lower()
    assert "<script" not in lowered
    assert "<a " not in lowered
    assert "<!entity" not in lowered
    assert "<!doctype" not in lowered  # its DTD address would be an external reference
    assert "javascript:" not in lowered
    root = ET.fromstring(image.data)  # well-formed XML: nothing escaped its <text>
    assert root.tag == f"{_SVG}svg"
    assert (root.get("width"), root.get("height")) == (str(WIDTH_PX), str(HEIGHT_PX))
    assert image.data.startswith(b"<svg ")
    for node in root.iter():
        tag = node.tag.rsplit("}", 1)[-1]
        assert tag not in ("script", "foreignObject", "a", "iframe", "image", "animate", "set")
        for name, value in node.attrib.items():
            assert not name.rsplit("}", 1)[-1].lower().startswith("on"), name
            if name in (_XLINK_HREF, "href"):
                assert value.startswith("#"), value  # only the file's own definitions
            assert "http" not in value.lower(), (name, value)
            assert "url(" not in value or re.fullmatch(r".*url\(#[\w-]+\).*", value), value
    for style in root.iter(f"{_SVG}style"):
        assert "@import" not in (style.text or "") and "http" not in (style.text or "")
    # Each hostile title is shown as plain text (mathtext off, markup escaped), controls gone.
    shown = "\n".join(_svg_texts(root))
    assert "</text><script>alert(1)</script>" in shown
    assert "$\\frac{1}{0}$" in shown
    assert '<a href="http://evil">x</a>' in shown
    assert "\x00" not in shown and "\x1b" not in shown and "\ufffe" not in shown


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(digests(max_commits=150))
def test_any_digest_renders_well_formed_svg(digest: Digest) -> None:
    digest = digest.model_copy(
        update={
            "items": tuple(
                item.model_copy(update={"areas": (item.commit.title[:40], item.commit.author[:40])})
                for item in digest.items
            )
        }
    )
    image = render_week_chart(week_summary(_stats_of(digest)), fmt="svg")
    root = ET.fromstring(image.data)
    assert not [node for node in root.iter() if node.tag.endswith(("script", "foreignObject"))]


def test_svg_is_deterministic() -> None:
    summary = week_summary(_stats_of(big_digest(60)))
    first = render_week_chart(summary, fmt="svg").data
    assert render_week_chart(summary, fmt="svg").data == first
    assert (
        render_week_chart(week_summary(_hostile_week()), fmt="svg").data
        == render_week_chart(week_summary(_hostile_week()), fmt="svg").data
    )


def test_zh_labels_for_a_zh_digest() -> None:
    items = [_item("a" * 40, MONDAY, Importance.HIGH, title="修复", areas=("python/sglang",))]
    zh = render_week_chart(week_summary(_week(items, MONDAY, language="zh")), fmt="svg")
    shown = "\n".join(_svg_texts(ET.fromstring(zh.data)))
    assert "o/r 周报（2026-02-02 – 2026-02-08）" in shown
    assert CHART_ZH.areas_heading in shown
    assert CHART_ZH.high_heading.format(count=1) in shown
    assert CHART_ZH.commits_axis in shown
    assert "周一\n02-02" in shown or "周一" in shown
    assert "高" in shown.split("\n")  # the legend uses formatters.labels' importance names
    assert CHART_EN.areas_heading not in shown

    en = render_week_chart(week_summary(_week(items, MONDAY)), fmt="svg")
    shown_en = "\n".join(_svg_texts(ET.fromstring(en.data)))
    assert "o/r · week 2026-02-02 – 2026-02-08" in shown_en
    assert CHART_EN.high_heading.format(count=1) in shown_en
    assert "Mon" in shown_en
    assert "周" not in shown_en


def test_the_module_imports_no_matplotlib() -> None:
    """The CLI's start-up imports formatters: matplotlib loads on the first render only."""
    import subprocess
    import sys

    code = "import sys, formatters.week_chart; print('matplotlib' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_renders_from_threads_match_serial_renders() -> None:
    """Each render has its own Figure: renders in parallel give the serial bytes."""
    from concurrent.futures import ThreadPoolExecutor

    summaries = [week_summary(_stats_of(big_digest(count))) for count in (30, 90)]
    formats: tuple[Literal["png", "svg"], ...] = ("png", "svg")
    jobs = [(summary, fmt) for summary in summaries for fmt in formats] * 2
    serial = [render_week_chart(summary, fmt=fmt).data for summary, fmt in jobs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        parallel = list(pool.map(lambda job: render_week_chart(job[0], fmt=job[1]).data, jobs))
    assert parallel == serial
