"""The week in a picture: a weekly digest summarised per local day and drawn as one PNG or SVG."""

from __future__ import annotations

import functools
import io
import os
import re
import threading
import unicodedata
import warnings
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any, Literal

from bot.models import IMPORTANCE_ORDER, Digest, DigestItem, Importance, Language
from formatters.clock import zone
from formatters.labels import labels_for
from formatters.text_safety import ELLIPSIS, one_line

if TYPE_CHECKING:  # matplotlib is imported on first render only (the CLI's start-up is measured)
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.transforms import Transform

# --- the neutral summary ---------------------------------------------------------------------

AREAS_SHOWN = 8  # the most-touched directories the chart names
HIGH_SHOWN = 10  # the high-importance commits it lists (then "+N more")
MAX_DAYS = 31  # a week is 7 local days; anything past a month is not a "week" chart's job


@dataclass(frozen=True)
class DaySeries:
    """One local day of the window: its commits counted by importance."""

    day: date
    high: int = 0
    medium: int = 0
    low: int = 0

    @property
    def total(self) -> int:
        return self.high + self.medium + self.low

    def count(self, importance: Importance) -> int:
        return int(getattr(self, importance.value))


@dataclass(frozen=True)
class AreaCount:
    """A directory (two levels deep) and how many of the week's commits touch it."""

    area: str
    commits: int


@dataclass(frozen=True)
class HighCommit:
    """A high-importance commit of the week, as the chart lists it (raw, untrusted text)."""

    short_sha: str
    title: str
    url: str


@dataclass(frozen=True)
class WeekSummary:
    """What the week's chart shows, with no markup: every local day of the window (empty days
    too), the most-touched areas and the high commits. Texts are raw; the renderer cleans them.

    The day series count every item once (items outside the window on its first or last day),
    so their sums equal a consistent digest's `stats` (as bot.service builds them)."""

    repo: str
    language: Language
    tz: str
    days: tuple[DaySeries, ...]
    areas: tuple[AreaCount, ...] = ()
    high_commits: tuple[HighCommit, ...] = ()
    high_more: int = 0  # high commits beyond the ones listed

    @property
    def first_day(self) -> date:
        return self.days[0].day

    @property
    def last_day(self) -> date:
        return self.days[-1].day

    @property
    def high(self) -> int:
        return sum(day.high for day in self.days)

    @property
    def medium(self) -> int:
        return sum(day.medium for day in self.days)

    @property
    def low(self) -> int:
        return sum(day.low for day in self.days)

    @property
    def total(self) -> int:
        return sum(day.total for day in self.days)


def _local_days(start: datetime, end: datetime, tz: tzinfo) -> list[date]:
    first = start.astimezone(tz).date()
    last = (end - timedelta(microseconds=1)).astimezone(tz).date() if end > start else first
    count = (last - first).days + 1
    if count > MAX_DAYS:
        raise ValueError(f"a week chart shows at most {MAX_DAYS} days, the window has {count}")
    return [first + timedelta(days=offset) for offset in range(count)]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def week_summary(digest: Digest) -> WeekSummary:
    """The digest's week per local day of `digest.window.tz` (UTC when the zone is unknown)."""
    tz: tzinfo = zone(digest.window.tz) or UTC
    days = _local_days(_aware(digest.window.start), _aware(digest.window.end), tz)
    index = {day: position for position, day in enumerate(days)}
    counts = [dict.fromkeys(IMPORTANCE_ORDER, 0) for _ in days]
    areas: Counter[str] = Counter()
    highs: list[DigestItem] = []
    for item in digest.items:
        day = _aware(item.commit.committed_at).astimezone(tz).date()
        # A commit outside the window still counts (on the nearest day): sums equal the stats.
        position = index.get(day, 0 if day < days[0] else len(days) - 1)
        counts[position][item.analysis.importance] += 1
        areas.update(set(item.areas))
        if item.analysis.importance is Importance.HIGH:
            highs.append(item)
    highs.sort(key=lambda item: (-_aware(item.commit.committed_at).timestamp(), item.commit.sha))
    top_areas = sorted(areas.items(), key=lambda pair: (-pair[1], pair[0]))[:AREAS_SHOWN]
    return WeekSummary(
        repo=digest.repo,
        language=digest.language,
        tz=digest.window.tz,
        days=tuple(
            DaySeries(
                day=day,
                high=count[Importance.HIGH],
                medium=count[Importance.MEDIUM],
                low=count[Importance.LOW],
            )
            for day, count in zip(days, counts, strict=True)
        ),
        areas=tuple(AreaCount(area=area, commits=commits) for area, commits in top_areas),
        high_commits=tuple(
            HighCommit(
                short_sha=item.commit.short_sha, title=item.commit.title, url=item.commit.url
            )
            for item in highs[:HIGH_SHOWN]
        ),
        high_more=max(0, len(highs) - HIGH_SHOWN),
    )


