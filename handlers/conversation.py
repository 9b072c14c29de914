"""The bot's brain: an inbound chat event -> a command -> a use case -> replies via an adapter."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.analysis.answers import QuestionAnswerer
from bot.app import Core
from bot.costs import CommandCaps
from bot.errors import AccessDeniedError, ConfigError, DigestbotError, WindowTooLargeError
from bot.filters import CommitFilter
from bot.metrics import NO_METRICS, CommandObserver
from bot.models import Digest, Importance, Language, Window
from bot.repos import RepoTarget
from bot.service import DigestRequest, DigestService
from bot.storage.base import Store
from bot.storage.conversations import (
    ConversationStore,
    PostedMessage,
    SqlConversationStore,
    ThreadInfo,
)
from bot.windows import parse_window
from handlers.authz import Authorizer
from handlers.commands import (
    Command,
    DetailsCommand,
    DigestCommand,
    HelpCommand,
    ListSubscriptionsCommand,
    ParseError,
    QuestionCommand,
    SubscribeCommand,
    UnsubscribeCommand,
    normalize,
    parse_command,
)
from handlers.help_text import help_text
from handlers.ports import (
    ChatAdapter,
    InboundEvent,
    MessageRef,
    ReplyTarget,
    SubscriptionCommands,
)
from handlers.rate_limits import RateLimiter, RatePolicy, enforce, retry_message
from handlers.thread_commits import CommitRef, locate_commit

log = logging.getLogger(__name__)

EVENT_RETENTION = timedelta(days=7)  # platforms redeliver for hours (Feishu: up to ~6 h)
_PRUNE_EVERY = 500


@dataclass(frozen=True)
class Ack:
    """What an adapter shows in its immediate acknowledgement.

    `text` None: nothing to show. `done` True: `text` is the whole answer (help, a usage
    error, a refusal) and `handle` need not run."""

    text: str | None
    done: bool


@dataclass(frozen=True)
class ConversationSettings:
    default_timezone: str = "UTC"
    default_language: Language = "en"


class Conversation:
    """Turns InboundEvents into replies. Platform-neutral: adapters call `ack` and `handle`."""

    def __init__(
        self,
        *,
        service: DigestService,
        digests: Store,
        conversations: ConversationStore,
        authorizer: Authorizer,
        limiter: RateLimiter,
        policy: RatePolicy,
        clock: Callable[[], datetime],
        commit_filter: Callable[[RepoTarget], CommitFilter],
        settings: ConversationSettings | None = None,
        answerer: QuestionAnswerer | None = None,
        subscriptions: SubscriptionCommands | None = None,
        metrics: CommandObserver | None = None,
        caps: CommandCaps | None = None,
    ) -> None:
        self._service = service
        self._caps = caps  # a chat user's cost caps (None: uncapped)
        self._digests = digests
        self._store = conversations
        self._authz = authorizer
        self._limiter = limiter
        self._policy = policy
        self._clock = clock
        self._commit_filter = commit_filter
        self._settings = settings or ConversationSettings()
        self._answerer = answerer
        self.subscriptions = subscriptions  # settable: the scheduler is built after us
        self._claims = 0
        self._metrics = metrics if metrics is not None else NO_METRICS

    @classmethod
    def from_core(
        cls,
        core: Core,
        *,
        answerer: QuestionAnswerer | None = None,
        subscriptions: SubscriptionCommands | None = None,
        local_operator: bool = False,
    ) -> Conversation:
        """Wire the conversation layer from the composition root's shared objects.
        `local_operator` is the console: the person at the terminal may name local paths."""
        language = core.default_language()
        return cls(
            service=core.service,
            digests=core.store,
            conversations=SqlConversationStore(core.store.engine),
            authorizer=Authorizer(core.resolver, core.config.access, local_operator=local_operator),
            limiter=RateLimiter(core.clock),
            policy=RatePolicy(core.config.access),
            clock=core.clock,
            commit_filter=core.commit_filter,
            settings=ConversationSettings(
                default_timezone=core.default_timezone(),
                default_language="zh" if language == "zh" else "en",
            ),
            answerer=answerer,
            subscriptions=subscriptions,
            metrics=core.metrics,
            caps=core.command_caps(),
        )

    # -- entry points ------------------------------------------------------------------------

    def ack(self, event: InboundEvent) -> Ack:
        """Instant, no I/O: the text for the platform's acknowledgement of `event`."""
        command = self._parse(event)
        if command is None:
            return Ack(None, True)
        if isinstance(command, ParseError):
            return Ack(command.message, True)
        if isinstance(command, HelpCommand):
            return Ack(help_text(self._authz.repo_names(), command.topic), True)
        if isinstance(command, DigestCommand):
            try:
                repo = self._authz.repo(command.repo)
            except DigestbotError as exc:
                return Ack(exc.user_message, True)
            limits = self._policy.digest(event.platform, event.user_id, event.channel_id)
            retry = self._limiter.retry_at(limits)
            if retry is not None:
                return Ack(retry_message("digests", retry, self._clock()), True)
            return Ack(_building(repo, command, command.language or event.language), False)
        return Ack(None, False)

    async def handle(
        self, event: InboundEvent, adapter: ChatAdapter, *, acked: bool = False
    ) -> None:
        """Answer one event (at most once per event id). Never raises."""
        target = ReplyTarget.in_thread_of(event, _reply_thread(event))
        started = self._metrics.now()
        answering: str | None = None  # the command's metrics label once it is ours to answer
        try:
            command = self._parse(event)
            if command is None or (acked and isinstance(command, HelpCommand | ParseError)):
                return
            thread = await self._thread(event)
            if event.kind == "message" and thread is None:
                return  # overheard outside our digests' threads
            if not await self._claim(event):
                log.info("duplicate %s event %s ignored", event.platform, event.event_id)
                return
            answering = _command_name(command)
            turn = _Turn(event, adapter, target, thread, acked)
            await self._dispatch(turn, command)
        except DigestbotError as exc:
            log.info("%s event %s: %s", event.platform, event.event_id, exc)
            await self._safe_notice(adapter, target, exc.user_message)
        except Exception:  # the boundary: users get a reference, the log gets the rest
            ref = secrets.token_hex(3)
            log.exception("%s event %s failed (ref %s)", event.platform, event.event_id, ref)
            await self._safe_notice(adapter, target, f"Something went wrong (ref {ref}).")
        finally:
            if answering is not None:
                self._metrics.command_finished(event.platform, answering, started)

    async def publish_digest(
        self,
        adapter: ChatAdapter,
        target: ReplyTarget,
        repo: RepoTarget,
        digest: Digest,
        *,
        delivery_key: str | None = None,
    ) -> list[MessageRef]:
        """Save `digest`, post it, and record its messages so thread replies find it later."""
        digest_id = await asyncio.to_thread(self._digests.save_digest, digest, repo.key)
        refs = await adapter.send_digest(target, digest, delivery_key=delivery_key)
        self._metrics.digest_posted(target.platform)
        shas = tuple(item.commit.sha for item in digest.items)
        await self._record(
            refs, "digest", digest_id=digest_id, repo=repo.name, shas=shas, language=digest.language
        )
        return refs

    # -- parsing and bookkeeping -------------------------------------------------------------

    def _parse(self, event: InboundEvent) -> Command | ParseError | None:
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

    async def _thread(self, event: InboundEvent) -> ThreadInfo | None:
        root = event.thread_id or (event.message_id if event.kind == "button" else None)
        if root is None:
            return None
        return await asyncio.to_thread(
            self._store.find_thread, event.platform, event.channel_id, root
        )

    async def _claim(self, event: InboundEvent) -> bool:
        now = self._clock()
        keys = [event.event_id]
        if event.kind in {"message", "mention"} and event.message_id:
            # Slack delivers `@bot …` as both app_mention and message: answer the message once.
            keys.append(f"msg:{event.channel_id}:{event.message_id}")
        for key in keys:
            if not await asyncio.to_thread(self._store.claim_event, event.platform, key, now):
                return False
        self._claims += 1
        if self._claims % _PRUNE_EVERY == 0:
            await asyncio.to_thread(self._store.prune_events, now - EVENT_RETENTION)
        return True

    async def _record(
        self,
        refs: Sequence[MessageRef],
        kind: str,
        *,
        digest_id: int | None = None,
        repo: str | None = None,
        shas: tuple[str, ...] = (),
        language: str | None = None,
    ) -> None:
        posted = [
            PostedMessage(
                r.platform,
                r.channel_id,
                r.message_id,
                r.thread_id,
                kind,
                digest_id,
                repo,
                shas,
                language,
            )
            for r in refs
        ]
        await asyncio.to_thread(self._store.record_messages, posted, self._clock())

    async def _safe_notice(self, adapter: ChatAdapter, target: ReplyTarget, text: str) -> None:
        try:
            await adapter.send_notice(target, text)
        except Exception:  # nothing more to tell the user; the log has it
            log.exception("could not send a notice on %s", target.platform)

    # -- use cases ---------------------------------------------------------------------------

    async def _dispatch(self, turn: _Turn, command: Command | ParseError) -> None:
        if isinstance(command, ParseError):
            await turn.adapter.send_notice(turn.target, command.message)
        elif isinstance(command, HelpCommand):
            text = help_text(self._authz.repo_names(), command.topic)
            await turn.adapter.send_notice(turn.target, text)
        elif isinstance(command, DigestCommand):
            await self._digest(turn, command)
        elif isinstance(command, DetailsCommand):
            ref = self._locate(turn, command.sha, command.repo, explicit=command.explicit)
            if not ref.in_digest:  # may cost a fetch and an analysis: count it
                self._charge_question(turn.event)
            await self._send_details(turn, ref)
        elif isinstance(command, QuestionCommand):
            await self._question(turn, command)
        else:
            await self._subscription(turn, command)

    async def _digest(self, turn: _Turn, command: DigestCommand) -> None:
        event = turn.event
        repo = self._authz.repo(command.repo)
        zone = command.timezone or self._settings.default_timezone
        window = parse_window(command.when, zone, self._clock())
        limits = self._policy.digest(event.platform, event.user_id, event.channel_id)
        enforce(self._limiter, limits, "digests", self._clock())
        channel = ReplyTarget(event.platform, event.channel_id, None, event.user_id, event)
        if not turn.acked:
            language = command.language or event.language or self._settings.default_language
            await turn.adapter.send_notice(channel, _building(repo, command, language))
        request = DigestRequest(
            language=command.language or event.language or self._settings.default_language,
            min_importance=command.min_importance or Importance.LOW,
            commit_filter=self._commit_filter(repo),
            caps=self._caps_for(event),
        )
        try:
            digest = await self._service.build_digest(repo, window, request)
        except WindowTooLargeError as exc:
            hint = _narrower(command, window, exc.fits_days)
            raise WindowTooLargeError(exc.commits, exc.limit, exc.fits_days, hint) from exc
        await self.publish_digest(turn.adapter, channel, repo, digest)

    def _caps_for(self, event: InboundEvent) -> CommandCaps | None:
        """Chat users get the configured caps; admins spend from the repository's request
        budget without limits; the console's operator is not capped, like the CLI."""
        if self._caps is None or self._authz.local_operator:
            return None
        if self._authz.is_admin(event.platform, event.user_id):
            return CommandCaps.admin()
        return self._caps

    async def _question(self, turn: _Turn, command: QuestionCommand) -> None:
        ref = self._locate(turn, command.sha, None, explicit=False)
        if self._answerer is None:  # no LLM: the analysis is the best answer we have
            if not ref.in_digest:
                self._charge_question(turn.event)
            await self._send_details(turn, ref)
            return
        self._charge_question(turn.event)
        item = await self._service.commit_details(ref.repo, ref.sha, ref.language)
        commit = await self._service.get_commit(ref.repo, item.commit.sha)
        # A failed or rate-limited model is answered from the stored analysis, never an error.
        answer = await self._answerer.answer(command.question, commit, item, ref.language)
        refs = await turn.adapter.send_text(turn.target, f"{item.commit.short_sha} — {answer.text}")
        await self._record(
            refs, "answer", repo=ref.repo.name, shas=(item.commit.sha,), language=ref.language
        )

    async def _send_details(self, turn: _Turn, ref: CommitRef) -> None:
        item = await self._service.commit_details(ref.repo, ref.sha, ref.language)
        repo_url = self._service.source_for(ref.repo).repo_url(ref.repo)
        refs = await turn.adapter.send_details(turn.target, item, repo_url, ref.language)
        await self._record(
            refs, "details", repo=ref.repo.name, shas=(item.commit.sha,), language=ref.language
        )

    def _locate(self, turn: _Turn, sha: str, repo: str | None, *, explicit: bool) -> CommitRef:
        return locate_commit(
            self._authz,
            sha=sha,
            repo_text=repo,
            thread=turn.thread,
            explicit=explicit,
            fallback_language=turn.event.language or self._settings.default_language,
        )

    def _charge_question(self, event: InboundEvent) -> None:
        limits = self._policy.question(event.platform, event.user_id, event.channel_id)
        enforce(self._limiter, limits, "questions", self._clock())

    async def _subscription(
        self,
        turn: _Turn,
        command: SubscribeCommand | UnsubscribeCommand | ListSubscriptionsCommand,
    ) -> None:
        if not self._authz.may_manage_subscriptions(turn.event):
            raise AccessDeniedError("Only admins or channel managers can manage subscriptions.")
        if self.subscriptions is None:
            raise ConfigError("Subscriptions are not set up on this bot.")
        if isinstance(command, SubscribeCommand):
            self._authz.repo(command.repo)  # allowlist first: a clear refusal, nothing stored
            text = await self.subscriptions.subscribe(turn.event, command)
        elif isinstance(command, UnsubscribeCommand):
            text = await self.subscriptions.unsubscribe(turn.event, command)
        else:
            text = await self.subscriptions.list(turn.event)
        refs = await turn.adapter.send_text(turn.target, text)
        await self._record(refs, "text")


