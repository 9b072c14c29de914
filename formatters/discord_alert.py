"""Alert -> one Discord message: the heading as content, one embed coloured by importance.

The embed is titled with the repository (linked to it) and lists the alerted commits
(formatters.alert_plan.commit_text in Discord markdown), "+N more" and how to ask for a
commit's full analysis (mention the bot: a plain reply does not reach it); its footer says
how many alerts were held back, and ends with `footer_tag` (a scheduled delivery's tag, as on
the digest). Each shown commit gets the digest's Details button (custom_id
"dg:details:<repo>:<sha12>"), in action rows. The message stays within Discord's embed limits
(4096-character description, 6000 characters in all) and carries `allowed_mentions:
{"parse": []}`.
"""

from __future__ import annotations

from bot.models import Alert
from formatters.alert_plan import AlertPlan, Markup, commit_text, fit_alert, plan_alert
from formatters.discord_embeds import (
    COLOURS,
    MAX_BUTTONS,
    NEUTRAL,
    NO_MENTIONS,
    DiscordMessage,
    Embed,
    action_rows,
    button,
    commit_head,
    commit_meta,
    embed_size,
    md_link,
    tagged_footer,
)
from formatters.limits import (
    DISCORD_CONTENT_MAX,
    DISCORD_EMBED_DESCRIPTION_MAX,
    DISCORD_EMBED_TITLE_MAX,
    DISCORD_EMBEDS_TOTAL_MAX,
)
from formatters.text_safety import clip, escape_discord, fit, text_length

MARKUP = Markup(escape=escape_discord, head=commit_head, meta=commit_meta)
NOTE_MAX = 300


def render_discord_alert(alert: Alert, *, footer_tag: str | None = None) -> DiscordMessage:
    """The alert as one create-message payload; `footer_tag` ends the embed's footer (the
    Discord adapter puts a scheduled post's delivery key there, as on a digest)."""
    plan, embed = fit_alert(
        plan_alert(alert, details_by_mention=True),
        lambda shown, scale: (shown, _embed(shown, scale, footer_tag)),
        lambda rendered: _fits(rendered[1]),
    )
    label = plan.card.labels.details_button
    buttons = [button(c.view, label) for c in plan.commits if c.view.actionable]
    return {
        "content": clip(escape_discord(plan.heading), DISCORD_CONTENT_MAX),
        "embeds": [embed],
        "components": action_rows(buttons[:MAX_BUTTONS]),
        "allowed_mentions": dict(NO_MENTIONS),
    }


def _embed(plan: AlertPlan, scale: float, tag: str | None) -> Embed:
    blocks = [commit_text(plan, commit, MARKUP, scale) for commit in plan.commits]
    notes = [fit(plan.more_line, NOTE_MAX, escape_discord)] if plan.more_line else []
    notes.append(escape_discord(plan.details_hint))
    if plan.card.report_url:
        notes.append(md_link(plan.card.report_url, escape_discord(plan.card.card.full_report)))
    embed: Embed = {
        "title": clip(escape_discord(plan.card.repo_label), DISCORD_EMBED_TITLE_MAX),
        "description": "\n\n".join([*blocks, "\n".join(notes)]),
        "color": COLOURS[plan.top] if plan.top else NEUTRAL,
    }
    if plan.card.links.base:
        embed["url"] = plan.card.links.base
    footer = tagged_footer(plan.held_note or "", tag)
    if footer["text"]:
        embed["footer"] = footer
    return embed


def _fits(embed: Embed) -> bool:
    return (
        text_length(embed["description"]) <= DISCORD_EMBED_DESCRIPTION_MAX
        and embed_size(embed) <= DISCORD_EMBEDS_TOTAL_MAX
    )