# --- words -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ChartLabels:
    """The week chart's words; `{…}` placeholders are filled by `render_week_chart`."""

    title: str  # "{repo} · week {first} – {last}"
    commits_axis: str
    areas_heading: str
    no_areas: str
    high_heading: str  # "{count}" high commits in the week
    no_high: str
    more: str  # "{count}" more not listed
    weekdays: tuple[str, str, str, str, str, str, str]  # Monday first


CHART_ZH = ChartLabels(
    title="{repo} 周报（{first} – {last}）",
    commits_axis="提交数",
    areas_heading="改动最多的目录",
    no_areas="本周没有目录数据",
    high_heading="高重要度提交（{count}）",
    no_high="本周没有高重要度提交",
    more="另有 {count} 个",
    weekdays=("周一", "周二", "周三", "周四", "周五", "周六", "周日"),
)

CHART_EN = ChartLabels(
    title="{repo} · week {first} – {last}",
    commits_axis="Commits",
    areas_heading="Most-touched areas",
    no_areas="No areas recorded this week",
    high_heading="High-importance commits ({count})",
    no_high="No high-importance commits this week",
    more="+{count} more",
    weekdays=("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
)


def chart_labels_for(language: Language) -> ChartLabels:
    return CHART_ZH if language == "zh" else CHART_EN


# --- untrusted text --------------------------------------------------------------------------

TITLE_COLUMNS = 60  # a commit title's width in the list (a CJK character counts two)
AREA_COLUMNS = 28
REPO_COLUMNS = 60
# What XML 1.0 cannot hold and `one_line` leaves: the non-characters U+FFFE and U+FFFF.
_NOT_XML = re.compile("[\ufffe\uffff]")


def _width(char: str) -> int:
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def chart_text(text: str, columns: int) -> str:
    """Untrusted `text` for one line of the chart: control, bidi and zero-width characters
    removed, whitespace collapsed, at most `columns` columns (wide characters count two).
    It is drawn with mathtext off (`parse_math=False`), so `$` stays a dollar sign."""
    text = _NOT_XML.sub("", one_line(text))
    used = 0
    for index, char in enumerate(text):
        used += _width(char)
        if used > columns:
            return text[:index].rstrip() + ELLIPSIS
    return text


# --- rendering -------------------------------------------------------------------------------

WIDTH_PX = 1200
HEIGHT_PX = 800
DPI = 100
# The cards' severity colours (formatters.discord_embeds.COLOURS; Feishu's red/orange/green).
COLOURS: dict[Importance, str] = {
    Importance.HIGH: "#E74C3C",
    Importance.MEDIUM: "#F39C12",
    Importance.LOW: "#2ECC71",
}
GRID_COLOUR = "#D5D8DC"
MUTED = "#566573"
# Fonts with CJK glyphs, looked for among the installed fonts (none is downloaded). Without
# one, Chinese text in a PNG shows as empty boxes (DejaVu Sans has no CJK glyphs); an SVG
# names the families and `sans-serif`, so a browser draws it with its own CJK font.
_CJK_NAMES = (
    "Noto Sans CJK",
    "Noto Serif CJK",
    "Source Han Sans",
    "WenQuanYi",
    "Droid Sans Fallback",
)
_CJK_FILES = re.compile(r"(?i)(notosanscjk|notoserifcjk|sourcehansans|wqy|droidsansfallback)")
BASE_FONT = "DejaVu Sans"
# SVG settings are read from rcParams at save time (see render_week_chart).
SVG_HASHSALT = "digestbot-week-chart"
# rcParams are process-wide: SVG saves that set them take turns (PNG saves need none).
_SVG_LOCK = threading.Lock()
_MISSING_GLYPH = r"Glyph \d+ .*missing from font"


@dataclass(frozen=True)
class ChartImage:
    """A rendered chart: the file's bytes, its size in pixels and its MIME type."""

    data: bytes
    width: int
    height: int
    mime: str


@functools.cache
def cjk_fonts() -> tuple[str, ...]:
    """The family names of installed fonts with CJK glyphs, best first (may be empty)."""
    from matplotlib import font_manager

    known = {entry.name for entry in font_manager.fontManager.ttflist}
    if not any(name.startswith(_CJK_NAMES) for name in known):
        # The font cache predates the font: add the files a system scan finds.
        for path in font_manager.findSystemFonts():
            if _CJK_FILES.search(os.path.basename(path)):
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):
                    continue
        known = {entry.name for entry in font_manager.fontManager.ttflist}
    found = [name for name in known if name.startswith(_CJK_NAMES)]
    return tuple(sorted(found, key=lambda name: (_cjk_rank(name), name)))


