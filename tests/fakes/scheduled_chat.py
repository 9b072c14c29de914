"""A chat "platform" for scheduler tests: records every post, finds posts by delivery key
(like Slack metadata / Feishu uuid / Discord nonce lookups), and can crash on demand.

It outlives the bot: tests restart the bot (new core, stores and scheduler on the same
database) while the platform keeps what was posted, exactly like a real channel.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.analysis.heuristic import HeuristicAnalyzer
from bot.app import Core
from bot.models import Commit, CommitSummary, Digest, DigestItem, Language, Window
from bot.repos import RepoTarget
from bot.service import DigestService
from bot.sources.base import CommitSource
from bot.sources.git import GitSource
from bot.windows import days_window
from handlers.conversation import Conversation
from handlers.ports import MessageRef, ReplyTarget
from handlers.subscriptions import Scheduling, build_scheduling
from tests.fakes.chat import build_chat_core
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
    key: str | None
    digest: Digest | None
    text: str | None = None


@dataclass
class LookupPlatform:
    """A ChatAdapter with `find_delivery` (the DeliveryLookup capability).

    `crash_before_send` / `crash_after_send` are asked before and after each digest post: when
    one returns True the call raises Crash (after the post is stored, for the latter).
    """

    platform: str = "test"
    posts: list[Post] = field(default_factory=list)
    notices: list[tuple[str, str]] = field(default_factory=list)
    crash_before_send: Callable[[], bool] = lambda: False
    crash_after_send: Callable[[], bool] = lambda: False
    lookups: int = 0
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    async def send_digest(
        self, target: ReplyTarget, digest: Digest, *, delivery_key: str | None = None
    ) -> list[MessageRef]:
        if self.crash_before_send():
            raise Crash("before send")
        message_id = f"p{next(self._ids)}"
        self.posts.append(Post(target.channel_id, message_id, delivery_key, digest))
        if self.crash_after_send():
            raise Crash("after send")
        return [MessageRef(self.platform, target.channel_id, message_id)]

    async def find_delivery(self, target: ReplyTarget, delivery_key: str) -> list[MessageRef]:
        self.lookups += 1
        return [
            MessageRef(self.platform, p.channel_id, p.message_id)
            for p in self.posts
            if p.key == delivery_key and p.channel_id == target.channel_id
        ]

    async def send_details(
        self, target: ReplyTarget, item: DigestItem, repo_url: str, language: Language
    ) -> list[MessageRef]:
        return [MessageRef(self.platform, target.channel_id, f"d{next(self._ids)}")]

    async def send_text(self, target: ReplyTarget, text: str) -> list[MessageRef]:
        self.notices.append((target.channel_id, text))
        return [MessageRef(self.platform, target.channel_id, f"t{next(self._ids)}")]

    async def send_notice(self, target: ReplyTarget, text: str) -> None:
        self.notices.append((target.channel_id, text))

    def keys(self) -> Counter[str]:
        return Counter(p.key for p in self.posts if p.key is not None)

    def duplicates(self) -> dict[str, int]:
        return {k: n for k, n in self.keys().items() if n > 1}


class NoLookupPlatform(LookupPlatform):
    """A platform that cannot look posts up (like the console)."""

    find_delivery = None  # type: ignore[assignment]


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
    clock: FakeClock,
    *,
    extra_config: str = "",
    source: CommitSource | None = None,
    **settings: Any,
) -> Bot:
    """A fresh "process" over the same database file (a restart when called again).
    `source` replaces the local git source (e.g. a SnapshotSource, to skip subprocesses)."""
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
    conversation = Conversation.from_core(core)
    scheduling = build_scheduling(core, conversation, {platform.platform: platform})
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
