"""A world for alert tests: a fake GitHub with one followed repository, a settable clock, a
recording chat platform, and bots (processes) started over one database."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.alerts.service import AlertService
from tests.fakes.git_repo import GitRepoBuilder
from tests.fakes.github_payloads import FakeFile
from tests.fakes.github_server import FakeGitHub
from tests.fakes.scheduled_chat import Bot, FakeClock, LookupPlatform, start_bot

REPO = "acme/rocket"
START = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


def alerts_toml(
    *,
    alerts: str = "high",
    quiet_hours: str = "",
    max_per_hour: int = 6,
    fold_at: int = 3,
    channel: str = "C1",
    language: str = "en",
    webhook: bool = False,
) -> str:
    return (
        f'[[repos]]\nname = "{REPO}"\naliases = ["rocket"]\n\n'
        "[[subscriptions]]\n"
        f'repo = "rocket"\nplatform = "test"\nchannel = "{channel}"\nat = "09:00"\n'
        f'timezone = "UTC"\nlanguage = "{language}"\nalerts = "{alerts}"\n\n'
        "[alerts]\npoll_minutes = 5\n"
        f'quiet_hours = "{quiet_hours}"\nmax_per_channel_per_hour = {max_per_hour}\n'
        f"fold_at = {fold_at}\nwebhook = {'true' if webhook else 'false'}\n"
    )


@dataclass
class AlertWorld:
    tmp_path: Path
    local_repo: Path
    github: FakeGitHub
    clock: FakeClock = field(default_factory=lambda: FakeClock(START))
    platform: LookupPlatform = field(default_factory=LookupPlatform)
    toml: str = field(default_factory=alerts_toml)
    bots: list[Bot] = field(default_factory=list)
    first: str = ""  # the commit on the branch before any bot looked

    def start(self, **settings: Any) -> Bot:
        """A bot process over the world's database (call again for a restart or a replica)."""
        bot = start_bot(
            self.tmp_path,
            self.local_repo,
            self.platform,
            self.clock,
            extra_config=self.toml,
            github_api_url=self.github.url,
            github_token="test-token",
            **settings,
        )
        self.bots.append(bot)
        return bot

    async def sync(self, bot: Bot) -> AlertService:
        """The TOML subscriptions stored, as `serve` does at start."""
        await bot.scheduling.scheduler.sync_config()
        return bot.scheduling.alerts

    async def watching(self, **settings: Any) -> AlertService:
        """A started bot's alert service after its first look at the branch (the baseline),
        with the clock moved on by one poll interval."""
        alerts = await self.sync(self.start(**settings))
        await alerts.poll_once()
        self.clock.advance(timedelta(minutes=5))
        return alerts

    async def close(self) -> None:
        for bot in self.bots:
            await bot.close()
        self.bots.clear()

    def push(self, *titles: str, minutes: float = 1.0) -> list[str]:
        """Commits landing on the default branch now (committed `minutes` apart, the last at
        the clock's time); their SHAs in order."""
        shas = []
        count = len(titles)
        for index, title in enumerate(titles):
            at = self.clock.now - timedelta(minutes=minutes * (count - 1 - index))
            commit = self.github.add_commit(
                REPO, title, committed_at=at, files=[FakeFile("src/rocket/api.py", additions=40)]
            )
            shas.append(commit.sha)
        return shas


def followed_github() -> Iterator[FakeGitHub]:
    """The fake GitHub holding the followed repository (`github = pytest.fixture(…)`)."""
    with FakeGitHub() as server:
        server.add_repo(REPO)
        yield server


def make_world(tmp_path: Path, github: FakeGitHub, toml: str | None = None) -> AlertWorld:
    """A world whose followed branch already has one commit (from before any bot looked)."""
    local = tmp_path / "widget"
    GitRepoBuilder(local).commit("init", {"a.py": "x = 1\n"}, when=START - timedelta(days=1))
    world = AlertWorld(tmp_path, local, github, toml=toml or alerts_toml())
    (world.first,) = world.push("chore: the first commit")
    return world


HIGH = "feat(api)!: drop the v1 launch endpoint"
LOW = "docs: fix a typo in the launch guide"
MEDIUM = "fix(engine): retry the ignition on a transient fault"
