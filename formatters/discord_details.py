"""One commit's full analysis as one Discord message (what the Details button or a reply shows).

Embeds: the commit (title linked to the commit, facts, notes, summary), its impact scope,
the insight dimensions as fields, the risks and the recommendations. Text shrinks until the
message fits 6000 embed characters, and the footer says when something was cut.
"""

from __future__ import annotations

from bot.models import DigestItem, Language
from formatters.card_sections import (
    SCALES,
    CommitDetails,
    clip_list,
    commit_details,
    scaled,
)
from formatters.discord_embeds import (
    COLOURS,
    NO_MENTIONS,
    DiscordMessage,
    Embed,
    commit_line,
    embed_size,
)
from formatters.labels import SEVERITY_EMOJI, card_labels_for, labels_for
from formatters.limits import (
    DISCORD_EMBED_DESCRIPTION_MAX,
    DISCORD_EMBED_TITLE_MAX,
    DISCORD_EMBEDS_TOTAL_MAX,
    DISCORD_FIELD_NAME_MAX,
    DISCORD_FIELD_VALUE_MAX,
)
from formatters.text_safety import clip, escape_discord, escape_plain, fit, split_area


def _listed(entries: tuple[str, ...], limit: int, colon: str, numbered: bool) -> list[str]:
    lines = []
    for number, entry in enumerate(entries, start=1):
        bullet = f"{number}. " if numbered else "• "
        area, rest = split_area(entry)
        if area is None:
            lines.append(bullet + fit(entry, limit, escape_discord))
        else:
            advice = fit(rest, limit, escape_discord)
            lines.append(f"{bullet}**{fit(area, 40, escape_discord)}**{colon}{advice}")
    return lines


def _embeds(details: CommitDetails, language: Language, scale: float) -> list[Embed]:
    labels, card = labels_for(language), card_labels_for(language)
    view = details.view
    colour = COLOURS[view.importance]
    importance = f"{SEVERITY_EMOJI[view.importance]} {labels.importance[view.importance]}"
    lines = [
        commit_line(view),
        f"**{escape_discord(labels.field_importance)}**{labels.colon}{escape_discord(importance)}",
    ]
    if view.notes:
        lines.append("⚠️ " + fit(labels.list_separator.join(view.notes), 300, escape_discord))
    if view.summary:
        lines.append(f"**📋 {escape_discord(labels.field_summary)}**")
        lines.append(fit(view.summary, scaled(2000, scale, 200), escape_discord))
    main: Embed = {
        "title": fit(view.title or view.short_sha, DISCORD_EMBED_TITLE_MAX, escape_discord),
        "description": clip("\n".join(lines), DISCORD_EMBED_DESCRIPTION_MAX),
        "color": colour,
    }
    if view.commit_url:
        main["url"] = view.commit_url
    embeds = [main]
    cut = scale < 1.0
    if details.scope:
        shown, more = clip_list(details.scope, scaled(12, scale, 3))
        scope = _listed(shown, scaled(300, scale, 80), labels.colon, numbered=False)
        if more:
            scope.append(escape_discord(card.more_items.format(count=more)))
        title = clip(escape_discord(labels.field_scope), DISCORD_EMBED_TITLE_MAX)
        description = clip("\n".join(scope), DISCORD_EMBED_DESCRIPTION_MAX)
        embeds.append({"title": f"🎯 {title}", "description": description, "color": colour})
        cut = cut or more > 0
    if details.insights:
        fields = [
            {
                "name": clip(escape_discord(dimension), DISCORD_FIELD_NAME_MAX),
                "value": fit(
                    text, min(DISCORD_FIELD_VALUE_MAX, scaled(1024, scale, 150)), escape_discord
                ),
                "inline": False,
            }
            for dimension, text in details.insights
        ]
        title = escape_discord(labels.insights_heading)
        embeds.append({"title": title, "fields": fields, "color": colour})
    for heading, entries in (
        (labels.risks_heading, details.risks),
        (labels.recommendations_heading, details.recommendations),
    ):
        if entries:
            shown, more = clip_list(entries, scaled(10, scale, 3))
            listed = _listed(shown, scaled(600, scale, 120), labels.colon, numbered=True)
            if more:
                listed.append(escape_discord(card.more_items.format(count=more)))
            description = clip("\n".join(listed), DISCORD_EMBED_DESCRIPTION_MAX)
            embeds.append(
                {"title": escape_discord(heading), "description": description, "color": colour}
            )
            cut = cut or more > 0
    if details.closing:
        closing = fit(details.closing, scaled(1500, scale, 150), escape_discord)
        embeds.append(
            {"description": clip(closing, DISCORD_EMBED_DESCRIPTION_MAX), "color": colour}
        )
    if details.empty and not view.summary:
        embeds.append({"description": escape_discord(card.no_details), "color": colour})
    if cut:
        embeds[-1]["footer"] = {"text": escape_plain(card.truncated)}
    return embeds


def render_discord_details(
    item: DigestItem, repo_url: str, language: Language, *, tz: str | None = None
) -> DiscordMessage:
    """One create-message payload with everything the reference report shows for a commit
    (`tz`: the channel's zone for the time an alert announced the commit, if one did)."""
    details = commit_details(item, repo_url, language, tz)
    embeds: list[Embed] = []
    for scale in SCALES:
        embeds = _embeds(details, language, scale)
        if sum(embed_size(embed) for embed in embeds) <= DISCORD_EMBEDS_TOTAL_MAX:
            break
    return {
        "content": None,
        "embeds": embeds,
        "components": [],
        "allowed_mentions": dict(NO_MENTIONS),
    }
