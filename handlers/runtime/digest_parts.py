"""Posting a digest right away (on-demand commands): rendered off the loop, root then thread."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from bot.errors import PlatformError
from bot.models import Digest
from handlers.ports import ChatAdapter, MessageRef, PartKey, ReplyTarget

log = logging.getLogger(__name__)


async def send_digest(
    adapter: ChatAdapter, target: ReplyTarget, digest: Digest, delivery_key: str | None = None
) -> list[MessageRef]:
    """Render `digest` with the adapter's formatter in a worker thread (a long window is tens
    to hundreds of ms of CPU: the loop keeps acking other commands and heartbeating), then
    post its parts with `post_all`."""
    payloads = await asyncio.to_thread(adapter.render_digest, digest, delivery_key=delivery_key)
    return await post_all(adapter, target, payloads, delivery_key)


async def post_all(
    adapter: ChatAdapter,
    target: ReplyTarget,
    payloads: Sequence[str],
    delivery_key: str | None = None,
) -> list[MessageRef]:
    """Post every part in order: the first at `target`, the rest in its thread. A refused
    root raises PlatformError; a refused later part stops there and returns what is up, so
    the root's thread still works (scheduled posts go through the outbox instead, which
    retries the part and tells the channel when it finally fails)."""
    refs: list[MessageRef] = []
    for index, payload in enumerate(payloads):
        key = PartKey(delivery_key, index) if delivery_key is not None else None
        root = refs[0] if refs else None
        try:
            refs += await adapter.post_part(target, payload, root=root, key=key)
        except PlatformError:
            if not refs:
                raise
            log.exception("digest part %d/%d not posted", index + 1, len(payloads))
            break
    return refs
