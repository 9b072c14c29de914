"""The digest service's pipeline: commits stream through list → detail → analyse → store in
listing order with a bounded number in flight, and a warm digest reads heads, not commits."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete

from bot.analysis.base import AnalysisContext
from bot.analysis.heuristic import HeuristicAnalyzer
from bot.models import Commit, CommitAnalysis, CommitHead, DigestItem, Language
from bot.repos import RepoTarget
from bot.service import DigestRequest, DigestService
from bot.sources.git import GitSource
from bot.storage import schema
from bot.storage.sql import SqlStore
from bot.windows import parse_window
from tests.fakes.git_repo import GitRepoBuilder
from tests.fakes.sources import CountingSource

NOW = datetime(2026, 2, 9, 1, 0, tzinfo=UTC)
DAY = datetime(2026, 2, 8, tzinfo=UTC)
COMMITS = 30


class SlowAnalyzer:
    """The heuristic behind a model-like delay; records when each read starts and ends."""

    def __init__(self, events: list[tuple[str, str]], delay: float = 0.02) -> None:
        self._heuristic = HeuristicAnalyzer()
        self._events = events
        self._delay = delay

    @property
    def cache_id(self) -> tuple[str, str]:
        return ("slow-model", "p1")

    async def prepare(self) -> None:
        self._events.append(("prepare", ""))

    async def analyze(self, commit: Commit, context: AnalysisContext) -> CommitAnalysis:
        self._events.append(("analyse", commit.sha))
        await asyncio.sleep(self._delay)
        result = await self._heuristic.analyze(commit, context)
        self._events.append(("analysed", commit.sha))
        return result

    async def overview(self, items: Sequence[DigestItem], language: Language) -> str | None:
        return None


class CountingStore:
    """The real SQLite store, counting which reads the service makes."""

    def __init__(self, inner: SqlStore) -> None:
        self.inner = inner
        self.calls: Counter[str] = Counter()
        self.loaded: Counter[str] = Counter()  # full commits read, per SHA

    def get_commits(self, repo: str, shas: Sequence[str]) -> dict[str, Commit]:
        self.calls["get_commits"] += 1
        found = self.inner.get_commits(repo, shas)
        self.loaded.update(found.keys())
        return found

    def get_heads(self, repo: str, shas: Sequence[str]) -> dict[str, CommitHead]:
        self.calls["get_heads"] += 1
        return self.inner.get_heads(repo, shas)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.fixture(scope="module")
def busy_repo(tmp_path_factory: pytest.TempPathFactory) -> tuple[RepoTarget, list[str]]:
    builder = GitRepoBuilder(tmp_path_factory.mktemp("busy") / "proj")
    shas = [
        builder.commit(
            f"feat: step {i}",
            {f"src/mod{i % 7}.py": f"value = {i}\n" * (5 + i)},
            when=DAY + timedelta(minutes=20 * i + 1),
        )
        for i in range(COMMITS)
    ]
    return RepoTarget(kind="local", name="proj", path=builder.path), shas


def _service(store: object, source: CountingSource, analyzer: object, depth: int) -> DigestService:
    return DigestService(
        sources={"local": source},
        analyzer=analyzer,  # type: ignore[arg-type]
        fallback_analyzer=HeuristicAnalyzer(),
        store=store,  # type: ignore[arg-type]
        clock=lambda: NOW,
        pipeline_depth=depth,
    )


async def test_commits_stream_in_listing_order_with_a_bounded_number_in_flight(
    tmp_path: Path, busy_repo: tuple[RepoTarget, list[str]]
) -> None:
    repo, _ = busy_repo
    source = CountingSource(GitSource())
    events = source.events
    depth = 5
    service = _service(
        SqlStore.open(f"sqlite:///{tmp_path / 'db.sqlite'}"), source, SlowAnalyzer(events), depth
    )
    window = parse_window("2026-02-08", "UTC", NOW)
    listed = [c.sha for c in await GitSource().list_commits(repo, window)]

    digest = await service.build_digest(repo, window, DigestRequest(language="en"))

    assert digest.stats.total == COMMITS
    assert events[0] == ("prepare", "")  # the model's SDK loads while details are fetched
    fetched = [sha for kind, sha in events if kind == "fetch"]
    assert fetched == listed  # details asked in listing order, each once
    # Streaming: the first analysis starts before the last commit's details are asked for.
    assert events.index(("analyse", listed[0])) < events.index(("fetch", listed[-1]))
    # Bounded: never more than `depth` commits between "details asked" and "analysis done".
    in_flight = peak = 0
    for kind, _ in events:
        in_flight += {"fetch": 1, "analysed": -1}.get(kind, 0)
        peak = max(peak, in_flight)
    assert peak == depth


async def test_a_warm_digest_reads_commit_heads_not_full_commits(
    tmp_path: Path, busy_repo: tuple[RepoTarget, list[str]]
) -> None:
    repo, _ = busy_repo
    store = CountingStore(SqlStore.open(f"sqlite:///{tmp_path / 'db.sqlite'}"))
    source = CountingSource(GitSource())
    service = _service(store, source, SlowAnalyzer([], delay=0), depth=8)
    window = parse_window("2026-02-08", "UTC", NOW)
    request = DigestRequest(language="en")
    cold = await service.build_digest(repo, window, request)
    assert source.calls["get"] == COMMITS and not store.loaded

    store.calls.clear()
    analyzer_events: list[tuple[str, str]] = []  # a second process: same store, same model
    later = _service(store, source, SlowAnalyzer(analyzer_events, delay=0), depth=8)
    warm = await later.build_digest(repo, window, request)
    assert analyzer_events == []  # nothing to read: nothing prepared, nothing analysed

    assert source.calls["get"] == COMMITS  # nothing fetched again
    assert store.calls["get_commits"] == 0 and store.calls["get_heads"] == 1
    assert warm.items == cold.items and warm.stats == cold.stats


async def test_a_commit_stored_without_a_head_gets_one_the_first_time_it_is_loaded(
    tmp_path: Path, busy_repo: tuple[RepoTarget, list[str]]
) -> None:
    """Commits stored before heads existed (schema v5) are read in full once, then not."""
    repo, shas = busy_repo
    inner = SqlStore.open(f"sqlite:///{tmp_path / 'db.sqlite'}")
    store = CountingStore(inner)
    service = _service(store, CountingSource(GitSource()), SlowAnalyzer([], delay=0), depth=8)
    window = parse_window("2026-02-08", "UTC", NOW)
    request = DigestRequest(language="en")
    cold = await service.build_digest(repo, window, request)
    with inner.engine.begin() as conn:
        conn.execute(delete(schema.commit_heads).where(schema.commit_heads.c.sha.in_(shas[:4])))

    again = await service.build_digest(repo, window, request)
    assert sorted(store.loaded) == sorted(shas[:4])  # those four only, once each
    assert again.items == cold.items
    store.loaded.clear()
    await service.build_digest(repo, window, request)
    assert not store.loaded


async def test_a_path_filter_applies_to_stored_heads(
    tmp_path: Path, busy_repo: tuple[RepoTarget, list[str]]
) -> None:
    """The warm path decides path filters from the head's paths, as the cold one does."""
    from bot.filters import CommitFilter

    repo, _ = busy_repo
    store = CountingStore(SqlStore.open(f"sqlite:///{tmp_path / 'db.sqlite'}"))
    service = _service(store, CountingSource(GitSource()), SlowAnalyzer([], delay=0), depth=8)
    window = parse_window("2026-02-08", "UTC", NOW)
    keep_most = DigestRequest(
        language="en", commit_filter=CommitFilter(exclude_paths=("src/mod0.py",))
    )
    cold = await service.build_digest(repo, window, keep_most)
    warm = await service.build_digest(repo, window, keep_most)
    assert store.calls["get_commits"] == 0
    expected = COMMITS - len(range(0, COMMITS, 7))
    assert cold.stats.total == warm.stats.total == expected
