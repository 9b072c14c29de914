"""Packing a card's commits into a platform's messages: folding them as far as needed, then filling.

A unit is an expanded commit or a chunk of compact lines (see formatters.card_sections). `pack`
fills messages in order, shrinking a unit through `SCALES` only when it would not fit an empty
message, and returns the units no message could take. `pack_folded` climbs the fold ladder
`FOLDS` until nothing is left over: first the low commits beyond `LOW_LIST_MAX` are folded into
short "sha title" lines, then all low commits, then expanded commits get shorter, then the
medium and the high commits are folded too, and at last the lines lose their links and titles.
Only what even the last step cannot fit is left over, and the renderers count it in a note.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar

from bot.models import IMPORTANCE_ORDER, Importance
from formatters.card_sections import LOW_LIST_MAX, SCALES, CardPlan, CommitView, Section

Style = Literal["expanded", "lines", "folded"]


@dataclass(frozen=True)
class Fold:
    """One step of the fold ladder: which sections are folded and how short everything gets."""

    folded: frozenset[Importance]  # sections listed as folded "sha title" lines
    low_lines: int  # low commits still shown as full lines before the folded rest
    max_scale: float  # expanded commits are rendered at most at this scale (see SCALES)
    links: bool  # folded SHAs link to their commit pages
    title: int  # characters of a folded line's title; 0: SHAs only, several per line


_LOW = frozenset({Importance.LOW})
_LOW_MEDIUM = frozenset({Importance.LOW, Importance.MEDIUM})
_ALL = frozenset(IMPORTANCE_ORDER)
FOLDS: tuple[Fold, ...] = (
    Fold(_LOW, LOW_LIST_MAX, 1.0, links=True, title=80),
    Fold(_LOW, 0, 1.0, links=True, title=80),
    Fold(_LOW, 0, 0.25, links=True, title=80),
    Fold(_LOW_MEDIUM, 0, 0.25, links=True, title=60),
    Fold(_ALL, 0, 0.25, links=True, title=60),
    Fold(_ALL, 0, 0.25, links=False, title=40),
    Fold(_ALL, 0, 0.25, links=False, title=0),
)


@dataclass(frozen=True)
class Unit:
    """What a renderer packs as one piece: an expanded commit, or a chunk of compact lines."""

    section: Section
    commits: tuple[CommitView, ...]
    first: bool  # the first unit of its section carries the heading
    last: bool  # the last unit of its section carries the section's details hint
    style: Style
    fold: Fold = FOLDS[0]
    start: int = 0  # index of the first commit in its section

    @property
    def compact(self) -> bool:
        """Lines without a Details button (low lines or folded commits)."""
        return self.style != "expanded"

    @property
    def hinted(self) -> bool:
        """The unit ends a section listed as lines without Details buttons: it says how to ask
        for a commit's details."""
        return self.last and self.compact


def units_of(plan: CardPlan, fold: Fold, lines_chunk: int, fold_chunk: int) -> list[Unit]:
    """The plan's sections as units in display order, folded as `fold` says."""
    units: list[Unit] = []
    for section in plan.sections:
        commits = section.commits
        pieces: list[tuple[int, int, Style]] = []  # (start, end, style)
        if section.importance in fold.folded:
            lined = min(len(commits), fold.low_lines if section.importance is Importance.LOW else 0)
            pieces += _chunks(0, lined, max(1, lines_chunk), "lines")
            pieces += _chunks(lined, len(commits), max(1, fold_chunk), "folded")
        elif section.importance is Importance.LOW:
            pieces += _chunks(0, len(commits), max(1, lines_chunk), "lines")
        else:
            pieces += _chunks(0, len(commits), 1, "expanded")
        for index, (start, end, style) in enumerate(pieces):
            units.append(
                Unit(
                    section,
                    commits[start:end],
                    first=index == 0,
                    last=index == len(pieces) - 1,
                    style=style,
                    fold=fold,
                    start=start,
                )
            )
    return units


def _chunks(start: int, end: int, size: int, style: Style) -> list[tuple[int, int, Style]]:
    return [(i, min(i + size, end), style) for i in range(start, end, size)]


