"""Digest -> Slack Block Kit messages: the channel message, then thread continuations.

Each message is a dict of chat.postMessage arguments ({"text", "blocks", "unfurl_links",
"unfurl_media"}); the first goes to the channel, the rest are posted with its `thread_ts`.
The channel message has a header, a context with the repository and the counts, the overview,
then one section per high/medium commit with a "Details" button (action_id `digest_details`,
value "repo|sha") and the low commits as compact lines (moved to the thread on long days), folded
into short "sha title" lines when a big digest needs it (formatters.card_packing). Every message
stays within 50 blocks, 3000 characters per section and 10,000 characters of text; what even
the tightest fold cannot list is counted in a closing note that says how to see it. All mrkdwn
is `verbatim` and every string is escaped by formatters.text_safety; the only links are the
repository's own pages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.models import Digest, Importance
from formatters.card_packing import Unit, leftover_commits, pack_folded
from formatters.card_sections import (
    CardPlan,
    CommitView,
    plan_card,
    scaled,
)
from formatters.labels import SEVERITY_EMOJI
from formatters.limits import (
    SLACK_BUTTON_TEXT_MAX,
    SLACK_BUTTON_VALUE_MAX,
    SLACK_FALLBACK_TEXT_BUDGET,
    SLACK_HEADER_TEXT_MAX,
    SLACK_MESSAGE_BLOCKS_MAX,
    SLACK_MESSAGE_TEXT_BUDGET,
    SLACK_MESSAGES_MAX,
    SLACK_SECTION_TEXT_MAX,
)
from formatters.text_safety import (
    clip,
    escape_plain,
    escape_slack,
    fit,
    one_line,
    text_length,
)

SlackMessage = dict[str, Any]
Block = dict[str, Any]

DETAILS_ACTION_ID = "digest_details"
TITLE_MAX = 200
AUTHOR_MAX = 80
SUMMARY_MAX = 700
NOTE_MAX = 300
OMITTED_NOTE_MAX = 600  # the count, the breakdown and the repository and days to ask for
LOW_CHUNK = 5  # compact low lines per section: 5 long lines stay under 3000 characters
FOLD_CHUNK = 15  # folded "sha title" lines per section: about 180 characters each


def details_value(repo: str, sha: str) -> str:
    """The Details button's value: "repo|sha" (just "|sha" if the repo would not fit)."""
    value = f"{one_line(repo)}|{sha}"
    return value if len(value) <= SLACK_BUTTON_VALUE_MAX else f"|{sha}"


def parse_details_value(value: str) -> tuple[str, str]:
    """(repo, sha) from a Details button value; repo is "" when it was left out."""
    repo, _, sha = value.rpartition("|")
    return repo, sha


def mrkdwn(text: str) -> Block:
    """A mrkdwn text object that Slack does not auto-link or auto-mention (`verbatim`)."""
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def plain(text: str) -> Block:
    return {"type": "plain_text", "text": text, "emoji": True}


def section(text: str, accessory: Block | None = None) -> Block:
    block: Block = {"type": "section", "text": mrkdwn(text)}
    if accessory is not None:
        block["accessory"] = accessory
    return block


def context(texts: Sequence[str]) -> Block:
    return {"type": "context", "elements": [mrkdwn(text) for text in texts]}


def header(text: str) -> Block:
    safe = escape_plain(text) or "-"
    return {"type": "header", "text": plain(clip(safe, SLACK_HEADER_TEXT_MAX))}


def link(url: str | None, escaped_text: str) -> str:
    """`<url|text>` for one of our own URLs, or the (already escaped) text alone."""
    return f"<{url}|{escaped_text}>" if url else escaped_text


def details_button(view: CommitView, label: str) -> Block:
    return {
        "type": "button",
        "text": plain(clip(label, SLACK_BUTTON_TEXT_MAX)),
        "action_id": DETAILS_ACTION_ID,
        "value": details_value(view.repo, view.sha),
    }


def text_size(value: Any) -> int:
    """UTF-16 length of all text objects' text in a block structure."""
    if isinstance(value, dict):
        own = value.get("text") if value.get("type") in ("mrkdwn", "plain_text") else None
        size = text_length(own) if isinstance(own, str) else 0
        return size + sum(text_size(child) for child in value.values() if child is not own)
    if isinstance(value, list):
        return sum(text_size(child) for child in value)
    return 0


