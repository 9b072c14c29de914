"""The screen in front of bolt for POST /slack/events: size, encoding, signature, shape."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from aiohttp import web
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.request.internals import parse_body
from slack_sdk.signature import SignatureVerifier

# Slack documents no size limit for its requests; its largest (a message event with 50 blocks
# and 40,000 characters of text, https://api.slack.com/reference/block-kit/blocks) stays far
# below aiohttp's default request limit of 1 MiB, which we keep.
MAX_BODY_BYTES = 1024 * 1024
_CHUNK = 64 * 1024
_TIMESTAMP = re.compile(r"[0-9]{1,12}")  # Unix seconds


@dataclass(frozen=True)
class Rejection:
    """A request refused before bolt sees it: the status and why (for the one log line)."""

    status: int
    reason: str


async def read_body(request: web.Request) -> bytes | Rejection:
    """The raw body, read up to MAX_BODY_BYTES (a larger one is refused, unread)."""
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        return Rejection(400, f"body of {request.content_length} bytes is over the limit")
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(_CHUNK):
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return Rejection(400, f"body over {MAX_BODY_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def screen(
    body: bytes, headers: Mapping[str, str], query: str, verifier: SignatureVerifier
) -> AsyncBoltRequest | Rejection:
    """The bolt request for a well-formed, correctly signed body; else why not.

    Unsigned or malformed: 400; a wrong signature or a stale timestamp: 401
    (https://api.slack.com/authentication/verifying-requests-from-slack). Never raises."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return Rejection(400, "body is not UTF-8")
    lowered = {k.lower(): v for k, v in headers.items()}
    timestamp = lowered.get("x-slack-request-timestamp", "").strip()
    signature = lowered.get("x-slack-signature", "").strip()
    if not timestamp or not signature:
        return Rejection(400, "unsigned (no X-Slack-Signature or X-Slack-Request-Timestamp)")
    if not _TIMESTAMP.fullmatch(timestamp):
        return Rejection(400, "malformed X-Slack-Request-Timestamp")
    if not verifier.is_valid(text, timestamp, signature):
        return Rejection(401, "bad signature or stale timestamp")
    content_type = lowered.get("content-type", "").split(";")[0] or None  # as bolt reads it
    try:
        parsed = parse_body(text, content_type)  # what bolt will do with it
    except ValueError:  # json.JSONDecodeError included: bad JSON, or a form's bad payload
        return Rejection(400, "body is neither JSON nor a form with a JSON payload")
    if not isinstance(parsed, dict):
        return Rejection(400, "body is not a JSON object")
    try:
        return AsyncBoltRequest(body=text, query=query, headers=dict(headers))
    # bolt reads ids out of the body as it builds the request: a signed oddity must not 500
    except Exception as exc:  # noqa: BLE001 - the boundary to bolt's request parsing
        return Rejection(400, f"unexpected payload shape ({type(exc).__name__})")
