"""Alert -> one Slack message: a header, the alerted commits with Details buttons, its notes.

Each commit is a section (formatters.alert_plan.commit_text in mrkdwn) whose accessory is the
digest's Details button (action_id `digest_details`, value "repo|sha"), so the digest's button
handler answers it. A context block ends the message: "+N more", the alerts held back, and how
to ask for a commit's full analysis in the thread. The message stays within 50 blocks, 3000
characters per section and the digest's 10,000-character text budget; all text is escaped as
on the digest card.
"""

from __future__ import annotations

from bot.models import Alert
from formatters.alert_plan import AlertPlan, Markup, commit_text, fit_alert, plan_alert
from formatters.limits import (
    SLACK_FALLBACK_TEXT_BUDGET,
    SLACK_MESSAGE_BLOCKS_MAX,
    SLACK_MESSAGE_TEXT_BUDGET,
    SLACK_SECTION_TEXT_MAX,
)
from formatters.slack_blocks import (
    NOTE_MAX,
    Block,
    SlackMessage,
    commit_head,
    commit_meta,
    context,
    details_button,
    header,
    link,
    section,
    text_size,
)
from formatters.text_safety import escape_slack, fit, text_length

MARKUP = Markup(escape=escape_slack, head=commit_head, meta=commit_meta)


def render_slack_alert(alert: Alert) -> SlackMessage:
    """The alert as chat.postMessage arguments: one channel message."""
    plan = plan_alert(alert)
    return {
        "text": _fallback(plan),
        "blocks": fit_alert(plan, _blocks, _fits),
        "unfurl_links": False,
        "unfurl_media": False,
    }


def _blocks(plan: AlertPlan, scale: float) -> list[Block]:
    blocks = [header(plan.heading)]
    label = plan.card.labels.details_button
    for commit in plan.commits:
        view = commit.view
        button = details_button(view, label) if view.actionable else None
        blocks.append(section(commit_text(plan, commit, MARKUP, scale), button))
    notes = (plan.more_line, plan.held_note, plan.details_hint)
    texts = [fit(note, NOTE_MAX, escape_slack) for note in notes if note]
    if plan.card.report_url:
        texts.append(link(plan.card.report_url, escape_slack(plan.card.card.full_report)))
    blocks.append(context(texts))
    return blocks


def _fits(blocks: list[Block]) -> bool:
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    return (
        len(blocks) <= SLACK_MESSAGE_BLOCKS_MAX
        and text_size(blocks) <= SLACK_MESSAGE_TEXT_BUDGET
        and all(text_length(text) <= SLACK_SECTION_TEXT_MAX for text in sections)
    )


def _fallback(plan: AlertPlan) -> str:
    """The notification text: the heading and the first commit."""
    text = plan.heading
    if plan.commits:
        first = plan.commits[0].view
        text += f": {first.short_sha} {first.title}"
    return fit(text, SLACK_FALLBACK_TEXT_BUDGET, escape_slack)
