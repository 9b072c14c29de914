"""The bot's brain: an admitted chat event -> a use case -> replies through the adapter."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.analysis.answers import QuestionAnswerer
from bot.costs import CommandCaps
from bot.errors import AccessDeniedError, ConfigError, DigestbotError, WindowTooLargeError
from bot.filters import CommitFilter
from bot.metrics import NO_METRICS, CommandObserver
from bot.models import Digest, Importance, Language, Window
from bot.report_links import ReportLinks
from bot.repos import RepoTarget
from bot.service import DigestRequest, DigestService
from bot.storage.base import Store
from bot.storage.conversations import (
    ConversationStore,
    PostedMessage,
)
from bot.windows import parse_window
from handlers.conversation.authz import Authorizer
from handlers.conversation.commands import (
    AlertsCommand,
    Command,
    DetailsCommand,
    DigestCommand,
    ListSubscriptionsCommand,
    QuestionCommand,
    SubscribeCommand,
    UnsubscribeCommand,
)
from handlers.conversation.middleware import (
    Authorize,
    Claim,
    CostCaps,
    Middleware,
    Parse,
    RateLimit,
    SeenRecently,
    ThreadScope,
    Turn,
    run_chain,
)
from handlers.conversation.rate_limits import RateLimiter, RatePolicy, enforce
from handlers.conversation.subscriptions import SubscriptionCommands
from handlers.conversation.thread_commits import CommitRef, locate_commit
from handlers.ports import (
    ChatAdapter,
    InboundEvent,
    MessageRef,
    ReplyTarget,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConversationSettings:
    default_timezone: str = "UTC"
    default_language: Language = "en"


class Conversation:
    """Turns InboundEvents into replies. Platform-neutral: adapters call `admit` (then `handle`
    with the admitted turn) or `respond`; the cross-cutting steps are middleware."""

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
        links: ReportLinks | None = None,
    ) -> None:
        self._links = links  # the digests' web pages; None: not published
        self._service = service
        self._digests = digests
        self._store = conversations
        self._authz = authorizer
        self._limiter = limiter
        self._policy = policy
        self._clock = clock
        self._commit_filter = commit_filter
        self._settings = settings or ConversationSettings()
        self._answerer = answerer
        self._subscriptions = subscriptions
        self._metrics = metrics if metrics is not None else NO_METRICS
        self._admission: list[Middleware] = [
            Parse(authorizer),
            SeenRecently(),
            Authorize(authorizer, default_language=self._settings.default_language),
            RateLimit(
                limiter, policy, overheard=False, default_language=self._settings.default_language
            ),
            CostCaps(authorizer, caps),
        ]
        self._handling: list[Middleware] = [
            ThreadScope(conversations),
            RateLimit(
                limiter, policy, overheard=True, default_language=self._settings.default_language
            ),
            Claim(conversations, clock),
        ]

    # -- entry points ------------------------------------------------------------------------

    async def admit(self, event: InboundEvent) -> Turn:
        """The admission chain (no I/O, so it fits any platform's acknowledgement deadline):
        the event parsed, deduplicated, authorized, rate-limited and capped, once. The turn's
        `ack_text` is what the acknowledgement shows; when `done`, it is the whole answer."""
        turn = Turn(event)
        await run_chain(self._admission, turn, self._admitted)
        return turn

    async def handle(self, turn: Turn, adapter: ChatAdapter, *, ack_shown: bool = False) -> None:
        """Answer an admitted event (at most once per event id). `ack_shown`: the platform
        showed `turn.ack_text` already. Never raises."""
        if turn.done and turn.reply is None:
            return  # not for us
        event = turn.event
        target = ReplyTarget.in_thread_of(event, _reply_thread(event))
        started = self._metrics.now()
        answering: list[str] = []  # the command's metrics label once it is ours to answer

        async def answer(turn: Turn) -> None:
            answering.append(_command_name(turn.command))
            if turn.done:
                if turn.reply is not None and not ack_shown:
                    await adapter.send_notice(target, turn.reply)
                return
            await self._dispatch(_Answer(turn, adapter, target, ack_shown))

        try:
            await run_chain(self._handling, turn, answer)
        except DigestbotError as exc:
            log.info("%s event %s: %s", event.platform, event.event_id, exc)
            await self._safe_notice(adapter, target, exc.message_in(self._language(turn)))
        except Exception:  # the boundary: users get a reference, the log gets the rest
            ref = secrets.token_hex(3)
            log.exception("%s event %s failed (ref %s)", event.platform, event.event_id, ref)
            text = (
                f"出错了（编号 {ref}）。"
                if self._language(turn) == "zh"
                else f"Something went wrong (ref {ref})."
            )
            await self._safe_notice(adapter, target, text)
        finally:
            if answering:
                self._metrics.command_finished(event.platform, answering[0], started)

    async def respond(self, event: InboundEvent, adapter: ChatAdapter) -> None:
        """Admit and answer an event whose platform shows no acknowledgement text (messages,
        mentions, button clicks, Feishu, the console). Never raises."""
        await self.handle(await self.admit(event), adapter)

    def _language(self, turn: Turn) -> Language:
        """The session's language: the thread's digest's, else the command's or the
        platform's, else the bot's default."""
        if turn.thread is not None and turn.thread.language in ("zh", "en"):
            return "zh" if turn.thread.language == "zh" else "en"
        command = turn.command
        chosen = getattr(command, "language", None) or turn.event.language
        if chosen in ("zh", "en"):
            return "zh" if chosen == "zh" else "en"
        return self._settings.default_language

    async def _admitted(self, turn: Turn) -> None:
        """The end of admission: a digest's acknowledgement says what is being built."""
        command = turn.command
        if isinstance(command, DigestCommand) and turn.repo is not None:
            language = command.language or turn.event.language
            turn.ack = _building(turn.repo, command, language)

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
        if self._links is not None:
            url = self._links.report_url(digest.repo, digest_id)
            digest = digest.model_copy(update={"report_url": url})
        refs = await adapter.send_digest(target, digest, delivery_key=delivery_key)
        self._metrics.digest_posted(target.platform)
        shas = tuple(item.commit.sha for item in digest.items)
        await self._record(
            refs, "digest", digest_id=digest_id, repo=repo.name, shas=shas, language=digest.language
        )
        return refs

    # -- parsing and bookkeeping -------------------------------------------------------------

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

    async def _dispatch(self, answer: _Answer) -> None:
        command = answer.turn.command
        if isinstance(command, DigestCommand):
            await self._digest(answer, command)
        elif isinstance(command, DetailsCommand):
            ref = self._locate(answer, command.sha, command.repo, explicit=command.explicit)
            if not ref.in_digest:  # may cost a fetch and an analysis: count it
                self._charge_question(answer.event)
            await self._send_details(answer, ref)
        elif isinstance(command, QuestionCommand):
            await self._question(answer, command)
        elif isinstance(
            command,
            SubscribeCommand | AlertsCommand | UnsubscribeCommand | ListSubscriptionsCommand,
        ):
            await self._subscription(answer, command)
        else:  # admission answers help itself; nothing else reaches here
            raise TypeError(f"no use case for {command!r}")

    async def _digest(self, answer: _Answer, command: DigestCommand) -> None:
        event, repo = answer.event, answer.turn.repo
        if repo is None:  # admission authorizes every digest; a turn without one is a bug
            raise TypeError("a digest turn without an authorized repository")
        zone = command.timezone or self._settings.default_timezone
        window = parse_window(command.when, zone, self._clock())
        channel = ReplyTarget(event.platform, event.channel_id, None, event.user_id, event)
        language = command.language or event.language or self._settings.default_language
        if not answer.ack_shown:
            await answer.adapter.send_notice(channel, _building(repo, command, language))
        request = DigestRequest(
            language=language,
            min_importance=command.min_importance or Importance.LOW,
            commit_filter=self._commit_filter(repo),
            caps=answer.turn.caps,
        )
        try:
            digest = await self._service.build_digest(repo, window, request)
        except WindowTooLargeError as exc:
            hint = _narrower(command, window, exc.fits_days)
            raise WindowTooLargeError(exc.commits, exc.limit, exc.fits_days, hint) from exc
        await self.publish_digest(answer.adapter, channel, repo, digest)

    async def _question(self, answer: _Answer, command: QuestionCommand) -> None:
        ref = self._locate(answer, command.sha, None, explicit=False)
        if self._answerer is None:  # no LLM: the analysis is the best answer we have
            if not ref.in_digest:
                self._charge_question(answer.event)
            await self._send_details(answer, ref)
            return
        self._charge_question(answer.event)
        item = await self._service.commit_details(ref.repo, ref.sha, ref.language)
        commit = await self._service.get_commit(ref.repo, item.commit.sha)
        # A failed or rate-limited model is answered from the stored analysis, never an error.
        reply = await self._answerer.answer(command.question, commit, item, ref.language)
        refs = await answer.adapter.send_text(
            answer.target, f"{item.commit.short_sha} — {reply.text}"
        )
        await self._record(
            refs, "answer", repo=ref.repo.name, shas=(item.commit.sha,), language=ref.language
        )

    async def _send_details(self, answer: _Answer, ref: CommitRef) -> None:
        item = await self._service.commit_details(ref.repo, ref.sha, ref.language)
        repo_url = self._service.source_for(ref.repo).repo_url(ref.repo)
        refs = await answer.adapter.send_details(answer.target, item, repo_url, ref.language)
        await self._record(
            refs, "details", repo=ref.repo.name, shas=(item.commit.sha,), language=ref.language
        )

    def _locate(self, answer: _Answer, sha: str, repo: str | None, *, explicit: bool) -> CommitRef:
        return locate_commit(
            self._authz,
            sha=sha,
            repo_text=repo,
            thread=answer.turn.thread,
            explicit=explicit,
            fallback_language=answer.event.language or self._settings.default_language,
        )

    def _charge_question(self, event: InboundEvent) -> None:
        limits = self._policy.question(event.platform, event.user_id, event.channel_id)
        enforce(self._limiter, limits, "questions", self._clock())

    async def _subscription(
        self,
        answer: _Answer,
        command: SubscribeCommand | AlertsCommand | UnsubscribeCommand | ListSubscriptionsCommand,
    ) -> None:
        event = answer.event
        if not self._authz.may_manage_subscriptions(event):
            raise AccessDeniedError(
                "Only admins or channel managers can manage subscriptions.",
                zh="只有管理员或频道管理者可以管理订阅。",
            )
        if self._subscriptions is None:
            raise ConfigError(
                "Subscriptions are not set up on this bot.", zh="这个机器人未启用订阅。"
            )
        if isinstance(command, SubscribeCommand):
            repo = answer.turn.repo
            if repo is None:  # admission authorizes the repository of every subscribe
                raise TypeError("a subscribe turn without an authorized repository")
            text = await self._subscriptions.subscribe(event, command, repo)
        elif isinstance(command, AlertsCommand):
            text = await self._subscriptions.set_alerts(event, command)
        elif isinstance(command, UnsubscribeCommand):
            text = await self._subscriptions.unsubscribe(event, command)
        else:
            text = await self._subscriptions.list(event)
        refs = await answer.adapter.send_text(answer.target, text)
        await self._record(refs, "text")


@dataclass(frozen=True)
class _Answer:
    """An admitted turn being answered, and where the answer goes."""

    turn: Turn
    adapter: ChatAdapter
    target: ReplyTarget
    ack_shown: bool

    @property
    def event(self) -> InboundEvent:
        return self.turn.event


def _command_name(command: Command | None) -> str:
    """The command's label in metrics: digest, details, question, help, subscribe, …; a usage
    error is "invalid"."""
    if command is None:
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
