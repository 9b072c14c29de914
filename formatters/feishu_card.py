"""Digest -> Feishu/Lark card JSON 2.0 cards, split into "part x/y" cards when one is too big.

A card: header (report title, repository as subtitle, template colour red / orange / green by
the highest severity), the counts, the overview, then per severity a heading and for each high
or medium commit its line (short SHA and PR linked, title, author, type, summary, notes) and a
`collapsible_panel` (expanded=false) with scope, insights, risks, recommendations and a
"Details" button whose callback value is {"action": "digest_details", "repo", "sha"}
(card.action.trigger). Low commits are compact lines, in collapsed panels on long days; a big
digest folds them (and, if it must, the medium and high ones) into short "sha title" lines
(formatters.card_packing). No `table` component is used. Each card's request body, with the
card serialised by `card_content`, stays under FEISHU_CARD_BUDGET_BYTES and 180 tagged
elements; what even the tightest fold cannot list is counted in the last card, with how to see
it. All markdown is escaped by formatters.text_safety.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.models import Digest, Importance
from formatters.card_packing import Unit, leftover_commits, pack_folded
from formatters.card_sections import (
    SCALES,
    CardPlan,
    CommitDetails,
    CommitView,
    clip_list,
    details_of,
    plan_card,
    scaled,
)
from formatters.labels import SEVERITY_EMOJI, CardLabels, Labels
from formatters.limits import (
    FEISHU_BUTTON_TEXT_MAX,
    FEISHU_CARD_BUDGET_BYTES,
    FEISHU_CARD_ELEMENTS_BUDGET,
    FEISHU_CARDS_MAX,
    FEISHU_HEADER_TEXT_BUDGET,
)
from formatters.text_safety import clip, escape_feishu, escape_plain, fit, one_line, split_area

Card = dict[str, Any]
Element = dict[str, Any]

DETAILS_ACTION = "digest_details"
TEMPLATES = {Importance.HIGH: "red", Importance.MEDIUM: "orange", Importance.LOW: "green"}
LOW_CHUNK = 10
FOLD_CHUNK = 10  # folded "sha title" lines per panel
OMITTED_NOTE_MAX = 600  # the count, the breakdown and the repository and days to ask for
# One commit never takes more than about half a card, so a card holds several commits even
# when analyses are long (their full text is one button away).
UNIT_BUDGET_BYTES = 12_000
# A request body as the adapter sends it: ids are at most this long (open_id / chat_id ~ 40).
_RECEIVE_ID_WORST = "x" * 64
_UUID_WORST = "x" * 50


def card_content(card: Card) -> str:
    """The card as the `content` string of im.v1.message.create (what the size is measured on)."""
    return json.dumps(card, ensure_ascii=False, separators=(",", ":"))


def request_size(card: Card) -> int:
    """Bytes of the whole message-create request body carrying `card`, with worst-case ids."""
    body = {
        "receive_id": _RECEIVE_ID_WORST,
        "msg_type": "interactive",
        "content": card_content(card),
        "uuid": _UUID_WORST,
    }
    return len(json.dumps(body, ensure_ascii=False).encode("utf-8"))


def element_size(element: Element) -> int:
    """Bytes `element` adds to the request body (serialised twice, as it is sent)."""
    inner = json.dumps(element, ensure_ascii=False, separators=(",", ":"))
    return len(json.dumps(inner, ensure_ascii=False).encode("utf-8")) - 2


def count_tags(value: Any) -> int:
    """Objects with a `tag` (components and text elements): what the 200-element limit counts."""
    if isinstance(value, dict):
        return int("tag" in value) + sum(count_tags(child) for child in value.values())
    if isinstance(value, list):
        return sum(count_tags(child) for child in value)
    return 0


def plain_text(text: str) -> dict[str, str]:
    """A plain_text element; untrusted text is never parsed there, but `<` is broken anyway."""
    safe = escape_plain(text)
    return {"tag": "plain_text", "content": clip(safe, FEISHU_HEADER_TEXT_BUDGET) or "-"}


def markdown(content: str, *, notation: bool = False) -> Element:
    element: Element = {"tag": "markdown", "content": content}
    if notation:
        element["text_size"] = "notation"
    return element


def md_link(url: str | None, text: str) -> str:
    """`[text](url)` for one of our own URLs (text is a SHA or "#123"), else the text."""
    return f"[{text}]({url})" if url else escape_feishu(text)


def commit_ref(view: CommitView) -> str:
    """`🔴 [sha](url) [#PR](url)`: a commit's links without its title."""
    pr = f" {md_link(view.pr_url, f'#{view.pr_number}')}" if view.pr_url else ""
    return f"{SEVERITY_EMOJI[view.importance]} {md_link(view.commit_url, view.short_sha)}{pr}"


