"""The conversation's cross-cutting steps as middleware: parse, dedupe, authorize, rate-limit and
cap each event once, in the style of bolt-python's `process(req, resp, next)`.

An event passes two chains. Admission runs before the platform's acknowledgement, so its steps
do no I/O: they parse the text, drop an event id this process has just seen, authorize the
repository, count the rate limit and pick the cost caps, and leave the acknowledgement on the
Turn. Handling runs after it: the thread lookup, the durable claim of the event id (replicas,
restarts), then the use case. A step stops the chain by not calling `next`; one that refuses
sets `turn.reply` (the whole answer) instead.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from bot.costs import CommandCaps
from bot.errors import DigestbotError
from bot.repos import RepoTarget
from bot.storage.conversations import ConversationStore, ThreadInfo
from handlers.conversation.authz import Authorizer
from handlers.conversation.commands import (
    AlertsCommand,
    Command,
    DetailsCommand,
    DigestCommand,
    HelpCommand,
    ListSubscriptionsCommand,
    ParseError,
    SubscribeCommand,
    UnsubscribeCommand,
    normalize,
    parse_command,
)
from handlers.conversation.help_text import help_text
from handlers.conversation.rate_limits import RateLimiter, RatePolicy, retry_message
from handlers.ports import InboundEvent

log = logging.getLogger(__name__)

Next = Callable[[], Awaitable[None]]
EVENT_RETENTION = timedelta(days=7)  # platforms redeliver for hours (Feishu: up to ~6 h)
_PRUNE_EVERY = 500
SUBSCRIPTION_COMMANDS = (
    SubscribeCommand,
    AlertsCommand,
    UnsubscribeCommand,
    ListSubscriptionsCommand,
)


@dataclass
class Turn:
    """One event on its way through the chains: what each step found, for the next ones."""

    event: InboundEvent
    command: Command | None = None
    # The whole answer when admission settled the event (a usage error, help, a refusal).
    reply: str | None = None
    done: bool = False
    # Shown in the platform's acknowledgement when the event goes on ("building the digest…").
    ack: str | None = None
    repo: RepoTarget | None = None  # the authorized repository of a digest or subscribe
    caps: CommandCaps | None = None  # what this command may cost; None: not capped
    thread: ThreadInfo | None = None  # the digest thread the event is in, when it is one
    steps: list[str] = field(default_factory=list)  # the steps that ran, in order

    @property
    def ack_text(self) -> str | None:
        """What the platform's acknowledgement shows: the answer, or the progress note."""
        return self.reply if self.done else self.ack

    @property
    def manages_subscriptions(self) -> bool:
        """A subscription command: the adapter may look up whether the user manages the chat."""
        return isinstance(self.command, SUBSCRIPTION_COMMANDS)

    def settle(self, reply: str | None) -> None:
        """Stop here: `reply` (or nothing, for an event that is not for us) is the answer."""
        self.reply = reply
        self.done = True


class Middleware(Protocol):
    """One step: look at or fill in the turn, then `await next()` to go on (or not)."""

    async def __call__(self, turn: Turn, next: Next) -> None: ...


async def run_chain(
    chain: Sequence[Middleware], turn: Turn, endpoint: Callable[[Turn], Awaitable[None]]
) -> None:
    """Run `chain` over `turn`, then `endpoint` when every step called `next`."""

    async def step(index: int) -> None:
        if index == len(chain):
            await endpoint(turn)
            return
        turn.steps.append(type(chain[index]).__name__)
        await chain[index](turn, lambda: step(index + 1))

    await step(0)


# -- admission (no I/O) -----------------------------------------------------------------------


class Parse:
    """The text (or button) to a Command once; help and usage errors are answered here."""

    def __init__(self, authorizer: Authorizer) -> None:
        self._authz = authorizer

    async def __call__(self, turn: Turn, next: Next) -> None:
        parsed = parse_event(turn.event)
        if parsed is None:
            turn.settle(None)
        elif isinstance(parsed, ParseError):
            turn.settle(parsed.message)
        elif isinstance(parsed, HelpCommand):
            turn.command = parsed
            turn.settle(help_text(self._authz.repo_names(), parsed.topic))
        else:
            turn.command = parsed
            await next()


