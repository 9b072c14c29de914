"""A chat "platform" for scheduler tests: records every post, finds posts by their part key
(like Slack metadata / Feishu uuid / Discord nonce lookups), and can crash on demand.

It outlives the bot: tests restart the bot (new core, stores and scheduler on the same
database) while the platform keeps what was posted, exactly like a real channel.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.analysis.heuristic import HeuristicAnalyzer
from bot.errors import PlatformError
from bot.models import Alert, Commit, CommitSummary, Digest, DigestItem, Language, Window
from bot.repos import RepoTarget
from bot.service import DigestService
from bot.sources.base import CommitSource
from bot.sources.git import GitSource
from bot.windows import days_window
from digestbot.chat_wiring import Scheduling
from digestbot.wiring import Core
from handlers.conversation.conversation import Conversation
from handlers.ports import MessageRef, PartKey, ReplyTarget
from handlers.runtime.digest_parts import send_digest
from tests.fakes.chat import build_chat_core
from tests.fakes.conversations import scheduling_of
from tests.fakes.git_repo import GitRepoBuilder


class Crash(BaseException):
    """The process dies here: nothing after this point runs (BaseException passes every
    `except Exception` in the code under test, like a SIGKILL would)."""


class FakeClock:
    """An injected, settable clock."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def set(self, moment: datetime) -> None:
        self.now = moment

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@dataclass(frozen=True)
class Post:
    channel_id: str
    message_id: str
    key: str | None  # the delivery key (scheduled posts)
    digest: Digest | None
    text: str | None = None
    index: int = 0  # the part (0: the root)
    thread_id: str | None = None
    at: datetime | None = None  # the platform's time of the post
    alert: Alert | None = None  # an alert card (its digest is `digest`)
    image: bytes | None = None  # an uploaded image (the week's chart)


@dataclass
class LookupPlatform:
    """A ChatAdapter with `find_part` (the PartLookup capability).

    A digest renders as `parts` messages. `crash_before_send` / `crash_after_send` are asked
    before and after each part's post: when one returns True the call raises Crash (after the
    post is stored, for the latter). `refuse(key, index)` True answers a part with a
    PlatformError (nothing posted). `clock` is the platform's own time (posts are found by it).
    """

    platform: str = "test"
    posts: list[Post] = field(default_factory=list)
    notices: list[tuple[str, str]] = field(default_factory=list)
    crash_before_send: Callable[[], bool] = lambda: False
    crash_after_send: Callable[[], bool] = lambda: False
    refuse: Callable[[str | None, int], bool] = lambda key, index: False
    parts: int = 1
    clock: Callable[[], datetime] | None = None  # None: the bot's (set by start_bot)
    lookups: int = 0
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _digests: dict[int, Digest] = field(default_factory=dict)
    _alerts: dict[int, Alert] = field(default_factory=dict)

    async def send_digest(
        self, target: ReplyTarget, digest: Digest, *, delivery_key: str | None = None
    ) -> list[MessageRef]:
        return await send_digest(self, target, digest, delivery_key)

    def render_digest(self, digest: Digest, *, delivery_key: str | None = None) -> list[str]:
        number = next(self._ids)
        self._digests[number] = digest
        return [
            json.dumps({"digest": number, "part": i, "of": self.parts}) for i in range(self.parts)
        ]

    def render_alert(self, alert: Alert, *, delivery_key: str) -> list[str]:
        number = next(self._ids)
        self._digests[number] = alert.digest
        self._alerts[number] = alert
        return [json.dumps({"digest": number, "part": 0, "of": 1})]

    async def post_part(
        self,
        target: ReplyTarget,
        payload: str,
        *,
        root: MessageRef | None = None,
        key: PartKey | None = None,
    ) -> list[MessageRef]:
        data = json.loads(payload)
        index = int(data["part"])
        delivery = key.delivery_key if key is not None else None
        if self.crash_before_send():
            raise Crash("before send")
        if self.refuse(delivery, index):
            raise PlatformError("The platform refused the message.", detail=f"part {index}")
        message_id = f"p{next(self._ids)}"
        thread = None if root is None else (root.thread_id or root.message_id)
        digest = self._digests.get(int(data["digest"])) if index == 0 else None
        at = self.clock() if self.clock is not None else datetime.now(UTC)
        alert = self._alerts.get(int(data["digest"]))
        post = Post(target.channel_id, message_id, delivery, digest, None, index, thread, at, alert)
        self.posts.append(post)
        if self.crash_after_send():
            raise Crash("after send")
        return [MessageRef(self.platform, target.channel_id, message_id, thread)]

    async def find_part(
        self,
        target: ReplyTarget,
        key: PartKey,
        *,
        root: MessageRef | None,
        between: tuple[datetime, datetime],
        payload: str,
    ) -> list[MessageRef] | None:
        self.lookups += 1
        return [
            MessageRef(self.platform, p.channel_id, p.message_id, p.thread_id)
            for p in self.posts
            if p.key == key.delivery_key
            and p.index == key.index
            and p.channel_id == target.channel_id
            and p.at is not None
            and between[0] <= p.at <= between[1]
        ]

    async def send_details(
        self, target: ReplyTarget, item: DigestItem, repo_url: str, language: Language
    ) -> list[MessageRef]:
        return [MessageRef(self.platform, target.channel_id, f"d{next(self._ids)}")]

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
        if self.crash_before_send():
            raise Crash("before send")
        message_id = f"i{next(self._ids)}"
        at = self.clock() if self.clock is not None else datetime.now(UTC)
        post = Post(
            target.channel_id, message_id, None, None, title, -1, target.thread_id, at, image=image
        )
        self.posts.append(post)
        return [MessageRef(self.platform, target.channel_id, message_id, target.thread_id)]

    async def send_text(self, target: ReplyTarget, text: str) -> list[MessageRef]:
        self.notices.append((target.channel_id, text))
        return [MessageRef(self.platform, target.channel_id, f"t{next(self._ids)}")]

    async def send_notice(self, target: ReplyTarget, text: str) -> None:
        self.notices.append((target.channel_id, text))

    def alerts(self) -> list[Post]:
        """The alert cards posted, in order."""
        return [p for p in self.posts if p.alert is not None]

    def keys(self) -> Counter[str]:
        """Root posts per delivery key."""
        return Counter(p.key for p in self.posts if p.key is not None and p.index == 0)

    def part_counts(self) -> Counter[tuple[str, int]]:
        return Counter((p.key, p.index) for p in self.posts if p.key is not None)

    def duplicates(self) -> dict[tuple[str, int], int]:
        return {k: n for k, n in self.part_counts().items() if n > 1}


