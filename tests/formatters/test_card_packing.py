"""Packing units into messages: order, shrinking, breaks, caps, leftovers and the fold ladder."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bot.models import Importance
from formatters.card_packing import FOLDS, Unit, pack, pack_folded, units_of
from formatters.card_sections import CardPlan, plan_card
from tests.formatters.builders import copies, with_items


def _fits(capacity: int) -> Callable[[int, Sequence[int]], bool]:
    def fits(index: int, rendered: Sequence[int]) -> bool:
        return sum(rendered) <= capacity

    return fits


def test_units_fill_messages_in_order() -> None:
    packed = pack([3, 3, 3, 3], lambda u, s: u, _fits(7), max_messages=5)
    assert [[u for u, _ in m] for m in packed.messages] == [[3, 3], [3, 3]] and not packed.leftover


def test_a_unit_too_big_for_an_empty_message_is_shrunk() -> None:
    packed = pack([10], lambda u, s: int(u * s), _fits(6), max_messages=2)
    assert [[r for _, r in m] for m in packed.messages] == [[5]]


def test_starts_message_forces_a_break() -> None:
    packed = pack(
        [1, 1, 20, 2], lambda u, s: u, _fits(100), max_messages=5, starts_message=lambda u: u == 20
    )
    assert [[u for u, _ in m] for m in packed.messages] == [[1, 1], [20, 2]]


def test_past_the_message_cap_the_rest_is_leftover_and_the_note_gets_room() -> None:
    def note_fits(index: int, rendered: Sequence[int], leftover: Sequence[int]) -> bool:
        return sum(rendered) + 2 <= 6

    packed = pack([3, 3, 3, 3, 3], lambda u, s: u, _fits(6), max_messages=2, note_fits=note_fits)
    assert [[u for u, _ in m] for m in packed.messages] == [[3, 3], [3]]
    assert packed.leftover == [3, 3]


# --- the fold ladder ---------------------------------------------------------------------


def _plan(high: int, medium: int, low: int) -> CardPlan:
    items = (
        copies(high, Importance.HIGH)
        + copies(medium, Importance.MEDIUM, start=high)
        + copies(low, Importance.LOW, start=high + medium)
    )
    return plan_card(with_items(items))


def test_the_first_step_folds_only_the_low_commits_past_the_first_25() -> None:
    units = units_of(_plan(3, 2, 30), FOLDS[0], lines_chunk=5, fold_chunk=15)
    styles = [(u.section.importance, u.style, len(u.commits)) for u in units]
    assert styles == [
        *[(Importance.HIGH, "expanded", 1)] * 3,
        *[(Importance.MEDIUM, "expanded", 1)] * 2,
        *[(Importance.LOW, "lines", 5)] * 5,
        (Importance.LOW, "folded", 5),
    ]
    assert [u.hinted for u in units] == [False] * 10 + [True]
    assert units[5].first and units[-1].last and units[-1].start == 25


def test_later_steps_fold_medium_then_high_commits() -> None:
    plan = _plan(3, 20, 4)
    units = units_of(plan, FOLDS[3], 5, 15)
    medium = [u for u in units if u.section.importance is Importance.MEDIUM]
    assert [(u.style, len(u.commits)) for u in medium] == [("folded", 15), ("folded", 5)]
    every = units_of(plan, FOLDS[-1], 5, 15)
    assert {u.style for u in every} == {"folded"} and not FOLDS[-1].links and not FOLDS[-1].title


def _size(unit: Unit, scale: float) -> int:
    per_commit = {"expanded": 10, "lines": 3, "folded": 1}[unit.style]
    return per_commit * len(unit.commits)


def test_pack_folded_takes_the_first_step_that_leaves_nothing_over() -> None:
    plan = _plan(2, 3, 40)  # expanded 50, low lines 25×3 + 15 folded: 140 at the first step
    packed = pack_folded(plan, _size, _fits(60), max_messages=2, lines_chunk=5, fold_chunk=15)
    assert not packed.leftover
    styles = {unit.style for message in packed.messages for unit, _ in message}
    assert styles == {"expanded", "folded"}  # step 2: all low commits folded, 50 + 40 = 90


def test_pack_folded_leaves_over_only_what_the_last_step_cannot_fit() -> None:
    plan = _plan(2, 3, 15)  # 20 commits, folded in fives: 2 + 3 + 5 fit, 10 low do not
    packed = pack_folded(plan, _size, _fits(10), max_messages=1, lines_chunk=5, fold_chunk=5)
    assert packed.leftover and all(unit.fold is FOLDS[-1] for unit in packed.leftover)
    assert sum(len(unit.commits) for unit in packed.leftover) == 10


def test_pack_folded_renders_a_unit_once_per_scale_across_steps() -> None:
    calls: list[tuple[int, int, str, float]] = []

    def render(unit: Unit, scale: float) -> int:
        calls.append((unit.section.total, unit.start, unit.style, scale))
        return _size(unit, scale)

    pack_folded(_plan(2, 3, 40), render, _fits(60), max_messages=2, lines_chunk=5, fold_chunk=15)
    assert len(calls) == len(set(calls))
