"""`POST /github/webhook`: GitHub `push` deliveries, verified and deduplicated, into alerts.

Answers: 401 unsigned or forged; 413 over GitHub's 25 MB payload cap; 400 malformed; 404 a
repository nobody follows; 409 a delivery id seen before (a replay); 200 for `ping`; 202 for
events and branches that need nothing, and for an accepted push (handled in the background:
GitHub waits 10 s at most, https://docs.github.com/en/webhooks/using-webhooks/best-practices-for-using-webhooks#respond-within-10-seconds).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from aiohttp import web

from bot.alerts.service import AlertService
from bot.alerts.webhook import (
    MAX_BODY,
    WebhookRejected,
    delivery_id,
    parse_push,
    verify_signature,
)
from bot.errors import DigestbotError

log = logging.getLogger(__name__)

# Delivery ids are remembered this long: GitHub redelivers on request within days, and a
# replay older than this still cannot double an alert (the alerted rows prevent that).
REMEMBER_DELIVERIES = timedelta(days=7)


def webhook_endpoint(
    alerts: AlertService, secret: bytes
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        try:
            return await _handle(request, alerts, secret)
        except WebhookRejected as exc:
            log.info("webhook refused (%d): %s", exc.status, exc.user_message)
            return _answer(exc.status, exc.user_message)

    return handle


async def _handle(request: web.Request, alerts: AlertService, secret: bytes) -> web.Response:
    body = await _body(request)
    verify_signature(secret, body, request.headers.get("X-Hub-Signature-256"))
    event_type = request.headers.get("X-GitHub-Event", "")
    guid = delivery_id(request.headers.get("X-GitHub-Delivery"))
    if event_type == "ping":
        return _answer(200, "pong")
    if event_type != "push":
        return _answer(202, f"ignored: {event_type[:40] or 'unnamed'} events are not used")
    event = parse_push(body)
    followed = await alerts.watcher.match_push(event)
    store = alerts.watcher.alerts
    try:
        first = await asyncio.to_thread(store.first_delivery, guid, REMEMBER_DELIVERIES)
    except DigestbotError as exc:
        log.warning("webhook delivery %s: %s", guid, exc)
        return _answer(503, "try again later")
    if not first:
        raise WebhookRejected(409, "delivery already received")
    if followed is None:
        return _answer(202, "ignored: not a followed branch")
    alerts.push(followed, event)
    return _answer(202, "accepted")


async def _body(request: web.Request) -> bytes:
    """The body, refused with 413 past MAX_BODY (read in chunks, never all of a huge one)."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise WebhookRejected(413, "payload too large")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(64 * 1024):
        size += len(chunk)
        if size > MAX_BODY:
            raise WebhookRejected(413, "payload too large")
        chunks.append(chunk)
    return b"".join(chunks)


def _answer(status: int, message: str) -> web.Response:
    return web.json_response({"status": message}, status=status)
