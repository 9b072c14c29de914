"""The platform-neutral seams between chat adapters and the conversation layer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

from bot.models import Alert, Digest, DigestItem, Language

EventKind = Literal["command", "message", "mention", "button"]


@dataclass(frozen=True)
class ButtonPayload:
    """What a commit's Details button carries (decoded by the adapter from the platform value)."""

    action: str  # "details"
    repo: str
    sha: str
    # The answer is seen by the clicker alone (a Slack modal, a Discord ephemeral message):
    # every click gets one. Otherwise it is posted in the thread, once per message and commit.
    private: bool = False


@dataclass(frozen=True)
class InboundEvent:
    """One thing a user did, in neutral form. Adapters build it; `Conversation.handle` reads it.

    `event_id` is the platform's delivery-stable id (Slack event_id / trigger_id, Feishu
    event_id or message_id, Discord interaction or message id): a redelivery carries the same
    id, so the conversation layer answers it once. `thread_id` is the id of the thread's root
    message when the event happened inside a thread (Slack thread_ts, Feishu root_id, Discord
    thread's starter message id), else None. `text` has mention markup of the bot already
    stripped (the parser also tolerates leftovers). `context` holds adapter-private values the
    adapter needs again when replying (Slack trigger_id / response_url, Discord interaction
    token); the conversation layer never reads it.
    """

    platform: str
    event_id: str
    user_id: str
    channel_id: str
    kind: EventKind
    text: str = ""
    thread_id: str | None = None
    message_id: str | None = None
    button: ButtonPayload | None = None
    received_at: datetime | None = None
    language: Language | None = None  # the platform's default language for replies, if any
    is_channel_manager: bool = False  # may manage the channel's subscriptions (issue 8)
    context: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ReplyTarget:
    """Where an answer goes: a channel, optionally a thread in it, and the user who asked.

    `thread_id` None means the channel's top level. `event` is the inbound event being answered
    (None for scheduled posts), so the adapter can reach its `context` (e.g. a trigger id).
    """

    platform: str
    channel_id: str
    thread_id: str | None = None
    user_id: str | None = None
    event: InboundEvent | None = None

    @classmethod
    def in_thread_of(cls, event: InboundEvent, thread_id: str | None) -> ReplyTarget:
        return cls(event.platform, event.channel_id, thread_id, event.user_id, event)


@dataclass(frozen=True)
class MessageRef:
    """A message the bot posted: enough to find it again (and its thread) after a restart."""

    platform: str
    channel_id: str
    message_id: str  # Slack ts, Feishu message_id, Discord message id
    thread_id: str | None = None  # the root of the thread it sits in; None for a root message


@dataclass(frozen=True)
class PartKey:
    """The idempotency key of one message of a scheduled digest: the delivery's key and the
    part's index (0 is the root)."""

    delivery_key: str
    index: int


class ChatAdapter(Protocol):
    """What the conversation layer (and the scheduler) calls to talk on one platform.

    Every method renders with the platform's formatter, escapes all text it is given (plain
    text, never markup; it may come from commits or the LLM), honours the platform's rate
    limits (429 / Retry-After, per-channel pacing), and raises `PlatformError` when the
    platform refuses after retries. Methods return the refs of every message posted, in order;
    when a payload spans several messages the first is the root and the rest are threaded
    under it (or under `target.thread_id` when given).
    """

    @property
    def platform(self) -> str: ...

    async def send_digest(
        self, target: ReplyTarget, digest: Digest, *, delivery_key: str | None = None
    ) -> list[MessageRef]:
        """Post a digest. `delivery_key` is the scheduler's idempotency key (Feishu uuid,
        Discord nonce, Slack message metadata); None for on-demand digests."""
        ...

    def render_digest(self, digest: Digest, *, delivery_key: str | None = None) -> list[str]:
        """The digest as this platform's messages, each serialised (JSON text), [0] the root.
        The scheduler stores them, so a retry posts exactly what was planned; with
        `delivery_key` every message carries its part's key where the platform keeps one."""
        ...

    def render_alert(self, alert: Alert, *, delivery_key: str) -> list[str]:
        """The alert card as exactly one serialised message carrying `delivery_key` as part 0
        the way `render_digest` carries it, so `post_part` posts it (key PartKey(delivery_key,
        0)) and `find_part` finds it again after a restart."""
        ...

    async def post_part(
        self,
        target: ReplyTarget,
        payload: str,
        *,
        root: MessageRef | None = None,
        key: PartKey | None = None,
    ) -> list[MessageRef]:
        """Post one rendered message: at `target` when `root` is None, else in root's thread
        (a platform may split a message it refuses as too large: hence a list). PlatformError
        when refused: nothing of it was posted."""
        ...

    async def send_details(
        self, target: ReplyTarget, item: DigestItem, repo_url: str, language: Language
    ) -> list[MessageRef]:
        """Post one commit's full analysis (in the thread; a modal/ephemeral view is allowed
        when the platform has one and the adapter is configured so: then return [])."""
        ...

    async def send_text(self, target: ReplyTarget, text: str) -> list[MessageRef]:
        """Post short plain text visible to the channel (or thread)."""
        ...

    async def send_notice(self, target: ReplyTarget, text: str) -> None:
        """Tell only the asking user (ephemeral) when the platform can; else like send_text."""
        ...

    async def send_image(
        self,
        target: ReplyTarget,
        image: bytes,
        *,
        filename: str,
        title: str,
        alt_text: str,
        text: str = "",
    ) -> list[MessageRef]:
        """Post a PNG the platform's native way, with a short caption `text` (plain text,
        escaped)."""
        ...


class PartLookup(Protocol):
    """Optional adapter capability the scheduler uses to reconcile an interrupted post.

    A scheduled post carries a key per part (see `PartKey`): Slack message metadata, Feishu's
    `uuid` and a marker in the card, Discord's nonce and an embed footer tag. After a crash
    between "posting" and "recorded", the scheduler asks whether that part is in the channel
    before posting it again — reading only what was posted in the span its post could have
    happened, never "the newest N messages" (a busy channel would push it out of reach).
    """

    async def find_part(
        self,
        target: ReplyTarget,
        key: PartKey,
        *,
        root: MessageRef | None,
        between: tuple[datetime, datetime],
        payload: str,
    ) -> list[MessageRef] | None:
        """The part's messages posted in `between` ([] if none). `root`: the digest's first
        message, for parts in its thread; `payload`: the part as rendered. PlatformError when
        the platform refused the read; None when it cannot tell."""
        ...