def commit_head(view: CommitView, scale: float) -> str:
    title = fit(view.title, scaled(200, scale, 60), escape_feishu)
    pr = f" {md_link(view.pr_url, f'#{view.pr_number}')}" if view.pr_url else ""
    bold = f" **{title}**" if title else ""
    return f"{SEVERITY_EMOJI[view.importance]} {md_link(view.commit_url, view.short_sha)}{bold}{pr}"


def commit_meta(view: CommitView) -> str:
    """`type · author · files · alerted 10:42`, escaped."""
    parts = [view.change_type, clip(view.author, 80), view.files_line, view.alerted]
    return escape_feishu(" · ".join(part for part in parts if part))


def _entries(entries: Sequence[str], limit: int, labels: Labels, numbered: bool) -> list[str]:
    lines = []
    for number, entry in enumerate(entries, start=1):
        bullet = f"{number}. " if numbered else "- "
        area, rest = split_area(entry)
        if area is None:
            lines.append(bullet + fit(entry, limit, escape_feishu).replace("\n", "\n   "))
        else:
            advice = fit(rest, limit, escape_feishu).replace("\n", "\n   ")
            lines.append(f"{bullet}**{fit(area, 40, escape_feishu)}**{labels.colon}{advice}")
    return lines


def details_markdown(
    details: CommitDetails, labels: Labels, card: CardLabels, scale: float
) -> tuple[str, bool]:
    """Scope, insights, risks and recommendations as one markdown text; True if anything was cut."""
    blocks: list[str] = []
    cut = scale < 1.0
    if details.scope:
        shown, more = clip_list(details.scope, scaled(12, scale, 3))
        lines = [f"**🎯 {escape_feishu(labels.field_scope)}**"]
        lines += _entries(shown, scaled(300, scale, 80), labels, numbered=False)
        if more:
            lines.append(escape_feishu(card.more_items.format(count=more)))
        blocks.append("\n".join(lines))
        cut = cut or more > 0
    if details.insights:
        lines = [f"**{escape_feishu(labels.insights_heading)}**"]
        for dimension, text in details.insights:
            lines.append(f"**{escape_feishu(dimension)}**")
            lines.append(fit(text, scaled(1500, scale, 150), escape_feishu))
        blocks.append("\n".join(lines))
    for title, entries in (
        (labels.risks_heading, details.risks),
        (labels.recommendations_heading, details.recommendations),
    ):
        if entries:
            shown, more = clip_list(entries, scaled(10, scale, 3))
            lines = [f"**{escape_feishu(title)}**"]
            lines += _entries(shown, scaled(600, scale, 120), labels, numbered=True)
            if more:
                lines.append(escape_feishu(card.more_items.format(count=more)))
            blocks.append("\n".join(lines))
            cut = cut or more > 0
    if details.closing:
        blocks.append(fit(details.closing, scaled(1500, scale, 150), escape_feishu))
    if not blocks:
        blocks.append(escape_feishu(card.no_details))
    return "\n\n".join(blocks), cut