def commit_ref(view: CommitView) -> str:
    """`🔴 <sha> (<#PR>)`: a commit's links without its title (details views show it above)."""
    sha = link(view.commit_url, escape_slack(view.short_sha))
    pr = f" (<{view.pr_url}|#{view.pr_number}>)" if view.pr_url else ""
    return f"{SEVERITY_EMOJI[view.importance]} {sha}{pr}"


def commit_head(view: CommitView, scale: float) -> str:
    """`🔴 <sha> *title* (<#PR>)`: the first line of a commit, escaped, with our links."""
    sha = link(view.commit_url, escape_slack(view.short_sha))
    title = fit(view.title, scaled(TITLE_MAX, scale, 60), escape_slack)
    pr = f" (<{view.pr_url}|#{view.pr_number}>)" if view.pr_url else ""
    bold = f" *{title}*" if title else ""
    return f"{SEVERITY_EMOJI[view.importance]} {sha}{bold}{pr}"


def commit_meta(view: CommitView) -> str:
    """`type · author · files · alerted 10:42`, escaped."""
    meta = [
        escape_slack(view.change_type),
        fit(view.author, AUTHOR_MAX, escape_slack),
        escape_slack(view.files_line),
        escape_slack(view.alerted),
    ]
    return " · ".join(part for part in meta if part)


def _commit_text(view: CommitView, plan: CardPlan, scale: float) -> str:
    lines = [commit_head(view, scale), commit_meta(view)]
    if view.summary:
        lines.append(fit(view.summary, scaled(SUMMARY_MAX, scale, 120), escape_slack))
    if view.notes:
        notes = plan.labels.list_separator.join(view.notes)
        lines.append("⚠️ " + fit(notes, NOTE_MAX, escape_slack))
    return "\n".join(lines)


def _folded_lines(unit: Unit) -> list[str]:
    """The unit's commits as short lines: "• sha title", or only SHAs, several per line."""
    fold = unit.fold
    shas = [
        link(view.commit_url if fold.links else None, escape_slack(view.short_sha))
        for view in unit.commits
    ]
    if not fold.title:
        return [" · ".join(shas[i : i + 10]) for i in range(0, len(shas), 10)]
    return [
        f"• {sha} {fit(view.title, fold.title, escape_slack)}".rstrip()
        for sha, view in zip(shas, unit.commits, strict=True)
    ]


def text_sections(lines: Sequence[str]) -> list[Block]:
    """`lines` as sections of at most 3000 characters each (a line is never split; one
    longer than a section is clipped)."""
    blocks: list[Block] = []
    current = ""
    for whole in lines:
        line = clip(whole, SLACK_SECTION_TEXT_MAX)
        candidate = f"{current}\n{line}" if current else line
        if current and text_length(candidate) > SLACK_SECTION_TEXT_MAX:
            blocks.append(section(current))
            candidate = line
        current = candidate
    if current:
        blocks.append(section(current))
    return blocks


def _low_line(view: CommitView, scale: float) -> str:
    sha = link(view.commit_url, escape_slack(view.short_sha))
    title = fit(view.title, scaled(120, scale, 50), escape_slack)
    pr = f" (<{view.pr_url}|#{view.pr_number}>)" if view.pr_url else ""
    author = fit(view.author, 40, escape_slack)
    line = f"• {sha} {title}{pr} · {author} · {escape_slack(view.change_type)}"
    if view.alerted:
        line += f" · {escape_slack(view.alerted)}"
    if view.summary and scale >= 0.5:
        line += " — " + fit(one_line(view.summary), scaled(160, scale), escape_slack)
    return line


@dataclass(frozen=True)
class _Rendered:
    blocks: tuple[Block, ...]
    text: int


def _render_unit(plan: CardPlan, unit: Unit, scale: float) -> _Rendered:
    blocks: list[Block] = []
    if unit.first:
        blocks.append(section(f"*{escape_slack(unit.section.heading)}*"))
    if unit.style == "folded":
        blocks += text_sections(_folded_lines(unit))
    elif unit.style == "lines":
        lines: list[str] = []
        for step in (scale, 0.25, 0.0):
            lines = [_low_line(view, min(scale, step)) for view in unit.commits]
            if text_length("\n".join(lines)) <= SLACK_SECTION_TEXT_MAX:
                break
        blocks += text_sections(lines)
    else:
        view = unit.commits[0]
        button = None
        if view.importance is not Importance.LOW and view.actionable:
            button = details_button(view, plan.labels.details_button)
        blocks.append(section(_commit_text(view, plan, scale), button))
    if unit.hinted:
        blocks.append(context([escape_slack(plan.details_hint)]))
    return _Rendered(tuple(blocks), text_size(blocks))


