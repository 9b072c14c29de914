"""Packing units into messages: order, shrinking, forced breaks, message caps and leftovers."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from formatters.card_packing import pack


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
