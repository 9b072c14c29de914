"""The records of the deliveries outbox: states, one delivery row, the refs it posted, its key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum


class DeliveryState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    MISSED = "missed"


@dataclass(frozen=True)
class PostRef:
    """A message a delivery posted (platform-neutral: the scheduler knows no platform)."""

    channel_id: str
    message_id: str
    thread_id: str | None = None


@dataclass(frozen=True)
class Delivery:
    id: int
    subscription_id: int
    local_date: date
    key: str
    state: DeliveryState
    due_at: datetime
    attempts: int
    claimed_by: str | None
    lease_until: datetime | None
    posting_since: datetime | None
    next_attempt_at: datetime
    refs: tuple[PostRef, ...]
    reason: str | None
    created_at: datetime
    notice: str | None = None  # None | "owed" | "sent"


def delivery_key(subscription_id: int, local_date: date) -> str:
    """Stable and short: it rides as Discord's nonce (≤ 25 chars), Feishu's uuid (≤ 50) and
    Slack message metadata, so a re-post after a crash is recognised."""
    return f"dg-{subscription_id}-{local_date:%Y%m%d}"