class SeenRecently:
    """Drops an event id this process admitted moments ago (a platform's redelivery) before it
    is counted against a limit; replicas and restarts are the durable claim's job."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._seen: OrderedDict[tuple[str, str], None] = OrderedDict()
        self._capacity = capacity

    async def __call__(self, turn: Turn, next: Next) -> None:
        key = (turn.event.platform, turn.event.event_id)
        if key in self._seen:
            turn.settle(None)
            return
        self._seen[key] = None
        if len(self._seen) > self._capacity:
            self._seen.popitem(last=False)
        await next()


class Authorize:
    """The repository a digest or subscription names, checked against the allowlist once."""

    def __init__(self, authorizer: Authorizer, *, default_language: str = "en") -> None:
        self._authz = authorizer
        self._language = default_language

    async def __call__(self, turn: Turn, next: Next) -> None:
        command = turn.command
        if isinstance(command, DigestCommand | SubscribeCommand):
            try:
                turn.repo = self._authz.repo(command.repo)
            except DigestbotError as exc:
                language = command.language or turn.event.language or self._language
                turn.settle(exc.message_in(language))
                return
        await next()


class RateLimit:
    """One digest counted against the user's and the channel's hourly allowance, once.

    Admission counts commands and mentions. A plain thread message is counted in the handling
    chain instead, after the thread lookup showed it is a reply in one of our digests: chatter
    in other threads that looks like a command costs nobody anything."""

    def __init__(
        self,
        limiter: RateLimiter,
        policy: RatePolicy,
        *,
        overheard: bool,
        default_language: str = "en",
    ) -> None:
        self._limiter = limiter
        self._policy = policy
        self._overheard = overheard  # True: the handling chain's step, for plain messages
        self._language = default_language

    async def __call__(self, turn: Turn, next: Next) -> None:
        event = turn.event
        ours = (event.kind == "message") == self._overheard
        if ours and not turn.done and isinstance(turn.command, DigestCommand):
            limits = self._policy.digest(event.platform, event.user_id, event.channel_id)
            retry = self._limiter.acquire(limits)
            if retry is not None:
                command = turn.command
                language = command.language or event.language or self._language
                turn.settle(retry_message("digests", retry, self._limiter.now(), language))
                if not self._overheard:
                    return  # the refusal is the acknowledgement
        await next()


class CostCaps:
    """What the command may cost: chat users get the configured caps, admins spend from the
    repository's request budget without limits, the console's operator is not capped."""

    def __init__(self, authorizer: Authorizer, caps: CommandCaps | None) -> None:
        self._authz = authorizer
        self._caps = caps

    async def __call__(self, turn: Turn, next: Next) -> None:
        if self._caps is not None and not self._authz.local_operator:
            event = turn.event
            admin = self._authz.is_admin(event.platform, event.user_id)
            turn.caps = CommandCaps.admin() if admin else self._caps
        await next()


def parse_event(event: InboundEvent) -> Command | ParseError | None:
    """The command, a usage error to show, or None when the event is not for us."""
    if event.kind == "button":
        button = event.button
        if button is None or button.action != "details":
            return None
        parsed = parse_command(f"details {button.sha}")
        if not isinstance(parsed, DetailsCommand):
            return None
        return DetailsCommand(parsed.sha, button.repo or None)
    if event.kind == "message" and (event.thread_id is None or not normalize(event.text)):
        return None
    command = parse_command(event.text, slash=event.kind == "command")
    # Overheard chatter ("thanks!") is not for us; a mistyped keyword command is.
    if event.kind == "message" and (
        isinstance(command, HelpCommand)
        or (isinstance(command, ParseError) and command.code == "unknown_command")
    ):
        return None
    return command


# -- handling (after the acknowledgement) -----------------------------------------------------


class ThreadScope:
    """Which of our digests' threads the event is in; plain messages elsewhere are not for us."""

    def __init__(self, store: ConversationStore) -> None:
        self._store = store

    async def __call__(self, turn: Turn, next: Next) -> None:
        event = turn.event
        root = event.thread_id or (event.message_id if event.kind == "button" else None)
        if root is not None:
            turn.thread = await asyncio.to_thread(
                self._store.find_thread, event.platform, event.channel_id, root
            )
        if event.kind == "message" and turn.thread is None:
            return  # overheard outside our digests' threads
        await next()


class Claim:
    """The durable dedupe: the first process to record the event id answers it (platforms
    redeliver for hours; replicas see the same events). A Details click answered in the thread
    is also claimed per (message, commit): a second click posts nothing more (the platform's
    own acknowledgement of the click is all it gets), unless the first answer failed."""

    def __init__(self, store: ConversationStore, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._clock = clock
        self._claims = 0

    async def __call__(self, turn: Turn, next: Next) -> None:
        event = turn.event
        now = self._clock()
        keys = [event.event_id]
        if event.kind in {"message", "mention"} and event.message_id:
            # Slack delivers `@bot …` as both app_mention and message: answer the message once.
            keys.append(f"msg:{event.channel_id}:{event.message_id}")
        click = _click_key(event)
        if click is not None:
            keys.append(click)
        for key in keys:
            if not await asyncio.to_thread(self._store.claim_event, event.platform, key, now):
                log.info("duplicate %s event %s ignored", event.platform, event.event_id)
                return
        self._claims += 1
        if self._claims % _PRUNE_EVERY == 0:
            await asyncio.to_thread(self._store.prune_events, now - EVENT_RETENTION)
        if click is None:
            await next()
            return
        try:
            await next()
        except BaseException:
            await asyncio.to_thread(self._store.release_event, event.platform, click)
            raise


def _click_key(event: InboundEvent) -> str | None:
    """The once-per-(message, commit) key of a Details click answered in the thread."""
    button = event.button
    if event.kind != "button" or button is None or button.private or not event.message_id:
        return None
    return f"details:{event.channel_id}:{event.message_id}:{button.sha.lower()}"