class NoLookupPlatform(LookupPlatform):
    """A platform that cannot look posts up (like the console)."""

    find_part = None  # type: ignore[assignment]


@dataclass
class Bot:
    """One running bot process in a test: core, conversation and scheduling."""

    core: Core
    conversation: Conversation
    scheduling: Scheduling

    async def close(self) -> None:
        await self.core.aclose()


def start_bot(
    tmp_path: Path,
    repo_path: Path,
    platform: LookupPlatform,
    clock: Callable[[], datetime],
    *,
    extra_config: str = "",
    source: CommitSource | None = None,
    **settings: Any,
) -> Bot:
    """A fresh "process" over the same database file (a restart when called again).
    `source` replaces the local git source (e.g. a SnapshotSource, to skip subprocesses).
    The platform keeps time with the bot's clock (one world, one time)."""
    if platform.clock is None:
        platform.clock = clock
    core = build_chat_core(tmp_path, repo_path, extra_config=extra_config, clock=clock, **settings)
    if source is not None:
        heuristic = HeuristicAnalyzer()
        core.service = DigestService(
            sources={**core.sources, "local": source},
            analyzer=heuristic,
            fallback_analyzer=heuristic,
            store=core.store,
            clock=core.clock,
        )
    scheduling, conversation = scheduling_of(core, {platform.platform: platform})
    return Bot(core, conversation, scheduling)


class SnapshotSource:
    """Every commit of a local repository read once through the real GitSource, then served
    from memory: the same commits and windows, without a git subprocess per digest."""

    def __init__(
        self, summaries: list[CommitSummary], commits: dict[str, Commit], url: str
    ) -> None:
        self._summaries = summaries
        self._commits = commits
        self._url = url

    @classmethod
    async def load(cls, repo_path: Path, first: date, last: date) -> SnapshotSource:
        git = GitSource()
        target = RepoTarget(kind="local", name="acme/widget", path=repo_path)
        window = days_window(first, last, ZoneInfo("UTC"), "all")
        summaries = await git.list_commits(target, window)
        commits = {s.sha: await git.get_commit(target, s.sha) for s in summaries}
        return cls(summaries, commits, git.repo_url(target))

    async def list_commits(self, repo: RepoTarget, window: Window) -> list[CommitSummary]:
        return [s for s in self._summaries if window.start <= s.committed_at < window.end]

    async def get_commit(self, repo: RepoTarget, sha: str) -> Commit:
        return self._commits[sha]

    async def resolve_sha(self, repo: RepoTarget, prefix: str) -> str:
        (sha,) = [s for s in self._commits if s.startswith(prefix)]
        return sha

    def repo_url(self, repo: RepoTarget) -> str:
        return self._url

    async def aclose(self) -> None:
        return None


def make_daily_repo(path: Path, first: date, days: int, zone: Any = UTC) -> dict[date, str]:
    """A repository with one commit at local noon on each of `days` days from `first`."""
    repo = GitRepoBuilder(path)
    shas: dict[date, str] = {}
    for offset in range(days):
        day = first + timedelta(days=offset)
        when = datetime.combine(day, time(12), tzinfo=zone)
        shas[day] = repo.commit(
            f"feat(core): change of {day}",
            {f"src/day_{offset}.py": f"VALUE = {offset}\n"},
            when=when,
        )
    return shas


def subscription_toml(
    *, at: str, timezone: str, days: str = "", channel: str = "C1", language: str = "en"
) -> str:
    days_line = f"days = [{days}]\n" if days else ""
    return (
        "[[subscriptions]]\n"
        f'repo = "widget"\nplatform = "test"\nchannel = "{channel}"\n'
        f'at = "{at}"\ntimezone = "{timezone}"\nlanguage = "{language}"\n{days_line}\n'
    )