def _cjk_rank(name: str) -> int:
    for rank, prefix in enumerate(_CJK_NAMES):
        if name.startswith(prefix):
            return rank
    return len(_CJK_NAMES)


def _families() -> list[str]:
    return [BASE_FONT, *cjk_fonts(), "sans-serif"]


def _text(
    axes: Axes, x: float, y: float, text: str, *, transform: Transform | None = None, **style: Any
) -> None:
    """Text with mathtext and TeX off: `$…$` in a commit title is drawn as it is written."""
    if transform is not None:
        style["transform"] = transform
    axes.text(x, y, text, parse_math=False, usetex=False, family=_families(), **style)


def _day_label(day: date, labels: ChartLabels) -> str:
    return f"{labels.weekdays[day.weekday()]}\n{day:%m-%d}"


def _draw_days(axes: Axes, summary: WeekSummary, labels: ChartLabels) -> None:
    from matplotlib.ticker import MaxNLocator

    positions = list(range(len(summary.days)))
    bottoms = [0] * len(summary.days)
    importance_names = labels_for(summary.language).importance
    # Low at the bottom, high on top: the eye reads the top of a bar first.
    for importance in reversed(IMPORTANCE_ORDER):
        values = [day.count(importance) for day in summary.days]
        axes.bar(
            positions,
            values,
            bottom=bottoms,
            color=COLOURS[importance],
            width=0.7,
            label=importance_names[importance],
            zorder=2,
        )
        bottoms = [bottom + value for bottom, value in zip(bottoms, values, strict=True)]
    for position, total in zip(positions, bottoms, strict=True):
        if total:
            _text(axes, position, total, str(total), ha="center", va="bottom", fontsize=10)
    axes.set_xticks(positions, [_day_label(day.day, labels) for day in summary.days])
    axes.set_xlim(-0.6, len(positions) - 0.4)
    axes.set_ylim(0, max(max(bottoms, default=0), 1) * 1.15)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylabel(labels.commits_axis, family=_families())
    axes.grid(axis="y", color=GRID_COLOUR, zorder=0)
    axes.spines[["top", "right"]].set_visible(False)
    handles, names = axes.get_legend_handles_labels()
    axes.legend(
        handles[::-1],
        names[::-1],
        loc="lower right",
        bbox_to_anchor=(1.0, 1.0),  # above the plot, never over a bar
        ncols=3,
        frameon=False,
        prop={"family": _families()},
    )
    axes.tick_params(axis="x", labelfontfamily=_families())


def _draw_areas(axes: Axes, summary: WeekSummary, labels: ChartLabels) -> None:
    from matplotlib.ticker import MaxNLocator

    axes.set_title(labels.areas_heading, loc="left", fontsize=12, family=_families())
    axes.spines[["top", "right"]].set_visible(False)
    if not summary.areas:
        axes.set_axis_off()
        _text(axes, 0.0, 0.5, labels.no_areas, transform=axes.transAxes, color=MUTED)
        return
    positions = list(range(len(summary.areas)))
    counts = [area.commits for area in summary.areas]
    axes.barh(positions, counts, color="#5D6D7E", height=0.6, zorder=2)
    axes.invert_yaxis()  # the most-touched area on top
    axes.set_yticks([])  # names are drawn as text below: tick labels would parse mathtext
    axes.set_xlim(0, max(counts) * 1.15)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.grid(axis="x", color=GRID_COLOUR, zorder=0)
    names = axes.get_yaxis_transform()  # x in axes units, y in data units
    for position, area in zip(positions, summary.areas, strict=True):
        name = chart_text(area.area, AREA_COLUMNS)
        _text(axes, -0.02, position, name, transform=names, ha="right", va="center", fontsize=9)
        _text(axes, area.commits, position, f" {area.commits}", va="center", fontsize=9)