def details_button(view: CommitView, label: str) -> Element:
    value: dict[str, str] = {"action": DETAILS_ACTION, "sha": view.sha}
    if len(view.repo) <= 200:
        value["repo"] = view.repo
    return {
        "tag": "button",
        "text": {"tag": "plain_text", "content": clip(label, FEISHU_BUTTON_TEXT_MAX)},
        "type": "default",
        "size": "small",
        "behaviors": [{"type": "callback", "value": value}],
    }


def panel(title: str, elements: list[Element]) -> Element:
    return {
        "tag": "collapsible_panel",
        "expanded": False,
        "header": {"title": {"tag": "markdown", "content": title}},
        "elements": elements,
    }


def _commit_elements(plan: CardPlan, view: CommitView, scale: float) -> list[Element]:
    lines = [commit_head(view, scale), commit_meta(view)]
    if view.summary:
        lines.append(fit(view.summary, scaled(700, scale, 120), escape_feishu))
    if view.notes:
        lines.append("⚠️ " + escape_feishu(plan.labels.list_separator.join(view.notes)))
    details, cut = details_markdown(details_of(view, plan.language), plan.labels, plan.card, scale)
    inner = [markdown(details)]
    if cut:
        inner.append(markdown(escape_feishu(plan.card.truncated), notation=True))
    if view.actionable:
        inner.append(details_button(view, plan.labels.details_button))
    return [markdown("\n".join(lines)), panel(escape_feishu(plan.card.details_panel), inner)]


def _folded_lines(unit: Unit) -> list[str]:
    """The unit's commits as short lines: "- sha title", or only SHAs, several per line."""
    fold = unit.fold
    shas = [
        md_link(view.commit_url if fold.links else None, view.short_sha) for view in unit.commits
    ]
    if not fold.title:
        return [" · ".join(shas)]
    return [
        f"- {sha} {fit(view.title, fold.title, escape_feishu)}".rstrip()
        for sha, view in zip(shas, unit.commits, strict=True)
    ]


def _low_line(view: CommitView, scale: float) -> str:
    title = fit(view.title, scaled(120, scale, 50), escape_feishu)
    pr = f" {md_link(view.pr_url, f'#{view.pr_number}')}" if view.pr_url else ""
    line = f"- {md_link(view.commit_url, view.short_sha)} {title}{pr}"
    line += " · " + escape_feishu(f"{clip(view.author, 40)} · {view.change_type}")
    if view.alerted:
        line += " · " + escape_feishu(view.alerted)
    if view.summary and scale >= 0.5:
        line += " — " + fit(one_line(view.summary), scaled(200, scale), escape_feishu)
    return line


@dataclass(frozen=True)
class _Rendered:
    elements: tuple[Element, ...]
    size: int
    tags: int


def _rendered(elements: list[Element]) -> _Rendered:
    size = sum(element_size(element) + 1 for element in elements)
    return _Rendered(tuple(elements), size, count_tags(elements))


def _render_unit(plan: CardPlan, unit: Unit, scale: float) -> _Rendered:
    """The unit at the largest scale ≤ `scale` that stays within UNIT_BUDGET_BYTES."""
    rendered = _build_unit(plan, unit, scale)
    for smaller in (s for s in SCALES if s < scale):
        if rendered.size <= UNIT_BUDGET_BYTES:
            break
        rendered = _build_unit(plan, unit, smaller)
    return rendered


def _build_unit(plan: CardPlan, unit: Unit, scale: float) -> _Rendered:
    elements: list[Element] = []
    if unit.first:
        elements.append(markdown(f"**{escape_feishu(unit.section.heading)}**"))
    if unit.compact:
        if unit.style == "folded":
            lines = "\n".join(_folded_lines(unit))
        else:
            lines = "\n".join(_low_line(view, scale) for view in unit.commits)
        if plan.long_day:
            importance = plan.labels.importance[unit.section.importance]
            label = plan.card.fold_panel.format(count=len(unit.commits), importance=importance)
            elements.append(panel(escape_feishu(label), [markdown(lines)]))
        else:
            elements.append(markdown(lines))
    else:
        elements += _commit_elements(plan, unit.commits[0], scale)
    if unit.hinted:
        elements.append(markdown(escape_feishu(plan.details_hint), notation=True))
    return _rendered(elements)


