"""One commit's full analysis as a Feishu/Lark card JSON 2.0 (what a details reply shows).

Header: the commit title, short SHA and repository, coloured by the commit's importance; body:
type, importance, author, links, provenance notes, summary, then scope, the insight
dimensions, risks and recommendations. Text shrinks until the request body fits the card
budget, and a note says when something was cut.
"""

from __future__ import annotations

from bot.models import DigestItem, Language
from formatters.card_sections import SCALES, commit_details, scaled
from formatters.feishu_card import (
    TEMPLATES,
    Card,
    Element,
    commit_meta,
    commit_ref,
    count_tags,
    details_markdown,
    markdown,
    plain_text,
    request_size,
)
from formatters.labels import SEVERITY_EMOJI, card_labels_for, labels_for
from formatters.limits import FEISHU_CARD_BUDGET_BYTES, FEISHU_CARD_ELEMENTS_BUDGET
from formatters.text_safety import escape_feishu, fit


def render_feishu_details(
    item: DigestItem, repo_url: str, language: Language, *, tz: str | None = None
) -> Card:
    """A card with everything the reference report shows for one commit (`tz`: the chat's
    zone for the time an alert announced the commit, if one did)."""
    labels, card_labels = labels_for(language), card_labels_for(language)
    details = commit_details(item, repo_url, language, tz)
    view = details.view
    importance = f"{SEVERITY_EMOJI[view.importance]} {labels.importance[view.importance]}"
    card: Card = {}
    for scale in SCALES:
        facts = (
            f"**{escape_feishu(labels.field_type)}**{labels.colon}{escape_feishu(view.change_type)}"
            f" · **{escape_feishu(labels.field_importance)}**{labels.colon}"
            f"{escape_feishu(importance)}"
        )
        head = f"{commit_ref(view)}\n{commit_meta(view)}\n{facts}"
        elements: list[Element] = [markdown(head)]
        if view.notes:
            notes = escape_feishu(labels.list_separator.join(view.notes))
            elements.append(markdown(f"⚠️ {notes}", notation=True))
        if view.summary:
            summary = fit(view.summary, scaled(2000, scale, 200), escape_feishu)
            elements.append(markdown(f"**📋 {escape_feishu(labels.field_summary)}**\n{summary}"))
        body, cut = details_markdown(details, labels, card_labels, scale)
        elements.append(markdown(body))
        if cut:
            elements.append(markdown(escape_feishu(card_labels.truncated), notation=True))
        card = {
            "schema": "2.0",
            "config": {
                "update_multi": True,
                "width_mode": "fill",
                "summary": {"content": plain_text(f"{view.short_sha} {view.title}")["content"]},
            },
            "header": {
                "title": plain_text(view.title or view.short_sha),
                "subtitle": plain_text(f"{view.short_sha} · {view.repo}"),
                "template": TEMPLATES[view.importance],
            },
            "body": {"elements": elements},
        }
        if (
            request_size(card) <= FEISHU_CARD_BUDGET_BYTES
            and count_tags(card) <= FEISHU_CARD_ELEMENTS_BUDGET
        ):
            break
    return card
