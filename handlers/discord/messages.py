"""Discord message payloads built by the adapter: inert text, thread names, delivery nonces."""

from __future__ import annotations

import hashlib
from typing import Any

from formatters.discord_embeds import NO_MENTIONS
from formatters.limits import DISCORD_CONTENT_MAX, DISCORD_EMBED_DESCRIPTION_MAX
from formatters.text_safety import clean, clip, escape_discord, fit, one_line, text_length

# https://discord.com/developers/docs/resources/channel#start-thread-from-message: 1–100 chars.
THREAD_NAME_MAX = 100
NONCE_PREFIX = "dg"  # marks our nonces and footer tags among other messages


def delivery_nonce(delivery_key: str, index: int = 0) -> str:
    """The `nonce` of part `index` of a scheduled post (≤ 25 characters, as Discord requires)."""
    digest = hashlib.blake2b(f"{delivery_key}#{index}".encode(), digest_size=8).hexdigest()
    return NONCE_PREFIX + digest  # 18 characters


def delivery_tag(delivery_key: str) -> str:
    """What the first embed's footer carries so `find_part` recognises the root."""
    return delivery_nonce(delivery_key, 0)


def text_payload(text: str, reference: dict[str, Any] | None = None) -> dict[str, Any]:
    """Plain text as an inert message: escaped content, or an embed when it is too long."""
    cleaned = clean(text).strip() or "…"
    escaped = escape_discord(cleaned)
    payload: dict[str, Any]
    if text_length(escaped) <= DISCORD_CONTENT_MAX:
        payload = {"content": escaped}
    else:
        description = fit(cleaned, DISCORD_EMBED_DESCRIPTION_MAX, escape_discord)
        payload = {"embeds": [{"description": description}]}
    payload["allowed_mentions"] = dict(NO_MENTIONS)
    if reference is not None:
        payload["message_reference"] = reference
    return payload


def thread_name(text: str) -> str:
    return clip(one_line(text), THREAD_NAME_MAX) or "digestbot"
