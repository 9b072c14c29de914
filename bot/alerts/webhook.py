"""GitHub `push` webhooks: the signature check and the few fields an alert needs.

GitHub signs each delivery's body with HMAC-SHA256 under the webhook's secret and sends
`X-Hub-Signature-256: sha256=<hex>`; the check is a constant-time comparison
(https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries). Every
delivery carries a unique `X-GitHub-Delivery` id, which the store remembers to refuse replays.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass
from datetime import datetime

from bot.errors import InvalidInputError

SIGNATURE_PREFIX = "sha256="
# GitHub caps webhook payloads at 25 MB
# (https://docs.github.com/en/webhooks/webhook-events-and-payloads#payload-cap).
MAX_BODY = 25 * 1024 * 1024
_SHA = re.compile(r"^[0-9a-f]{40}$")
_GUID = re.compile(r"^[0-9A-Za-z-]{1,100}$")
_ZERO = "0" * 40


class WebhookRejected(InvalidInputError):
    """A delivery we refuse; `status` is the HTTP answer (the message is safe to return)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def verify_signature(secret: bytes, body: bytes, header: str | None) -> None:
    """WebhookRejected(401) unless `header` is the body's HMAC-SHA256 under `secret`."""
    if not header:
        raise WebhookRejected(401, "missing X-Hub-Signature-256")
    if not header.startswith(SIGNATURE_PREFIX):
        raise WebhookRejected(401, "X-Hub-Signature-256 must be sha256=<hex>")
    expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, header[len(SIGNATURE_PREFIX) :].strip().lower()):
        raise WebhookRejected(401, "bad signature")


def delivery_id(header: str | None) -> str:
    """The X-GitHub-Delivery id (a GUID); WebhookRejected(400) when absent or malformed."""
    value = (header or "").strip()
    if not _GUID.match(value):
        raise WebhookRejected(400, "missing or malformed X-GitHub-Delivery")
    return value


@dataclass(frozen=True)
class PushEvent:
    """What an alert needs from a `push` delivery."""

    repo: str  # owner/name as GitHub spells it
    branch: str | None  # None: a tag or another kind of ref
    default_branch: str
    before: str  # 40 zeros when the branch was created
    after: str  # 40 zeros when the branch was deleted
    forced: bool
    head_at: datetime | None  # the new head commit's timestamp, when the payload has it
    commits: int  # how many commits the payload lists

    @property
    def deleted(self) -> bool:
        return self.after == _ZERO

    def on_branch(self, followed: str | None) -> bool:
        """Does the push move the followed branch (None: the default branch)?"""
        return self.branch is not None and self.branch == (followed or self.default_branch)


def parse_push(body: bytes) -> PushEvent:
    """The push event's fields; WebhookRejected(400) on anything malformed."""
    try:
        data = json.loads(body)
        repository = data["repository"]
        ref = str(data["ref"])
        head = data.get("head_commit") or {}
        stamp = head.get("timestamp") if isinstance(head, dict) else None
        event = PushEvent(
            repo=str(repository["full_name"]),
            branch=ref.removeprefix("refs/heads/") if ref.startswith("refs/heads/") else None,
            default_branch=str(repository.get("default_branch") or "main"),
            before=str(data["before"]).lower(),
            after=str(data["after"]).lower(),
            forced=bool(data.get("forced", False)),
            head_at=datetime.fromisoformat(stamp.replace("Z", "+00:00")) if stamp else None,
            commits=len(data.get("commits") or []),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise WebhookRejected(400, "malformed push payload") from exc
    if not _SHA.match(event.before) or not _SHA.match(event.after):
        raise WebhookRejected(400, "malformed push payload: before/after are not SHAs")
    if event.head_at is not None and event.head_at.tzinfo is None:
        raise WebhookRejected(400, "malformed push payload: timestamp without a zone")
    return event