def _head(plan: CardPlan) -> list[Block]:
    repo = escape_slack(plan.repo_label)
    blocks = [
        header(plan.title),
        context(
            [link(plan.links.base, repo), escape_slack(plan.stats_line)]
            + (
                [link(plan.report_url, escape_slack(plan.card.full_report))]
                if plan.report_url
                else []
            )
        ),
    ]
    if plan.overview:
        heading = f"*{escape_slack(plan.labels.overview_heading)}*\n"
        room = SLACK_SECTION_TEXT_MAX - text_length(heading)
        blocks.append(section(heading + fit(plan.overview, room, escape_slack)))
    if plan.empty:
        blocks.append(section(escape_slack(plan.labels.no_commits)))
    return blocks


def _footer(plan: CardPlan, low_moved: int) -> Block:
    texts = [fit(note, NOTE_MAX, escape_slack) for note in plan.notes]
    if low_moved:
        texts.append(escape_slack(plan.card.low_in_thread.format(count=low_moved)))
    texts.append(fit(plan.footer, NOTE_MAX, escape_slack))
    return context(texts)


def _continuation(plan: CardPlan, index: int, count: int) -> Block:
    part = plan.labels.part.format(index=index + 1, count=count)
    title = escape_slack(f"{plan.title}{plan.card.continued}")
    return context([f"*{title}* · {escape_slack(plan.repo)} · {escape_slack(part)}"])


def _note(plan: CardPlan, commits: Sequence[CommitView]) -> Block:
    return context([fit(plan.omitted_note(commits), OMITTED_NOTE_MAX, escape_slack)])


def render_slack(digest: Digest) -> list[SlackMessage]:
    """The digest as Slack messages: the channel message first, then thread continuations."""
    plan = plan_card(digest)
    head = _head(plan)
    # Worst cases reserved in every message: the continuation header, the footer, the note.
    footer_worst = _footer(plan, low_moved=10**6)
    note_worst = _note(plan, [view for s in plan.sections for view in s.commits])
    reserve_blocks = {0: len(head) + 2, 1: 2}
    reserve_text = {
        0: text_size(head) + text_size(footer_worst) + text_size(note_worst),
        1: text_size(_continuation(plan, 98, 99)) + text_size(note_worst),
    }

    def fits(index: int, rendered: Sequence[_Rendered]) -> bool:
        key = 0 if index == 0 else 1
        blocks = reserve_blocks[key] + sum(len(r.blocks) for r in rendered)
        text = reserve_text[key] + sum(r.text for r in rendered)
        return blocks <= SLACK_MESSAGE_BLOCKS_MAX and text <= SLACK_MESSAGE_TEXT_BUDGET

    packed = pack_folded(
        plan,
        lambda unit, scale: _render_unit(plan, unit, scale),
        fits,
        max_messages=SLACK_MESSAGES_MAX,
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
    messages: list[SlackMessage] = []
    for index, message in enumerate(packed.messages):
        blocks = list(head) if index == 0 else [_continuation(plan, index, count)]
        for _, rendered in message:
            blocks.extend(rendered.blocks)
        if index == 0:
            blocks.append(_footer(plan, low_moved))
        if index == count - 1 and packed.leftover:
            blocks.append(_note(plan, leftover_commits(packed.leftover)))
        messages.append(
            {
                "text": _fallback(plan, index, count),
                "blocks": blocks,
                "unfurl_links": False,
                "unfurl_media": False,
            }
        )
    return messages


def _fallback(plan: CardPlan, index: int, count: int) -> str:
    if index == 0:
        text = f"{plan.title} · {plan.repo}: {plan.stats_line}"
    else:
        part = plan.labels.part.format(index=index + 1, count=count)
        text = f"{plan.title} · {plan.repo} · {part}"
    return fit(text, SLACK_FALLBACK_TEXT_BUDGET, escape_slack)
