"""Posting a rendered multi-part digest right away (on-demand commands): root, then its thread."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from bot.errors import PlatformError
from handlers.ports import ChatAdapter, MessageRef, PartKey, ReplyTarget

log = logging.getLogger(__name__)


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
