"""The records of the deliveries outbox: states, rows and their parts, refs posted, the key."""

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
    PARTIAL = "partial"  # some parts posted, the others failed for good (the channel is told)


class PartState(StrEnum):
    """One planned message of a delivery: pending → posting (the platform call began, so it
    may be up) → sent (refs known) | failed (refused for good) | unknown (it may be up, and the
    platform could not tell: never re-posted)."""

    PENDING = "pending"
    POSTING = "posting"
    SENT = "sent"
    FAILED = "failed"
    UNKNOWN = "unknown"

    @property
    def final(self) -> bool:
        return self in {PartState.SENT, PartState.FAILED, PartState.UNKNOWN}


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
    next_attempt_at: datetime
    refs: tuple[PostRef, ...]
    reason: str | None
    created_at: datetime
    notice: str | None = None  # None | "owed" | "sent"
    context: str | None = None  # the poster's JSON for recording posted parts (thread replies)

    @property
    def fence(self) -> int:
        """The fencing token of the current claim: each claim increments `attempts`, and every
        write after a claim is conditional on it, so an older attempt can change nothing."""
        return self.attempts


@dataclass(frozen=True)
class DeliveryPart:
    """One message of a multi-part delivery, rendered once and posted from the stored payload,
    so a retry posts exactly what the first attempt planned."""

    delivery_id: int
    index: int  # 0 is the root; the rest are threaded under it
    payload: str  # the platform's rendered message (opaque to the core)
    state: PartState
    attempt: int  # the fence of the attempt that last began posting it
    posting_at: datetime | None  # database time at which that attempt began
    refs: tuple[PostRef, ...]
    failures: int
    reason: str | None


def delivery_key(subscription_id: int, local_date: date) -> str:
    """Stable and short: it rides as Discord's nonce (≤ 25 chars), Feishu's uuid (≤ 50) and
    Slack message metadata, so a re-post after a crash is recognised."""
    return f"dg-{subscription_id}-{local_date:%Y%m%d}"