def _card(plan: CardPlan, subtitle: str, elements: list[Element]) -> Card:
    return {
        "schema": "2.0",
        "config": {
            "update_multi": True,
            "width_mode": "fill",
            "summary": {"content": clip(one_line(f"{plan.title} {plan.stats_line}"), 100)},
        },
        "header": {
            "title": plain_text(plan.title),
            "subtitle": plain_text(subtitle),
            "template": TEMPLATES[plan.top] if plan.top else "grey",
        },
        "body": {"elements": elements},
    }


def _head(plan: CardPlan) -> list[Element]:
    stats = escape_feishu(plan.stats_line)
    if plan.report_url:
        stats += " · " + md_link(plan.report_url, escape_feishu(plan.card.full_report))
    elements = [markdown(stats)]
    if plan.overview:
        heading = f"**{escape_feishu(plan.labels.overview_heading)}**\n"
        elements.append(markdown(heading + fit(plan.overview, 2000, escape_feishu)))
    if plan.empty:
        elements.append(markdown(escape_feishu(plan.labels.no_commits)))
    return elements


def _tail(plan: CardPlan, low_moved: int) -> list[Element]:
    notes = [clip(note, 300) for note in plan.notes]
    if low_moved:
        notes.append(plan.card.low_in_thread.format(count=low_moved))
    notes.append(plan.footer)
    return [markdown(escape_feishu("\n".join(notes)), notation=True)]


def _note(plan: CardPlan, commits: Sequence[CommitView]) -> Element:
    return markdown(fit(plan.omitted_note(commits), OMITTED_NOTE_MAX, escape_feishu), notation=True)


def _subtitle(plan: CardPlan, index: int, count: int) -> str:
    if count == 1:
        return plan.repo
    return f"{plan.repo} · {plan.labels.part.format(index=index + 1, count=count)}"


def render_feishu(digest: Digest) -> list[Card]:
    """The digest as Feishu card JSON 2.0 objects, one message each ("part x/y" when several)."""
    plan = plan_card(digest)
    head = _head(plan)
    # Worst cases reserved: the longest subtitle, the first card's head and tail, the note.
    note = _note(plan, [view for s in plan.sections for view in s.commits])
    empty = _card(plan, _subtitle(plan, 98, 99), [])
    reserved = {0: _rendered([*head, *_tail(plan, 10**6), note]), 1: _rendered([note])}
    base = {key: request_size(empty) + reserved[key].size for key in (0, 1)}
    base_tags = {key: count_tags(empty) + reserved[key].tags for key in (0, 1)}

    def fits(index: int, rendered: Sequence[_Rendered]) -> bool:
        key = 0 if index == 0 else 1
        size = base[key] + sum(r.size for r in rendered)
        tags = base_tags[key] + sum(r.tags for r in rendered)
        return size <= FEISHU_CARD_BUDGET_BYTES and tags <= FEISHU_CARD_ELEMENTS_BUDGET

    packed = pack_folded(
        plan,
        lambda unit, scale: _render_unit(plan, unit, scale),
        fits,
        max_messages=FEISHU_CARDS_MAX,
        lines_chunk=LOW_CHUNK,
        fold_chunk=FOLD_CHUNK,
    )
    low_moved = sum(
        len(unit.commits)
        for message in packed.messages[1:]
        for unit, _ in message
        if unit.section.importance is Importance.LOW
    )
    count = len(packed.messages)
    cards: list[Card] = []
    for index, message in enumerate(packed.messages):
        elements = list(head) if index == 0 else []
        for _, rendered in message:
            elements.extend(rendered.elements)
        if index == 0:
            elements += _tail(plan, low_moved)
        if index == count - 1 and packed.leftover:
            elements.append(_note(plan, leftover_commits(packed.leftover)))
        cards.append(_card(plan, _subtitle(plan, index, count), elements))
    return cards
