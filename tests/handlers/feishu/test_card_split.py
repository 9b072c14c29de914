"""Splitting refused Feishu cards without losing anything, marking deliveries, and text cards
that cannot mention anyone."""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from formatters.feishu_card import request_size
from handlers.feishu.card_split import fit_card, mark_card, split_card, text_card
from handlers.feishu.outbound import delivery_marker

HEADER = {"title": {"tag": "plain_text", "content": "Digest"}, "template": "red"}


def card(elements: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "schema": "2.0",
        "config": {"update_multi": True},
        "header": HEADER,
        "body": {"elements": elements},
    }


def markdown(text: str) -> dict[str, Any]:
    return {"tag": "markdown", "content": text}


def words(parts: list[dict[str, Any]]) -> list[str]:
    """Every word of every markdown element, in order (splits happen between words)."""
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if value.get("tag") == "markdown":
                found.extend(value["content"].split())
            for key, child in value.items():
                if key != "header":
                    walk(child)
        elif isinstance(value, list):
            for child in value:
                walk(child)

    for part in parts:
        walk(part["body"])
    return found


texts = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=400)


@given(st.lists(texts, min_size=1, max_size=12))
def test_split_keeps_every_word_in_order(contents: list[str]) -> None:
    original = card([markdown(text) for text in contents])
    parts = split_card(original)
    if len(contents) >= 2 or len("".join(contents[0].split())) >= 2:  # two visible characters
        assert len(parts) == 2
    for part in parts:
        assert part["header"] == HEADER and part["body"]["elements"]
        for element in part["body"]["elements"]:
            assert len(contents) >= 2 or element["content"].strip()
    if parts:
        # Cuts fall between lines or words when there are any, else inside one long word.
        assert "".join(words(parts)) == "".join(words([original]))


def test_a_panel_is_split_between_its_elements_and_keeps_its_header() -> None:
    inner = [markdown("a " * 50), markdown("b " * 50), markdown("c " * 50)]
    header = {"title": {"tag": "markdown", "content": "Details"}}
    panel = {"tag": "collapsible_panel", "expanded": False, "header": header, "elements": inner}
    first, second = split_card(card([panel]))
    assert [p["body"]["elements"][0]["header"] for p in (first, second)] == [panel["header"]] * 2
    assert words([first, second]) == words([card([panel])])


def test_one_long_line_is_cut_between_words_and_an_entity_is_never_cut() -> None:
    first, second = split_card(card([markdown("alpha beta gamma delta")]))
    assert [first["body"]["elements"][0]["content"], second["body"]["elements"][0]["content"]] == [
        "alpha beta",
        "gamma delta",
    ]
    glued = "&#60;" * 9
    one, two = split_card(card([markdown(glued)]))
    for part in (one, two):
        content = part["body"]["elements"][0]["content"]
        assert re.fullmatch(r"(&#60;)+", content)
    assert split_card(card([markdown("x")])) == []
    assert split_card(card([{"tag": "hr"}])) == []


@settings(max_examples=30)
@given(
    st.lists(st.text(min_size=0, max_size=3000), min_size=1, max_size=6),
    st.integers(min_value=1500, max_value=6000),
)
def test_fit_card_meets_the_budget_whenever_text_can_be_split(
    contents: list[str], budget: int
) -> None:
    original = card([markdown(" ".join(text.split()) or "-") for text in contents])
    parts = fit_card(original, budget)
    assert "".join(words(parts)) == "".join(words([original]))
    for part in parts:
        single_word = len(words([part])) <= 1
        assert request_size(part) <= budget or single_word


def test_mark_card_copies_and_marks_the_first_element() -> None:
    original = card([markdown("a"), markdown("b")])
    marker = delivery_marker("subscription:1:2026-02-08")
    marked = mark_card(original, marker)
    assert "element_id" not in original["body"]["elements"][0]
    assert marked["body"]["elements"][0]["element_id"] == marker
    assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,19}", marker)
    assert marker == delivery_marker("subscription:1:2026-02-08") != delivery_marker("other")


@given(st.text(max_size=500))
def test_text_card_never_lets_a_mention_or_markup_through(text: str) -> None:
    hostile = f'{text} <at user_id="all"></at> <at id=all></at> [click](https://evil.example)'
    made = text_card(hostile)
    content = made["body"]["elements"][0]["content"]
    assert "<" not in content and "[" not in content and "](" not in content
    assert "<at" not in json.dumps(made, ensure_ascii=False)
    assert len(made["config"]["summary"]["content"]) <= 100
