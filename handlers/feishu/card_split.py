"""Feishu cards cut in two when the platform finds them too large, and plain text as a card.

`formatters.feishu_card` keeps every card under our byte and element budgets; the platform is
still the judge (error 230025 "The length of the message content reaches its limit", or 230099
"Failed to create card content" with a limit in its message). A refused card is split here:
between body elements, else between a panel's elements, else between the lines (or words) of
one markdown text, so nothing the formatter rendered is dropped.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any

from formatters.feishu_card import element_size, request_size
from formatters.limits import FEISHU_CARD_BUDGET_BYTES
from formatters.text_safety import ZWJ, clip, escape_feishu, one_line

Card = dict[str, Any]
Element = dict[str, Any]

_ENTITY_TAIL = re.compile(r"&#?\w*$")  # a cut must not end inside `&#60;`


def text_card(text: str) -> Card:
    """Short plain text (it may carry commit titles or LLM output) as a card JSON 2.0.

    The markdown element gets `escape_feishu`, so `<at user_id="all">`, `<at id=…>`, links and
    emphasis stay literal text; the chat-list preview (`summary`) is plain text with `<` broken.
    """
    preview = clip(one_line(text).replace("<", "<" + ZWJ), 100)
    return {
        "schema": "2.0",
        "config": {"update_multi": True, "width_mode": "fill", "summary": {"content": preview}},
        "body": {"elements": [{"tag": "markdown", "content": escape_feishu(text)}]},
    }


def mark_card(card: Card, marker: str) -> Card:
    """A copy of `card` whose first body element carries `element_id = marker` (≤ 20 characters:
    https://open.feishu.cn/document/feishu-cards/card-json-v2-structure), so a delivery can be
    found again in the chat's history."""
    marked = copy.deepcopy(card)
    elements = _elements(marked)
    if elements and "element_id" not in elements[0]:
        elements[0]["element_id"] = marker
    return marked


def fit_card(card: Card, budget: int = FEISHU_CARD_BUDGET_BYTES) -> list[Card]:
    """`card`, split until every part's request body is within `budget` (when it can be)."""
    if request_size(card) <= budget:
        return [card]
    parts = split_card(card)
    if not parts:
        return [card]  # nothing left to split: the platform decides
    return [piece for part in parts for piece in fit_card(part, budget)]


def split_card(card: Card) -> list[Card]:
    """Two cards carrying together everything `card` carries; [] when it cannot be split."""
    elements = _elements(card)
    if len(elements) >= 2:
        cut = _balanced_cut([element_size(e) for e in elements])
        return [_with(card, elements[:cut]), _with(card, elements[cut:])]
    if len(elements) == 1:
        halves = _split_element(elements[0])
        if halves is not None:
            return [_with(card, [halves[0]]), _with(card, [halves[1]])]
    return []


def _split_element(element: Element) -> tuple[Element, Element] | None:
    tag = element.get("tag")
    if tag == "markdown" and isinstance(element.get("content"), str):
        texts = _split_text(element["content"])
        if texts is None:
            return None
        second = {k: v for k, v in element.items() if k != "element_id"}
        return {**element, "content": texts[0]}, {**second, "content": texts[1]}
    if tag == "collapsible_panel" and isinstance(element.get("elements"), list):
        inner: list[Element] = element["elements"]
        if len(inner) >= 2:
            cut = _balanced_cut([element_size(e) for e in inner])
            return {**element, "elements": inner[:cut]}, {**element, "elements": inner[cut:]}
        if len(inner) == 1:
            halves = _split_element(inner[0])
            if halves is not None:
                return {**element, "elements": [halves[0]]}, {**element, "elements": [halves[1]]}
    return None


def _split_text(text: str) -> tuple[str, str] | None:
    """Cut markdown between lines, else between words, else anywhere outside an entity;
    None when no cut leaves text on both sides."""
    for halves in _cuts(text):
        if halves[0].strip() and halves[1].strip():
            return halves
    return None


def _cuts(text: str) -> Iterator[tuple[str, str]]:
    lines = text.split("\n")
    if len(lines) >= 2:
        cut = _balanced_cut([len(line) + 1 for line in lines])
        yield "\n".join(lines[:cut]), "\n".join(lines[cut:])
    middle = len(text) // 2
    spaces = [i for i, char in enumerate(text) if char == " "]
    if spaces:
        at = min(spaces, key=lambda i: abs(i - middle))
        yield text[:at], text[at + 1 :]
    solid = [i for i, char in enumerate(text) if not char.isspace()]
    if len(solid) >= 2:
        at = min(solid[1:], key=lambda i: abs(i - middle))
        tail = _ENTITY_TAIL.search(text[:at])
        if tail is not None and tail.start() > solid[0]:
            at = tail.start()
        yield text[:at], text[at:]


def _balanced_cut(sizes: list[int]) -> int:
    """The index splitting `sizes` into two non-empty runs of about equal total."""
    total, running = sum(sizes), 0
    for index, size in enumerate(sizes[:-1], start=1):
        running += size
        if running * 2 >= total:
            return index
    return len(sizes) - 1


def _elements(card: Card) -> list[Element]:
    body = card.get("body")
    if isinstance(body, dict) and isinstance(body.get("elements"), list):
        elements: list[Element] = body["elements"]
        return elements
    return []


def _with(card: Card, elements: list[Element]) -> Card:
    part = {key: value for key, value in card.items() if key != "body"}
    part["body"] = {**card.get("body", {}), "elements": elements}
    return part
