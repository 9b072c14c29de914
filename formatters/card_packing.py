"""Packing a card's units into a platform's messages, and counting what did not fit.

A unit is an expanded commit or a chunk of compact low lines (see formatters.card_sections).
`pack` fills messages in order, shrinking a unit through `SCALES` only when it would not fit an
empty message, and returns the units no message could take, which the last message counts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from bot.models import Importance
from formatters.card_sections import SCALES, CardPlan, CommitView, Section, count_by_importance


@dataclass(frozen=True)
class Unit:
    """What a renderer packs as one piece: an expanded commit, or a chunk of compact low lines."""

    section: Section
    commits: tuple[CommitView, ...]
    first: bool  # the first unit of its section carries the heading
    last: bool  # the last unit of its section carries the section's "N more" note
    compact: bool


def units_of(plan: CardPlan, low_chunk: int) -> list[Unit]:
    """The plan's sections as units in display order (high and medium expanded, low compact)."""
    units: list[Unit] = []
    for section in plan.sections:
        compact = section.importance is Importance.LOW
        size = max(1, low_chunk) if compact else 1
        groups = [section.commits[i : i + size] for i in range(0, len(section.commits), size)]
        for index, group in enumerate(groups):
            units.append(Unit(section, group, index == 0, index == len(groups) - 1, compact))
    return units


def leftover_counts(leftover: Sequence[Unit]) -> dict[Importance, int]:
    """Per importance, the commits in units no message took (with their "N more" counts)."""
    views = [commit for unit in leftover for commit in unit.commits]
    extra = sum(unit.section.omitted for unit in leftover if unit.last)
    return count_by_importance(views, extra)


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