def leftover_commits(leftover: Sequence[Unit]) -> list[CommitView]:
    """The commits in units no message took."""
    return [commit for unit in leftover for commit in unit.commits]


U = TypeVar("U")
R = TypeVar("R")


@dataclass
class Packed(Generic[U, R]):
    """Rendered units per message, and the units no message could take (in order)."""

    messages: list[list[tuple[U, R]]] = field(default_factory=list)
    leftover: list[U] = field(default_factory=list)


def pack(
    units: Sequence[U],
    render: Callable[[U, float], R],
    fits: Callable[[int, Sequence[R]], bool],
    *,
    max_messages: int,
    starts_message: Callable[[U], bool] = lambda _unit: False,
    note_fits: Callable[[int, Sequence[R], Sequence[U]], bool] | None = None,
) -> Packed[U, R]:
    """Fill messages in order: a unit goes into the current message at full size, else opens
    the next message and shrinks through `SCALES` until it fits. Message 0 carries the card's
    head (which `fits(0, …)` accounts for). Past `max_messages` the rest is leftover; then units
    leave the last message until `note_fits` says the "N more commits" note has room.
    """
    packed: Packed[U, R] = Packed(messages=[[]])

    def attempt(index: int, current: list[tuple[U, R]], unit: U, shrink: bool) -> R | None:
        rendered = [r for _, r in current]
        for scale in SCALES if shrink else SCALES[:1]:
            candidate = render(unit, scale)
            if fits(index, [*rendered, candidate]):
                return candidate
        return None

    for position, unit in enumerate(units):
        index = len(packed.messages) - 1
        current = packed.messages[-1]
        forced = starts_message(unit) and (bool(current) or index == 0)
        result = None if forced else attempt(index, current, unit, shrink=not current)
        if result is None and (current or index == 0):
            if len(packed.messages) >= max_messages:
                packed.leftover.extend(units[position:])
                break
            packed.messages.append([])
            index, current = index + 1, packed.messages[-1]
            result = attempt(index, current, unit, shrink=True)
        if result is None:
            packed.leftover.append(unit)
            continue
        current.append((unit, result))
    if packed.leftover and note_fits is not None:
        while True:
            last = packed.messages[-1]
            index = len(packed.messages) - 1
            if note_fits(index, [r for _, r in last], packed.leftover) or not last:
                break
            packed.leftover.insert(0, last.pop()[0])
    if len(packed.messages) > 1 and not packed.messages[-1] and not packed.leftover:
        packed.messages.pop()
    return packed


def pack_folded(
    plan: CardPlan,
    render: Callable[[Unit, float], R],
    fits: Callable[[int, Sequence[R]], bool],
    *,
    max_messages: int,
    lines_chunk: int,
    fold_chunk: int,
) -> Packed[Unit, R]:
    """`pack` at the first step of `FOLDS` that leaves nothing over (else at the last one).

    On a long day the low section starts a message of its own (the thread, on Slack). Renders
    are shared between steps: an expanded commit is rendered once per scale, however many
    steps try it.
    """
    cache: dict[tuple[object, ...], R] = {}

    def cached(unit: Unit, scale: float) -> R:
        scale = min(scale, unit.fold.max_scale) if unit.style == "expanded" else scale
        key: tuple[object, ...] = (
            unit.section.importance,
            unit.start,
            len(unit.commits),
            unit.first,
            unit.last,
            unit.style,
            scale,
        )
        if unit.style == "folded":
            key += (unit.fold.links, unit.fold.title)
        if key not in cache:
            cache[key] = render(unit, scale)
        return cache[key]

    packed: Packed[Unit, R] = Packed()
    for fold in FOLDS:
        packed = pack(
            units_of(plan, fold, lines_chunk, fold_chunk),
            cached,
            fits,
            max_messages=max_messages,
            starts_message=lambda unit: (
                plan.long_day and unit.section.importance is Importance.LOW and unit.first
            ),
        )
        if not packed.leftover:
            break
    return packed
