"""Digest -> Discord messages (REST payloads): embeds coloured by severity, Details buttons.

The first message has a head embed (title linked to the repository, counts, overview, notes
in the footer); then one embed per severity with a field per high/medium commit (short SHA and
PR linked, type, author, summary, notes) and the low commits as compact description lines,
folded into short "sha title" lines when a big digest needs it (formatters.card_packing).
Each high/medium commit gets a button whose custom_id is "dg:details:<repo>:<sha12>"; commits
listed as lines come with the hint to mention the bot (`@bot details <sha>`), since a plain
reply does not reach it. A message holds at most 10 embeds, 6000 embed characters, 25 fields
per embed and 5 × 5 buttons; the rest continues in further messages, and what even the
tightest fold cannot list is counted in the last one, with how to see it.
Every payload carries `allowed_mentions: {"parse": []}`; all text is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.models import Digest, Importance
from formatters.card_packing import Unit, leftover_commits, pack_folded
from formatters.card_sections import (
    CardPlan,
    CommitView,
    Section,
    plan_card,
    scaled,
)
from formatters.labels import SEVERITY_EMOJI
from formatters.limits import (
    DISCORD_BUTTON_LABEL_MAX,
    DISCORD_BUTTONS_PER_ROW_MAX,
    DISCORD_CONTENT_MAX,
    DISCORD_CUSTOM_ID_MAX,
    DISCORD_EMBED_DESCRIPTION_MAX,
    DISCORD_EMBED_FIELDS_MAX,
    DISCORD_EMBED_TITLE_MAX,
    DISCORD_EMBEDS_PER_MESSAGE_MAX,
    DISCORD_EMBEDS_TOTAL_MAX,
    DISCORD_FIELD_NAME_MAX,
    DISCORD_FIELD_VALUE_MAX,
    DISCORD_FOOTER_TEXT_MAX,
    DISCORD_MESSAGES_MAX,
)
from formatters.text_safety import (
    clip,
    escape_discord,
    escape_plain,
    fit,
    one_line,
    text_length,
)

DiscordMessage = dict[str, Any]
Embed = dict[str, Any]

CUSTOM_ID_PREFIX = "dg:details:"
COLOURS = {Importance.HIGH: 0xE74C3C, Importance.MEDIUM: 0xF39C12, Importance.LOW: 0x2ECC71}
NEUTRAL = 0x95A5A6
LOW_CHUNK = 6
FOLD_CHUNK = 15  # folded "sha title" lines per piece: about 200 characters each
# Room a piece of lines leaves in an embed description for the section's other pieces.
LINES_MAX = DISCORD_EMBED_DESCRIPTION_MAX - 200
MAX_BUTTONS = 25  # DISCORD_ACTION_ROWS_MAX × DISCORD_BUTTONS_PER_ROW_MAX
NO_MENTIONS: dict[str, list[str]] = {"parse": []}
FOOTER_TAG_MAX = 40
OMITTED_NOTE_MAX = 600  # the count, the breakdown and the repository and days to ask for


def details_custom_id(repo: str, sha: str) -> str:
    """ "dg:details:<repo>:<sha12>", or "dg:details::<sha12>" when the repo would not fit."""
    custom_id = f"{CUSTOM_ID_PREFIX}{one_line(repo)}:{sha[:12]}"
    return (
        custom_id if len(custom_id) <= DISCORD_CUSTOM_ID_MAX else f"{CUSTOM_ID_PREFIX}:{sha[:12]}"
    )


def parse_details_custom_id(custom_id: str) -> tuple[str, str] | None:
    """(repo, sha12) from a Details button's custom_id (repo "" when left out), else None."""
    if not custom_id.startswith(CUSTOM_ID_PREFIX):
        return None
    repo, _, sha = custom_id[len(CUSTOM_ID_PREFIX) :].rpartition(":")
    return repo, sha


def md_link(url: str | None, text: str) -> str:
    """`[text](url)` for one of our own URLs (text is a SHA or "#123"), else the text."""
    return f"[{text}]({url})" if url else escape_discord(text)