def _draw_high(axes: Axes, summary: WeekSummary, labels: ChartLabels) -> None:
    axes.set_axis_off()
    count = len(summary.high_commits) + summary.high_more
    _text(
        axes,
        0.0,
        1.0,
        labels.high_heading.format(count=count),
        transform=axes.transAxes,
        va="bottom",
        fontsize=12,
        color=COLOURS[Importance.HIGH],
    )
    if not summary.high_commits:
        _text(axes, 0.0, 0.9, labels.no_high, transform=axes.transAxes, color=MUTED, va="top")
        return
    step = 1.0 / (HIGH_SHOWN + 1)
    for row, commit in enumerate(summary.high_commits):
        y = 0.97 - row * step
        sha = chart_text(commit.short_sha, 7)
        _text(axes, 0.0, y, sha, transform=axes.transAxes, va="top", fontsize=10, color=MUTED)
        title = chart_text(commit.title, TITLE_COLUMNS)
        _text(axes, 0.13, y, title, transform=axes.transAxes, va="top", fontsize=10, clip_on=True)
    if summary.high_more:
        y = 0.97 - len(summary.high_commits) * step
        more = labels.more.format(count=summary.high_more)
        _text(axes, 0.13, y, more, transform=axes.transAxes, va="top", fontsize=10, color=MUTED)


def _figure(summary: WeekSummary) -> Figure:
    from matplotlib.figure import Figure

    labels = chart_labels_for(summary.language)
    figure = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, facecolor="white")
    title = labels.title.format(
        repo=chart_text(summary.repo, REPO_COLUMNS) or "?",
        first=summary.first_day.isoformat(),
        last=summary.last_day.isoformat(),
    )
    figure.suptitle(title, fontsize=16, parse_math=False, usetex=False, family=_families())
    # Fixed positions (figure fractions), no automatic layout: the same size and place for
    # every week, and no solver to run.
    _draw_days(figure.add_axes((0.06, 0.56, 0.91, 0.34)), summary, labels)
    _draw_areas(figure.add_axes((0.22, 0.05, 0.25, 0.37)), summary, labels)
    _draw_high(figure.add_axes((0.52, 0.05, 0.46, 0.37)), summary, labels)
    return figure


def render_week_chart(summary: WeekSummary, *, fmt: Literal["png", "svg"]) -> ChartImage:
    """The week as one WIDTH_PX × HEIGHT_PX chart: commits per day by importance (stacked),
    the most-touched areas, the high commits. Thread-safe: each call draws its own Figure on
    the Agg canvas (no pyplot); an SVG is deterministic, escaped and self-contained."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    # A glyph no installed font has is drawn as a box (or by the browser, in an SVG); the
    # warning it raises is dropped, for calls from this module only.
    warnings.filterwarnings("ignore", _MISSING_GLYPH, UserWarning, __name__)
    figure = _figure(summary)
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    if fmt == "png":
        figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
        return ChartImage(buffer.getvalue(), WIDTH_PX, HEIGHT_PX, "image/png")
    if fmt == "svg":
        import matplotlib

        metadata: dict[str, str | None] = {"Date": None, "Creator": None, "Type": None}
        # A fixed salt makes the element ids, and so the file, deterministic; fonttype `none`
        # writes text as XML-escaped <text> elements (smaller, selectable, and a browser
        # draws CJK with its own fonts).
        with (
            _SVG_LOCK,
            matplotlib.rc_context({"svg.hashsalt": SVG_HASHSALT, "svg.fonttype": "none"}),
        ):
            figure.savefig(buffer, format="svg", dpi=DPI, metadata=metadata)
        return ChartImage(_bare_svg(buffer.getvalue()), WIDTH_PX, HEIGHT_PX, "image/svg+xml")
    raise ValueError(f"unknown chart format {fmt!r}")


_PROLOG = re.compile(rb"\A\s*<\?xml[^>]*\?>\s*(<!DOCTYPE[^>]*>\s*)?")
_SIZE_PT = re.compile(rb'width="[\d.]+pt" height="[\d.]+pt"')


def _bare_svg(data: bytes) -> bytes:
    """The <svg> element alone (UTF-8): no XML declaration or DOCTYPE (whose DTD address is
    an external reference), so it can be inlined in an HTML page as it is; sized in pixels
    like the PNG (matplotlib writes points; the viewBox keeps the drawing's scale)."""
    size = f'width="{WIDTH_PX}" height="{HEIGHT_PX}"'.encode()
    return _SIZE_PT.sub(size, _PROLOG.sub(b"", data), count=1)
