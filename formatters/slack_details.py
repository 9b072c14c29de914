"""One commit's full analysis for Slack: a thread reply (chat.postMessage) or a modal (views.open).

Shows what the reference report shows for a high commit: type, importance, summary, impact
scope, the six insight dimensions, risks and recommendations, plus provenance notes. Long
content shrinks until the payload fits (thread: 50 blocks and 10,000 characters; modal: 100
blocks and 20,000), and a note says when something was cut.
"""

from __future__ import annotations

from typing import Literal

from bot.models import DigestItem, Language
from formatters.card_sections import (
    SCALES,
    CommitDetails,
    clip_list,
    commit_details,
    scaled,
)
from formatters.labels import SEVERITY_EMOJI, card_labels_for, labels_for
from formatters.limits import (
    SLACK_FALLBACK_TEXT_BUDGET,
    SLACK_MESSAGE_BLOCKS_MAX,
    SLACK_MESSAGE_TEXT_BUDGET,
    SLACK_MODAL_BLOCKS_MAX,
    SLACK_MODAL_CLOSE_MAX,
    SLACK_MODAL_TEXT_BUDGET,
    SLACK_MODAL_TITLE_MAX,
    SLACK_SECTION_TEXT_MAX,
)
from formatters.slack_blocks import (
    Block,
    SlackMessage,
    commit_ref,
    context,
    details_value,
    header,
    plain,
    section,
    text_sections,
    text_size,
)
from formatters.text_safety import clip, escape_plain, escape_slack, fit, split_area, text_length

Variant = Literal["thread", "modal"]


def _entry(text: str, limit: int, bullet: str, colon: str) -> str:
    area, rest = split_area(text)
    if area is None:
        return f"{bullet}{fit(text, limit, escape_slack)}"
    return f"{bullet}*{fit(area, 40, escape_slack)}*{colon}{fit(rest, limit, escape_slack)}"


def _blocks(details: CommitDetails, language: Language, scale: float) -> list[Block]:
    labels, card = labels_for(language), card_labels_for(language)
    view = details.view
    cut = scale < 1.0
    importance = f"{SEVERITY_EMOJI[view.importance]} {labels.importance[view.importance]}"
    meta = " · ".join(
        [
            f"*{escape_slack(labels.field_type)}*: {escape_slack(view.change_type)}",
            f"*{escape_slack(labels.field_importance)}*: {escape_slack(importance)}",
            fit(view.author, 80, escape_slack),
            escape_slack(view.files_line),
            *([escape_slack(view.alerted)] if view.alerted else []),
        ]
    )
    blocks: list[Block] = [
        header(view.title or view.short_sha),
        section(f"{commit_ref(view)}\n{meta}"),
    ]
    if view.notes:
        notes = labels.list_separator.join(view.notes)
        blocks.append(context(["⚠️ " + fit(notes, 300, escape_slack)]))
    if view.summary:
        heading = f"*📋 {escape_slack(labels.field_summary)}*\n"
        room = min(scaled(2000, scale, 200), SLACK_SECTION_TEXT_MAX - text_length(heading))
        blocks.append(section(heading + fit(view.summary, room, escape_slack)))
    if details.scope:
        shown, more = clip_list(details.scope, scaled(12, scale, 3))
        lines = [f"• {fit(entry, scaled(300, scale, 80), escape_slack)}" for entry in shown]
        if more:
            lines.append(escape_slack(card.more_items.format(count=more)))
        blocks += text_sections([f"*🎯 {escape_slack(labels.field_scope)}*", *lines])
        cut = cut or more > 0
    if details.insights:
        blocks.append(section(f"*{escape_slack(labels.insights_heading)}*"))
        for dimension, text in details.insights:
            heading = f"*{escape_slack(dimension)}*\n"
            room = min(scaled(1500, scale, 150), SLACK_SECTION_TEXT_MAX - text_length(heading))
            blocks.append(section(heading + fit(text, room, escape_slack)))
    for title, entries in (
        (labels.risks_heading, details.risks),
        (labels.recommendations_heading, details.recommendations),
    ):
        if not entries:
            continue
        shown, more = clip_list(entries, scaled(10, scale, 3))
        lines = [
            _entry(entry, scaled(600, scale, 120), f"{number}. ", labels.colon)
            for number, entry in enumerate(shown, start=1)
        ]
        if more:
            lines.append(escape_slack(card.more_items.format(count=more)))
        blocks += text_sections([f"*{escape_slack(title)}*", *lines])
        cut = cut or more > 0
    if details.closing:
        blocks.append(section(fit(details.closing, scaled(1500, scale, 150), escape_slack)))
    if details.empty and not view.summary:
        blocks.append(section(escape_slack(card.no_details)))
    if cut:
        blocks.append(context([escape_slack(card.truncated)]))
    return blocks


def render_slack_details(
    item: DigestItem,
    repo_url: str,
    language: Language,
    variant: Variant = "thread",
    *,
    tz: str | None = None,
) -> SlackMessage:
    """One commit's analysis as chat.postMessage arguments, or a views.open `view` (modal);
    `tz` is the channel's zone for the time an alert announced the commit, if one did."""
    details = commit_details(item, repo_url, language, tz)
    modal = variant == "modal"
    max_blocks = SLACK_MODAL_BLOCKS_MAX if modal else SLACK_MESSAGE_BLOCKS_MAX
    budget = SLACK_MODAL_TEXT_BUDGET if modal else SLACK_MESSAGE_TEXT_BUDGET
    blocks: list[Block] = []
    for scale in SCALES:
        blocks = _blocks(details, language, scale)
        if len(blocks) <= max_blocks and text_size(blocks) <= budget:
            break
    card = card_labels_for(language)
    view = details.view
    if modal:
        # The short SHA is untrusted text when the source gave no valid SHA.
        title = escape_plain(card.commit_title.format(sha=view.short_sha))
        return {
            "type": "modal",
            "title": plain(clip(title, SLACK_MODAL_TITLE_MAX)),
            "close": plain(clip(card.close, SLACK_MODAL_CLOSE_MAX)),
            "private_metadata": details_value(view.repo, view.sha),
            "blocks": blocks,
        }
    fallback = f"{view.short_sha} {view.title}"
    return {
        "text": fit(fallback, SLACK_FALLBACK_TEXT_BUDGET, escape_slack),
        "blocks": blocks,
        "unfurl_links": False,
        "unfurl_media": False,
    }