def embed_size(embed: Embed) -> int:
    """Characters counted towards the 6000 limit: title, description, fields, footer, author."""
    size = text_length(embed.get("title", "")) + text_length(embed.get("description", ""))
    size += sum(text_length(f["name"]) + text_length(f["value"]) for f in embed.get("fields", []))
    size += text_length(embed.get("footer", {}).get("text", ""))
    return size + text_length(embed.get("author", {}).get("name", ""))


def button(view: CommitView, label: str) -> dict[str, Any]:
    return {
        "type": 2,
        "style": 2,
        "label": clip(escape_plain(f"{label} {view.short_sha}"), DISCORD_BUTTON_LABEL_MAX),
        "custom_id": details_custom_id(view.repo, view.sha),
    }


def action_rows(buttons: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    size = DISCORD_BUTTONS_PER_ROW_MAX
    return [
        {"type": 1, "components": list(buttons[i : i + size])} for i in range(0, len(buttons), size)
    ]


def commit_meta(view: CommitView) -> str:
    """ "type · author · files · alerted 10:42", escaped."""
    parts = [escape_discord(view.change_type), fit(view.author, 80, escape_discord)]
    parts.append(escape_discord(view.files_line))
    if view.alerted:
        parts.append(escape_discord(view.alerted))
    return " · ".join(parts)


def commit_line(view: CommitView) -> str:
    """ "[`sha`](url) · [#123](url) · type · author · files": our links, escaped text."""
    parts = [md_link(view.commit_url, f"`{view.short_sha}`")]
    if view.pr_url:
        parts.append(md_link(view.pr_url, f"#{view.pr_number}"))
    return " · ".join([*parts, commit_meta(view)])


def commit_head(view: CommitView, scale: float) -> str:
    """ "🔴 [`sha`](url) **title** ([#123](url))": a commit's first line, escaped, our links."""
    title = fit(view.title, scaled(200, scale, 60), escape_discord)
    pr = f" ({md_link(view.pr_url, f'#{view.pr_number}')})" if view.pr_url else ""
    bold = f" **{title}**" if title else ""
    sha = md_link(view.commit_url, f"`{view.short_sha}`")
    return f"{SEVERITY_EMOJI[view.importance]} {sha}{bold}{pr}"


@dataclass(frozen=True)
class _Piece:
    section: Section
    field: dict[str, Any] | None = None  # an expanded commit
    lines: str = ""  # compact low lines (and the section's "N more" note)
    buttons: tuple[dict[str, Any], ...] = ()


def _folded_lines(unit: Unit, links: bool, title: int) -> list[str]:
    """The unit's commits as short lines: "• sha title", or only SHAs, several per line."""
    shas = [
        md_link(view.commit_url if links else None, f"`{view.short_sha}`") for view in unit.commits
    ]
    if not title:
        return [" · ".join(shas[i : i + 10]) for i in range(0, len(shas), 10)]
    return [
        f"• {sha} {fit(view.title, title, escape_discord)}".rstrip()
        for sha, view in zip(shas, unit.commits, strict=True)
    ]


def _render_unit(plan: CardPlan, unit: Unit, scale: float) -> _Piece:
    if unit.compact:
        hint = [escape_discord(plan.details_hint)] if unit.hinted else []
        if unit.style == "folded":
            candidates = [_folded_lines(unit, unit.fold.links, unit.fold.title)]
        else:
            candidates = [
                [_low_line(view, min(scale, step)) for view in unit.commits]
                for step in (scale, 0.25, 0.0)
            ]
        # Last resort, when a long repository address makes linked lines too long: no links
        # (folded lines without links always fit: FOLD_CHUNK × at most 60 characters).
        candidates.append(_folded_lines(unit, links=False, title=min(unit.fold.title, 40)))
        text = ""
        for lines in candidates:
            text = "\n".join(lines + hint)
            if text_length(text) <= LINES_MAX:
                break
        return _Piece(unit.section, lines=text)
    view = unit.commits[0]
    name = fit(
        f"{SEVERITY_EMOJI[view.importance]} {view.title or view.short_sha}",
        scaled(DISCORD_FIELD_NAME_MAX, scale, 80),
        escape_discord,
    )
    value = [commit_line(view)]
    if view.summary:
        value.append(fit(view.summary, scaled(600, scale, 100), escape_discord))
    if view.notes:
        value.append("⚠️ " + fit(plan.labels.list_separator.join(view.notes), 200, escape_discord))
    buttons: tuple[dict[str, Any], ...] = ()
    if view.importance is not Importance.LOW and view.actionable:
        buttons = (button(view, plan.labels.details_button),)
    text = clip("\n".join(value), DISCORD_FIELD_VALUE_MAX)
    return _Piece(unit.section, {"name": name or "-", "value": text, "inline": False}, "", buttons)


def _low_line(view: CommitView, scale: float) -> str:
    title = fit(view.title, scaled(120, scale, 50), escape_discord)
    pr = f" ({md_link(view.pr_url, f'#{view.pr_number}')})" if view.pr_url else ""
    line = f"• {md_link(view.commit_url, f'`{view.short_sha}`')} {title}{pr}"
    line += " · " + escape_discord(f"{clip(view.author, 40)} · {view.change_type}")
    if view.alerted:
        line += " · " + escape_discord(view.alerted)
    if view.summary and scale >= 0.5:
        line += " — " + fit(one_line(view.summary), scaled(160, scale), escape_discord)
    return line


@dataclass
class _Assembly:
    embeds: list[Embed] = field(default_factory=list)
    buttons: list[dict[str, Any]] = field(default_factory=list)


def _assemble(plan: CardPlan, pieces: Sequence[_Piece], continued: set[str]) -> _Assembly:
    """Pieces as severity embeds: a new embed per section, when fields or description fill up."""
    out = _Assembly()
    current: Embed | None = None
    current_section: Section | None = None
    for piece in pieces:
        heading = piece.section.heading
        full = current is not None and (
            len(current.get("fields", [])) >= DISCORD_EMBED_FIELDS_MAX
            or text_length(current.get("description", "")) + text_length(piece.lines) + 1
            > DISCORD_EMBED_DESCRIPTION_MAX
        )
        if current is None or piece.section is not current_section or full:
            title = heading + (plan.card.continued if heading in continued else "")
            current = {
                "title": clip(escape_discord(title), DISCORD_EMBED_TITLE_MAX),
                "color": COLOURS[piece.section.importance],
            }
            out.embeds.append(current)
            current_section = piece.section
            continued.add(heading)
        if piece.field is not None:
            current.setdefault("fields", []).append(piece.field)
        if piece.lines:
            description = current.get("description", "")
            current["description"] = f"{description}\n{piece.lines}" if description else piece.lines
        out.buttons.extend(piece.buttons)
    return out


def _head(plan: CardPlan) -> Embed:
    repo = escape_discord(plan.repo_label)
    lines = [f"[{repo}]({plan.links.base})" if plan.links.base else repo]
    stats = escape_discord(plan.stats_line)
    if plan.report_url:
        stats += " · " + md_link(plan.report_url, escape_discord(plan.card.full_report))
    lines.append(stats)
    if plan.overview:
        lines.append(f"**{escape_discord(plan.labels.overview_heading)}**")
        lines.append(fit(plan.overview, 1500, escape_discord))
    if plan.empty:
        lines.append(escape_discord(plan.labels.no_commits))
    embed: Embed = {
        "title": clip(escape_discord(plan.title), DISCORD_EMBED_TITLE_MAX),
        "description": "\n".join(lines),
        "color": COLOURS[plan.top] if plan.top else NEUTRAL,
    }
    if plan.links.base:
        embed["url"] = plan.links.base
    return embed


def _footer(plan: CardPlan, low_moved: int, tag: str | None = None) -> dict[str, str]:
    notes = [clip(note, 300) for note in plan.notes]
    if low_moved:
        notes.append(plan.card.low_in_thread.format(count=low_moved))
    notes.append(plan.footer)
    return tagged_footer(" · ".join(notes), tag)


def tagged_footer(text: str, tag: str | None = None) -> dict[str, str]:
    """An embed footer: `text`, then ` · tag` (a delivery's tag, see render_discord).

    Footers are plain text (backslash escapes would show), so only mentions are broken. The
    tag is never cut: the text gives way to it."""
    if not tag:
        return {"text": clip(escape_plain(text), DISCORD_FOOTER_TEXT_MAX)}
    own = escape_plain(clip(one_line(tag), FOOTER_TAG_MAX))
    if not text:
        return {"text": own}
    suffix = " · " + own
    room = DISCORD_FOOTER_TEXT_MAX - text_length(suffix)
    return {"text": clip(escape_plain(text), room) + suffix}


def _note(plan: CardPlan, commits: Sequence[CommitView]) -> Embed:
    text = fit(plan.omitted_note(commits), OMITTED_NOTE_MAX, escape_discord)
    return {"description": text, "color": NEUTRAL}


def _content(plan: CardPlan, index: int, count: int) -> str:
    if index == 0:
        text = f"**{escape_discord(plan.title)}** · {escape_discord(plan.repo)}"
    else:
        part = plan.labels.part.format(index=index + 1, count=count)
        text = escape_discord(f"{plan.title}{plan.card.continued} · {plan.repo} · {part}")
    return clip(text, DISCORD_CONTENT_MAX)


def render_discord(digest: Digest, *, footer_tag: str | None = None) -> list[DiscordMessage]:
    """The digest as Discord create-message payloads, in posting order.

    `footer_tag` (≤ FOOTER_TAG_MAX plain characters) ends the first message's footer: the
    Discord adapter puts a scheduled post's delivery key there, so a restarted scheduler can
    find the post again by reading the channel."""
    plan = plan_card(digest, details_by_mention=True)
    head = _head(plan)
    head_size = embed_size({**head, "footer": _footer(plan, 10**6, footer_tag)})
    note_size = embed_size(_note(plan, [view for s in plan.sections for view in s.commits]))
    headings = {section.heading for section in plan.sections}

    def fits(index: int, pieces: Sequence[_Piece]) -> bool:
        # Sized as if every embed title said "(continued)": the worst case.
        assembly = _assemble(plan, pieces, set(headings))
        reserved_embeds = 2 if index == 0 else 1
        size = sum(embed_size(embed) for embed in assembly.embeds) + note_size
        size += head_size if index == 0 else 0
        return (
            len(assembly.embeds) + reserved_embeds <= DISCORD_EMBEDS_PER_MESSAGE_MAX
            and size <= DISCORD_EMBEDS_TOTAL_MAX
            and len(assembly.buttons) <= MAX_BUTTONS
        )

    def render(unit: Unit, scale: float) -> _Piece:
        return _render_unit(plan, unit, scale)

    packed = pack_folded(
        plan,
        render,
        fits,
        max_messages=DISCORD_MESSAGES_MAX,
        lines_chunk=LOW_CHUNK,
        fold_chunk=FOLD_CHUNK,
    )
    low_moved = sum(
        len(u.commits)
        for message in packed.messages[1:]
        for u, _ in message
        if u.section.importance is Importance.LOW
    )
    count = len(packed.messages)
    messages: list[DiscordMessage] = []
    shown: set[str] = set()
    for index, message in enumerate(packed.messages):
        assembly = _assemble(plan, [piece for _, piece in message], shown)
        embeds = (
            [{**head, "footer": _footer(plan, low_moved, footer_tag)}] if index == 0 else []
        ) + assembly.embeds
        if index == count - 1 and packed.leftover:
            embeds.append(_note(plan, leftover_commits(packed.leftover)))
        messages.append(
            {
                "content": _content(plan, index, count),
                "embeds": embeds,
                "components": action_rows(assembly.buttons),
                "allowed_mentions": dict(NO_MENTIONS),
            }
        )
    return messages
