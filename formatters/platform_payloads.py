"""One entry point for "what would be sent": a digest or one commit rendered for a chat platform."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.models import Digest, DigestItem, Language
from formatters.discord_details import render_discord_details
from formatters.discord_embeds import render_discord
from formatters.feishu_card import render_feishu
from formatters.feishu_details import render_feishu_details
from formatters.slack_blocks import render_slack
from formatters.slack_details import render_slack_details

Renderer = Callable[[Digest], list[dict[str, Any]]]
DetailsRenderer = Callable[[DigestItem, str, Language], dict[str, Any]]

RENDERERS: dict[str, Renderer] = {
    "slack": render_slack,
    "feishu": render_feishu,
    "discord": render_discord,
}
FORMATS: tuple[str, ...] = tuple(RENDERERS)
DETAILS_RENDERERS: dict[str, DetailsRenderer] = {
    "slack": render_slack_details,  # the thread-reply variant
    "feishu": render_feishu_details,
    "discord": render_discord_details,
}


def _pick(table: dict[str, Any], fmt: str) -> Any:
    try:
        return table[fmt.strip().lower()]
    except KeyError:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}") from None


def render_payloads(digest: Digest, fmt: str) -> list[dict[str, Any]]:
    """The payloads `fmt` ("slack" | "feishu" | "discord") would post for `digest`, in order.

    Slack: chat.postMessage arguments (the first to the channel, the rest in its thread);
    Feishu: card JSON 2.0 objects (send each with `formatters.feishu_card.card_content`);
    Discord: create-message payloads. Raises ValueError for an unknown format.
    """
    renderer: Renderer = _pick(RENDERERS, fmt)
    return renderer(digest)


def render_details_payload(
    item: DigestItem, repo_url: str, language: Language, fmt: str
) -> dict[str, Any]:
    """One commit's details view as `fmt` would post it (Slack: the thread-reply arguments)."""
    renderer: DetailsRenderer = _pick(DETAILS_RENDERERS, fmt)
    return renderer(item, repo_url, language)
