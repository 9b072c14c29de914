"""Alert -> one Feishu/Lark card JSON 2.0: a coloured header, the alerted commits, its notes.

The header says what landed (formatters.alert_plan's heading), the repository and the newest
commit's local time; its template is red for a high commit, orange for medium. Each commit is
a markdown element (alert_plan.commit_text) followed by the digest's Details button (callback
value {"action": "digest_details", "repo", "sha"}), so the digest's callback answers it. Small
notation text ends the card: "+N more", the alerts held back, and how to ask for a commit's
full analysis. The request body stays within FEISHU_CARD_BUDGET_BYTES and 180 tagged elements.
"""

from __future__ import annotations

from bot.models import Alert
from formatters.alert_plan import AlertPlan, Markup, commit_text, fit_alert, plan_alert
from formatters.feishu_card import (
    TEMPLATES,
    Card,
    Element,
    commit_head,
    commit_meta,
    count_tags,
    details_button,
    markdown,
    md_link,
    plain_text,
    request_size,
)
from formatters.limits import FEISHU_CARD_BUDGET_BYTES, FEISHU_CARD_ELEMENTS_BUDGET
from formatters.text_safety import clip, escape_feishu

MARKUP = Markup(escape=escape_feishu, head=commit_head, meta=commit_meta)
NOTE_MAX = 300


def render_feishu_alert(alert: Alert) -> Card:
    """The alert as one card (the `content` of an interactive message)."""
    return fit_alert(plan_alert(alert), _card, _fits)


def _card(plan: AlertPlan, scale: float) -> Card:
    elements: list[Element] = []
    label = plan.card.labels.details_button
    for commit in plan.commits:
        elements.append(markdown(commit_text(plan, commit, MARKUP, scale)))
        if commit.view.actionable:
            elements.append(details_button(commit.view, label))
    notes = [clip(note, NOTE_MAX) for note in (plan.more_line, plan.held_note) if note]
    notes.append(plan.details_hint)
    tail = escape_feishu("\n".join(notes))
    if plan.card.report_url:
        tail += "\n" + md_link(plan.card.report_url, escape_feishu(plan.card.card.full_report))
    elements.append(markdown(tail, notation=True))
    subtitle = " · ".join(part for part in (plan.card.repo_label, plan.landed) if part)
    return {
        "schema": "2.0",
        "config": {
            "update_multi": True,
            "width_mode": "fill",
            "summary": {"content": plain_text(plan.heading)["content"]},
        },
        "header": {
            "title": plain_text(plan.heading),
            "subtitle": plain_text(subtitle),
            "template": TEMPLATES[plan.top] if plan.top else "grey",
        },
        "body": {"elements": elements},
    }


def _fits(card: Card) -> bool:
    return (
        request_size(card) <= FEISHU_CARD_BUDGET_BYTES
        and count_tags(card) <= FEISHU_CARD_ELEMENTS_BUDGET
    )