@dataclass(frozen=True)
class _Turn:
    """One event being answered, and where the answer goes."""

    event: InboundEvent
    adapter: ChatAdapter
    target: ReplyTarget
    thread: ThreadInfo | None
    acked: bool


def _command_name(command: Command | ParseError) -> str:
    """The command's label in metrics: digest, details, question, help, subscribe, …"""
    if isinstance(command, ParseError):
        return "invalid"
    return type(command).__name__.removesuffix("Command").lower()


def _reply_thread(event: InboundEvent) -> str | None:
    """Replies go in the event's thread, else start one under the user's message."""
    if event.thread_id:
        return event.thread_id
    return event.message_id if event.kind in {"mention", "message", "button"} else None


def _building(repo: RepoTarget, command: DigestCommand, language: str | None) -> str:
    if language == "zh":
        return f"正在生成 {repo.name} 的摘要（{command.when}）…"
    return f"Building the digest of {repo.name} for {command.when}…"


def _narrower(command: DigestCommand, window: Window, days: int) -> str:
    """`digest sglang 7d` when the window ends today, else the last `days` days as a range."""
    if days <= 0:
        return "Even its last day is over the limit; ask an admin for this one."
    if command.when in {"today", "week"} or command.when.endswith("d"):
        when = f"{days}d"
    else:
        last = date.fromisoformat(window.last_day)
        first = last - timedelta(days=days - 1)
        when = last.isoformat() if days == 1 else f"{first.isoformat()}..{last.isoformat()}"
    return f"Try `digest {command.repo} {when}` or a shorter date range."
