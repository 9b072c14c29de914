"""Chat commands against real PyGithub and openai clients on the local fakes: what upstream sees.

Single-flight (50 identical commands cost one digest's requests), the per-command caps on
commits and LLM calls, the per-repository GitHub budget, and who is exempt (admins, the
console's operator, scheduled posts).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.models import CALL_LIMIT_REASON, Digest
from bot.service import DigestRequest
from bot.windows import parse_window
from digestbot.wiring import Core, build_core
from formatters.markdown import render_markdown
from handlers.conversation.conversation import Conversation
from handlers.ports import InboundEvent
from handlers.registry import PLATFORMS
from tests.fakes.chat import RecordingAdapter
from tests.fakes.conversations import conversation_of
from tests.fakes.github_server import FakeFile, FakeGitHub
from tests.fakes.openai_server import FakeOpenAI, Scripted, sample_analysis, valid

REPO = "acme/engine"
NOW = datetime(2026, 2, 8, 20, 0, tzinfo=UTC)
DAY = datetime(2026, 2, 8, tzinfo=UTC)
COMMITS_TODAY = 20
ADMIN = "UADMIN"


def answer(body: dict[str, Any]) -> Scripted:
    if '"overview"' in json.dumps(body.get("response_format") or body["messages"][0]["content"]):
        return valid({"overview": "A busy day in the engine."})
    return valid(sample_analysis(importance="medium"), prompt_tokens=300, completion_tokens=60)


@dataclass
class World:
    github: FakeGitHub
    llm: FakeOpenAI
    core: Core
    conversation: Conversation

    def llm_calls(self, kind: str | None = None) -> int:
        calls = [
            json.dumps(r.get("response_format") or r["messages"][0]) for r in self.llm.requests
        ]
        if kind is None:
            return len(calls)
        return sum(1 for c in calls if ('"overview"' in c) == (kind == "overview"))


def command(text: str, n: int, *, user: str | None = None) -> InboundEvent:
    # Each command from its own user and channel: the per-user and per-channel hourly limits
    # (other tests) stay out of the way.
    return InboundEvent(
        platform="test",
        event_id=f"ev{n}",
        user_id=user or f"U{n}",
        channel_id=f"C{n}",
        kind="command",
        text=text,
    )


def _config(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "digestbot.toml"
    path.write_text(
        '[defaults]\ntimezone = "UTC"\n\n'
        f'[[repos]]\nname = "{REPO}"\naliases = ["engine"]\n\n'
        f'[access]\nadmins = ["test:{ADMIN}"]\n\n' + extra,
        encoding="utf-8",
    )
    return path


def _load(github: FakeGitHub) -> None:
    github.add_repo(REPO)
    # Ten commits a day for the 30 days before today, and COMMITS_TODAY today.
    for day in range(30, 0, -1):
        for k in range(10):
            when = DAY - timedelta(days=day) + timedelta(hours=8, minutes=k)
            github.add_commit(REPO, f"fix: old change {day}.{k}", committed_at=when)
    for k in range(COMMITS_TODAY):
        github.add_commit(
            REPO,
            f"fix(core): change {k} (#{100 + k})",
            committed_at=DAY + timedelta(hours=9, minutes=k),
            files=[FakeFile(f"src/core/m{k}.py", "modified", 5, 1, "@@ -1 +1 @@\n-a\n+b")],
        )


@pytest.fixture
def fakes() -> Iterator[tuple[FakeGitHub, FakeOpenAI]]:
    with FakeGitHub() as github, FakeOpenAI(default=answer, latency=0.3) as llm:
        _load(github)
        yield github, llm


async def _world(
    tmp_path: Path, fakes: tuple[FakeGitHub, FakeOpenAI], extra: str = "", **settings: Any
) -> AsyncIterator[World]:
    github, llm = fakes
    values: dict[str, Any] = {
        "github_api_url": github.url,
        "github_token": "ghp_costscostscostscostscosts0000",
        "openai_api_key": "sk-costs-0123456789abcdefghij",
        "openai_base_url": llm.base_url,
        "llm_model": "fake-model",
        "llm_triage": "off",  # one LLM call per commit: the ideal is easy to state
        "llm_max_retries": 0,
        "database_url": f"sqlite:///{tmp_path / 'db.sqlite'}",
        **settings,
    }
    settings_ = Settings(_env_file=None, **values)  # type: ignore[call-arg]
    core = build_core(settings_, config_file=_config(tmp_path, extra), clock=lambda: NOW)
    try:
        yield World(github, llm, core, conversation_of(core))
    finally:
        await core.aclose()


@pytest.fixture
async def world(tmp_path: Path, fakes: tuple[FakeGitHub, FakeOpenAI]) -> AsyncIterator[World]:
    async for w in _world(tmp_path, fakes):
        yield w


def digests(adapter: RecordingAdapter) -> list[Digest]:
    return [payload for kind, _, payload in adapter.calls if kind == "digest"]


# -- single-flight --------------------------------------------------------------------------


IDEAL_GITHUB = 1 + 2 * COMMITS_TODAY  # one list page, then each commit's detail and PR lookup
IDEAL_LLM = COMMITS_TODAY + 1  # one analysis per commit and one overview


async def test_fifty_identical_commands_cost_one_digest_upstream(world: World) -> None:
    adapter = RecordingAdapter()
    await asyncio.gather(
        *(world.conversation.respond(command("engine today", n), adapter) for n in range(50))
    )
    assert len(digests(adapter)) == 50
    assert all(d.stats.total == COMMITS_TODAY for d in digests(adapter))
    assert world.github.count(f"/repos/{REPO}/commits", exact=True) == 1
    assert len(world.github.requests) == IDEAL_GITHUB
    assert world.llm_calls("overview") == 1
    assert world.llm_calls() == IDEAL_LLM


async def test_staggered_commands_join_the_digest_in_flight(world: World) -> None:
    adapter = RecordingAdapter()

    async def later(n: int) -> None:
        await asyncio.sleep(0.01 * n)  # 0.5 s in all; one build takes > 1 s (0.3 s per call)
        await world.conversation.respond(command("engine today", n), adapter)

    await asyncio.gather(*(later(n) for n in range(50)))
    assert len(digests(adapter)) == 50
    assert len(world.github.requests) == IDEAL_GITHUB
    assert world.llm_calls() == IDEAL_LLM


async def test_a_later_command_reuses_what_is_stored_and_lists_again(world: World) -> None:
    adapter = RecordingAdapter()
    await world.conversation.respond(command("engine today", 1), adapter)
    await world.conversation.respond(command("engine today", 2), adapter)
    # The second command came after the first finished: a fresh list (new commits may have
    # landed), every commit and analysis and the overview from the store.
    assert len(world.github.requests) == IDEAL_GITHUB + 1
    assert world.llm_calls() == IDEAL_LLM


async def test_different_options_share_the_list_and_the_commits(world: World) -> None:
    # The two commands must overlap for the list to be shared: without latency the fake answers
    # the list before the second command, slowed by its own store reads, asks for it.
    world.github.latency = 0.2
    adapter = RecordingAdapter()
    await asyncio.gather(
        world.conversation.respond(command("engine today", 1), adapter),
        world.conversation.respond(command("engine today min high", 2), adapter),
    )
    assert len(digests(adapter)) == 2
    assert world.github.count(f"/repos/{REPO}/commits", exact=True) == 1
    assert len(world.github.requests) == IDEAL_GITHUB
    assert world.llm_calls("analysis") == COMMITS_TODAY


# -- caps -----------------------------------------------------------------------------------


async def test_a_window_over_the_commit_cap_is_refused_with_a_narrower_one(
    tmp_path: Path, fakes: tuple[FakeGitHub, FakeOpenAI]
) -> None:
    async for world in _world(tmp_path, fakes, "[on_demand]\nmax_commits = 45\n"):
        adapter = RecordingAdapter()
        await world.conversation.respond(command("engine 7d", 1), adapter)
        assert digests(adapter) == []
        # 7d: today's 20 and six earlier days of 10 = 80; the last 3 days (20 + 10 + 10) fit.
        assert adapter.notices()[-1] == (
            "That window has 80 commits; the limit per chat command is 45. "
            "Try `digest engine 3d` or a shorter date range."
        )
        assert world.github.count(f"/repos/{REPO}/commits/") == 0  # no detail was fetched
        assert world.llm_calls() == 0

        await world.conversation.respond(command("engine 2026-01-20..2026-02-01", 2), adapter)
        assert adapter.notices()[-1].endswith(
            "Try `digest engine 2026-01-29..2026-02-01` or a shorter date range."  # 4 × 10
        )


async def test_the_env_overrides_the_config_file_and_an_admin_exceeds_the_cap(
    tmp_path: Path, fakes: tuple[FakeGitHub, FakeOpenAI]
) -> None:
    async for world in _world(
        tmp_path, fakes, "[on_demand]\nmax_commits = 500\n", digestbot_chat_max_commits=10
    ):
        adapter = RecordingAdapter()
        await world.conversation.respond(command("engine today", 1), adapter)
        assert "the limit per chat command is 10" in adapter.notices()[-1]
        await world.conversation.respond(command("engine today", 2, user=ADMIN), adapter)
        assert [d.stats.total for d in digests(adapter)] == [COMMITS_TODAY]


async def test_the_llm_call_cap_leaves_the_rest_to_the_rules_and_says_so(
    tmp_path: Path, fakes: tuple[FakeGitHub, FakeOpenAI]
) -> None:
    async for world in _world(tmp_path, fakes, "[on_demand]\nmax_llm_calls = 8\n"):
        adapter = RecordingAdapter()
        await world.conversation.respond(command("engine today", 1), adapter)
        (digest,) = digests(adapter)
        assert world.llm_calls() == 8  # 7 analyses and the overview
        assert world.llm_calls("overview") == 1
        assert digest.stats.total == COMMITS_TODAY
        assert digest.provenance.llm_analyses == 7
        assert digest.provenance.capped_analyses == COMMITS_TODAY - 7
        assert digest.provenance.llm_call_ceiling == 8
        assert digest.overview == "A busy day in the engine."
        note = "13 commits analysed by rules: one chat command makes at most 8 LLM calls"
        assert note in render_markdown(digest)
        for platform in PLATFORMS:
            payloads = platform.render_digest(digest)
            assert note in json.dumps(payloads, ensure_ascii=False)
        capped = [
            i for i in digest.items if i.analysis.provenance.fallback_reason == CALL_LIMIT_REASON
        ]
        assert len(capped) == 13
        assert "LLM analysis failed" not in render_markdown(digest)

        # A scheduled post of the same day is not capped: it reads the 13 with the model
        # (the 7 already read come from the cache), and caches them for the next command.
        repo = world.core.resolver.resolve(REPO)
        window = parse_window("today", "UTC", NOW)
        scheduled = await world.core.service.build_digest(repo, window, DigestRequest())
        assert scheduled.provenance.llm_analyses == COMMITS_TODAY
        assert scheduled.provenance.capped_analyses == 0


async def test_an_admin_exceeds_the_llm_call_cap(
    tmp_path: Path, fakes: tuple[FakeGitHub, FakeOpenAI]
) -> None:
    async for world in _world(tmp_path, fakes, "[on_demand]\nmax_llm_calls = 3\n"):
        adapter = RecordingAdapter()
        await world.conversation.respond(command("engine today", 1, user=ADMIN), adapter)
        (digest,) = digests(adapter)
        assert digest.provenance.llm_analyses == COMMITS_TODAY
        assert world.llm_calls() == IDEAL_LLM


async def test_the_repository_budget_refuses_chat_but_never_the_scheduled_post(
    tmp_path: Path, fakes: tuple[FakeGitHub, FakeOpenAI]
) -> None:
    budget = "[on_demand]\ngithub_requests_per_repo_per_hour = 30\n"
    async for world in _world(tmp_path, fakes, budget):
        adapter = RecordingAdapter()
        # Today needs 1 list + 40 detail requests: more than the 30 of the hour.
        await world.conversation.respond(command("engine today", 1), adapter)
        assert digests(adapter) == []
        assert adapter.notices()[-1] == (
            "This window needs about 40 GitHub requests; on-demand digests of acme/engine have "
            "29 left this hour. Ask for a shorter window, or try again later."
        )
        assert len(world.github.requests) == 1  # the list only

        # Yesterday fits (1 list + 20), and is counted.
        await world.conversation.respond(command("engine yesterday", 2), adapter)
        assert [d.stats.total for d in digests(adapter)] == [10]
        budget = world.core.service.request_budget
        assert budget is not None and budget.used(REPO) == 1 + 1 + 20

        # The scheduler's digest of today is neither refused nor counted.
        repo = world.core.resolver.resolve(REPO)
        window = parse_window("today", "UTC", NOW)
        scheduled = await world.core.service.build_digest(repo, window, DigestRequest())
        assert scheduled.stats.total == COMMITS_TODAY
        assert budget.used(REPO) == 22

        # Chat is now refused at once, before any request; an admin is not (and is counted).
        before = len(world.github.requests)
        await world.conversation.respond(command("engine 2026-02-06", 3), adapter)
        assert "This window needs about 20 GitHub requests" in adapter.notices()[-1]
        await world.conversation.respond(command("engine 2026-02-05", 4, user=ADMIN), adapter)
        assert [d.window.first_day for d in digests(adapter)][-1] == "2026-02-05"
        assert budget.used(REPO) == 22 + 1 + 1 + 20
        assert len(world.github.requests) == before + 1 + 1 + 20

        await world.conversation.respond(command("engine today", 5), adapter)
        assert adapter.notices()[-1].startswith(
            "On-demand digests of acme/engine have used this hour's GitHub request budget; "
            "try again at "
        )


async def test_the_console_operator_is_not_capped(
    tmp_path: Path, fakes: tuple[FakeGitHub, FakeOpenAI]
) -> None:
    async for world in _world(tmp_path, fakes, "[on_demand]\nmax_commits = 5\n"):
        console = conversation_of(world.core, local_operator=True)
        adapter = RecordingAdapter()
        await console.respond(command("engine today", 1), adapter)
        assert [d.stats.total for d in digests(adapter)] == [COMMITS_TODAY]
