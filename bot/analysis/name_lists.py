"""Identifiers in generated text: inline code, a name's last part, bounded name lists."""

from __future__ import annotations

from collections.abc import Sequence

from bot.models import Language

MAX_NAMES = 3
# "old → new" in text people read: an ASCII "->" becomes "-&gt;" once Markdown and Slack
# escape the ">", which reads badly in a terminal and in raw cards.
ARROW = " → "


def code(name: str) -> str:
    """`name` as inline code; a backtick inside it cannot close the span early."""
    return "`" + name.replace("`", "'") + "`"


def last_part(name: str) -> str:
    """`Runner.forward` / `ns::Runner::run` -> `forward` / `run`."""
    return name.replace("::", ".").rsplit(".", 1)[-1]


def name_list(values: Sequence[str], language: Language, limit: int = MAX_NAMES) -> str:
    """ "`a`, `b` and 4 more" / "`a`、`b` 等 6 个": at most `limit` names, the rest counted."""
    shown = [code(value) for value in values[:limit]]
    text = ("、" if language == "zh" else ", ").join(shown)
    if len(values) > limit:
        text += f" 等 {len(values)} 个" if language == "zh" else f" and {len(values) - limit} more"
    return text
