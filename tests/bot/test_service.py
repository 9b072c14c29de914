"""The digest service on a real local repository: ordering, filters, cache, single-flight."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.analysis import facts as facts_module
from bot.analysis.base import AnalysisContext
from bot.analysis.heuristic import HeuristicAnalyzer
from bot.config import PathRolesConfig
from bot.errors import InvalidInputError, NotFoundError
from bot.filters import CommitFilter
from bot.models import (
    Commit,
    CommitAnalysis,
    CommitSummary,
    DigestItem,
    Importance,
    Language,
    Window,
)
from bot.repos import RepoTarget
from bot.service import DigestRequest, DigestService
from bot.sources.git import GitSource
from bot.storage.sql import SqlStore
from bot.windows import parse_window
from tests.fakes.git_repo import GitRepoBuilder
from tests.fakes.sources import CountingSource

NOW = datetime(2026, 2, 9, 1, 0, tzinfo=UTC)
DAY = datetime(2026, 2, 8, tzinfo=UTC)


class FlakyLLM:
    """An analyzer standing in for an LLM whose answers all fell back to the heuristic."""

    def __init__(self) -> None:
        self.calls = 0
        self._heuristic = HeuristicAnalyzer()

    @property
    def cache_id(self) -> tuple[str, str]:
        return ("fake-model", "p1")

    async def prepare(self) -> None:
        return None

    async def analyze(self, commit: Commit, context: AnalysisContext) -> CommitAnalysis:
        self.calls += 1
        base = await self._heuristic.analyze(commit, context)
        prov = base.provenance.model_copy(update={"fallback_reason": "invalid JSON"})
        return base.model_copy(update={"provenance": prov})

    async def overview(self, items: Sequence[DigestItem], language: Language) -> str | None:
        return None


@pytest.fixture
def project(tmp_path: Path) -> tuple[RepoTarget, dict[str, str]]:
    b = GitRepoBuilder(tmp_path / "proj")
    shas = {
        "docs": b.commit(
            "docs: fix typo in README", {"README.md": "hello\n"}, when=DAY.replace(hour=1)
        ),
        "feat": b.commit(
            "[NPU] feat: support Ascend NPU platform backend (#13662)",
            {f"python/pkg/runtime/platforms/npu{i}.py": "x = 1\n" * 80 for i in range(12)},
            when=DAY.replace(hour=2),
        ),
        "fix": b.commit(
            "fix: sync kv_cache_dtype when detecting FP8 (#18394)",
            {"python/pkg/model_executor/model_runner.py": "a = 1\nb = 2\n" * 15},
            when=DAY.replace(hour=3),
        ),
        "bot": b.commit(
            "chore(deps): bump x",
            {"requirements.txt": "x==2\n"},
            when=DAY.replace(hour=4),
            author="dependabot[bot]",
        ),
        "ci": b.commit(
            "[CI] fix: notebook ci",
            {".github/workflows/nb.yml": "on: push\n"},
            when=DAY.replace(hour=5),
        ),
    }
    b.commit("next day", {"README.md": "bye\n"}, when=datetime(2026, 2, 9, 0, 30, tzinfo=UTC))
    return RepoTarget(kind="local", name="proj", path=b.path), shas


def _service(
    tmp_path: Path, source: CountingSource, analyzer: object | None = None
) -> DigestService:
    heuristic = HeuristicAnalyzer()
    return DigestService(
        sources={"local": source},
        analyzer=analyzer or heuristic,  # type: ignore[arg-type]
        fallback_analyzer=heuristic,
        store=SqlStore.open(f"sqlite:///{tmp_path / 'db.sqlite'}"),
        clock=lambda: NOW,
    )


REQ = DigestRequest(language="en", commit_filter=CommitFilter(exclude_authors=("*[bot]",)))


async def test_digest_orders_counts_and_filters(
    tmp_path: Path, project: tuple[RepoTarget, dict[str, str]]
) -> None:
    repo, shas = project
    service = _service(tmp_path, CountingSource(GitSource()))
    window = parse_window("2026-02-08", "UTC", NOW)

    digest = await service.build_digest(repo, window, REQ)

    got = [i.commit.sha for i in digest.items]
    assert shas["bot"] not in got  # excluded author
    assert set(got) == {shas["docs"], shas["feat"], shas["fix"], shas["ci"]}
    assert digest.items[0].commit.sha == shas["feat"]  # high first
    ranks = [i.analysis.importance.rank for i in digest.items]
    assert ranks == sorted(ranks)
    same = [i for i in digest.items if i.analysis.importance is Importance.LOW]
    assert [i.commit.committed_at for i in same] == sorted(
        (i.commit.committed_at for i in same), reverse=True
    )
    assert digest.stats.total == 4
    assert digest.stats.high + digest.stats.medium + digest.stats.low == 4
    assert digest.provenance.excluded_commits == 1
    assert digest.provenance.heuristic_analyses == 4
    feat = next(i for i in digest.items if i.commit.sha == shas["feat"])
    assert feat.pr_number == 13662 and feat.files_changed == 12
    assert digest.overview  # the heuristic writes one


async def test_min_importance_hides_and_counts(
    tmp_path: Path, project: tuple[RepoTarget, dict[str, str]]
) -> None:
    repo, _ = project
    service = _service(tmp_path, CountingSource(GitSource()))
    window = parse_window("2026-02-08", "UTC", NOW)
    full = await service.build_digest(repo, window, REQ)
    high_only = await service.build_digest(
        repo, window, DigestRequest(min_importance=Importance.HIGH, commit_filter=REQ.commit_filter)
    )
    assert all(i.analysis.importance is Importance.HIGH for i in high_only.items)
    assert high_only.provenance.excluded_commits == 1 + full.stats.total - full.stats.high


async def test_second_run_is_served_from_cache(
    tmp_path: Path, project: tuple[RepoTarget, dict[str, str]]
) -> None:
    repo, _ = project
    source = CountingSource(GitSource())
    service = _service(tmp_path, source)
    window = parse_window("2026-02-08", "UTC", NOW)
    first = await service.build_digest(repo, window, REQ)
    assert source.calls["get"] == 4
    second = await service.build_digest(repo, window, REQ)
    assert source.calls["get"] == 4  # no detail fetch the second time
    assert source.calls["list"] == 2
    assert [i.analysis for i in second.items] == [i.analysis for i in first.items]
    third = await service.build_digest(
        repo, window, DigestRequest(use_cache=False, commit_filter=REQ.commit_filter)
    )
    assert source.calls["get"] == 8
    assert third.stats == first.stats


async def test_concurrent_requests_share_one_fetch(
    tmp_path: Path, project: tuple[RepoTarget, dict[str, str]]
) -> None:
    repo, _ = project
    source = CountingSource(GitSource(), latency=0.05)
    service = _service(tmp_path, source)
    window = parse_window("2026-02-08", "UTC", NOW)
    a, b, c = await asyncio.gather(*(service.build_digest(repo, window, REQ) for _ in range(3)))
    assert a.stats == b.stats == c.stats
    assert max(source.fetched.values()) == 1


async def test_fallback_analyses_are_not_cached(
    tmp_path: Path, project: tuple[RepoTarget, dict[str, str]]
) -> None:
    repo, _ = project
    llm = FlakyLLM()
    service = _service(tmp_path, CountingSource(GitSource()), analyzer=llm)
    window = parse_window("2026-02-08", "UTC", NOW)
    digest = await service.build_digest(repo, window, REQ)
    assert digest.provenance.fallbacks == 4
    assert digest.overview  # the heuristic overview stands in for the LLM's
    await service.build_digest(repo, window, REQ)
    assert llm.calls == 8  # retried, not served from the cache


async def test_empty_window_is_a_digest_not_an_error(
    tmp_path: Path, project: tuple[RepoTarget, dict[str, str]]
) -> None:
    repo, _ = project
    service = _service(tmp_path, CountingSource(GitSource()))
    digest = await service.build_digest(repo, parse_window("2026-01-01", "UTC", NOW), REQ)
    assert digest.items == () and digest.stats.total == 0 and digest.overview is None


async def test_commit_details_by_short_sha(
    tmp_path: Path, project: tuple[RepoTarget, dict[str, str]]
) -> None:
    repo, shas = project
    source = CountingSource(GitSource())
    service = _service(tmp_path, source)
    item = await service.commit_details(repo, shas["fix"][:7].upper(), "zh")
    assert item.commit.sha == shas["fix"]
    assert item.analysis.provenance.language == "zh"
    assert source.calls["resolve"] == 1
    again = await service.commit_details(repo, shas["fix"][:7], "zh")
    assert again == item
    assert source.calls["resolve"] == 1 and source.calls["get"] == 1  # resolved from the cache
    with pytest.raises(InvalidInputError):
        await service.commit_details(repo, "xyz", "en")
    with pytest.raises(NotFoundError):
        await service.commit_details(repo, "abcdef0", "en")


class GatedSource:
    """Commits whose details arrive only when the test opens their gate; some always fail."""

    def __init__(self, commits: Sequence[Commit], fail: Sequence[str] = ()) -> None:
        self.commits = {c.sha: c for c in commits}
        self.gates = {c.sha: asyncio.Event() for c in commits}
        self.fail = set(fail)
        self.fetched: list[str] = []

    async def list_commits(self, repo: RepoTarget, window: Window) -> list[CommitSummary]:
        return [c.summary() for c in self.commits.values()]

    async def get_commit(self, repo: RepoTarget, sha: str) -> Commit:
        if sha in self.fail:
            raise NotFoundError(f"No commit {sha[:7]}.")
        await self.gates[sha].wait()
        self.fetched.append(sha)
        return self.commits[sha]

    async def resolve_sha(self, repo: RepoTarget, prefix: str) -> str:
        raise NotFoundError(f"No commit {prefix}.")

    def repo_url(self, repo: RepoTarget) -> str:
        return ""

    async def aclose(self) -> None:
        return None


class OpeningAnalyzer(HeuristicAnalyzer):
    """The heuristic, recording what it analysed; analysing `opens` releases another gate."""

    def __init__(self, on_analyze: dict[str, asyncio.Event] | None = None) -> None:
        super().__init__()
        self.analysed: list[str] = []
        self.on_analyze = on_analyze or {}

    async def analyze(self, commit: Commit, context: AnalysisContext) -> CommitAnalysis:
        self.analysed.append(commit.sha)
        if commit.sha in self.on_analyze:
            self.on_analyze[commit.sha].set()
        return await super().analyze(commit, context)


def _commit(n: int) -> Commit:
    return Commit(
        repo="o/r",
        sha=f"{n:040x}",
        title=f"fix: bug {n}",
        message=f"fix: bug {n}",
        author="dev",
        committed_at=DAY.replace(hour=n),
    )


def _gated_service(
    tmp_path: Path, source: GatedSource, analyzer: HeuristicAnalyzer
) -> DigestService:
    return DigestService(
        sources={"github": source},
        analyzer=analyzer,
        fallback_analyzer=analyzer,
        store=SqlStore.open(f"sqlite:///{tmp_path / 'db.sqlite'}"),
        clock=lambda: NOW,
    )


async def test_analysis_starts_before_every_detail_is_fetched(tmp_path: Path) -> None:
    first, second = _commit(1), _commit(2)
    source = GatedSource([first, second])
    # The second commit's details arrive only once the first commit is being analysed: a
    # service that fetched everything before analysing anything would wait forever.
    analyzer = OpeningAnalyzer({first.sha: source.gates[second.sha]})
    service = _gated_service(tmp_path, source, analyzer)
    source.gates[first.sha].set()
    window = parse_window("2026-02-08", "UTC", NOW)
    repo = RepoTarget(kind="github", name="o/r")
    digest = await asyncio.wait_for(service.build_digest(repo, window, REQ), timeout=10)
    assert analyzer.analysed == [first.sha, second.sha]
    assert {i.commit.sha for i in digest.items} == {first.sha, second.sha}
    again = await service.build_digest(repo, window, REQ)  # both cached by the pipeline
    assert source.fetched == [first.sha, second.sha] and len(analyzer.analysed) == 2
    assert [i.analysis for i in again.items] == [i.analysis for i in digest.items]


async def test_a_failed_fetch_stops_new_analyses(tmp_path: Path) -> None:
    slow, broken = _commit(1), _commit(2)
    source = GatedSource([slow, broken], fail=[broken.sha])
    analyzer = OpeningAnalyzer()
    service = _gated_service(tmp_path, source, analyzer)
    window = parse_window("2026-02-08", "UTC", NOW)
    repo = RepoTarget(kind="github", name="o/r")
    with pytest.raises(NotFoundError):
        await service.build_digest(repo, window, REQ)
    source.gates[slow.sha].set()  # the other commit's details arrive after the failure
    for _ in range(20):
        await asyncio.sleep(0)
    assert source.fetched == [slow.sha]
    assert analyzer.analysed == []  # nothing spent on a digest that already failed


async def test_configured_path_roles_reach_the_analysis_and_its_cache_key(tmp_path: Path) -> None:
    """`[repos.paths]` public_api marks a deep module as callers' surface: removing a function
    there is breaking. The roles are part of the cache key, so tuning them applies at once."""
    b = GitRepoBuilder(tmp_path / "proj")
    module = "python/pkg/runtime/engine/api_impl.py"
    kept = "def keep(x):\n    return x\n"
    b.commit("add api", {module: kept + "\n\ndef plan(q):\n    return q\n"}, when=DAY)
    sha = b.commit("refactor: tidy api_impl", {module: kept}, when=DAY.replace(hour=2))
    default_repo = RepoTarget(kind="local", name="proj", path=b.path)
    tuned_repo = RepoTarget(
        kind="local",
        name="proj",
        path=b.path,
        paths=PathRolesConfig(public_api=("python/pkg/runtime/engine/**",)),
    )
    service = _service(tmp_path, CountingSource(GitSource()))
    plain = await service.commit_details(default_repo, sha[:7], "en")
    tuned = await service.commit_details(tuned_repo, sha[:7], "en")
    assert plain.analysis.provenance.rule != "high:api-removed"
    assert tuned.analysis.provenance.rule == "high:api-removed"
    assert tuned.analysis.importance is Importance.HIGH
    assert "plan" in " ".join(tuned.analysis.risks)


async def test_stale_facts_of_cached_commits_are_refreshed_once(
    tmp_path: Path, project: tuple[RepoTarget, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A commit cached by an older extractor gets new facts on the next run, stored back, so
    the run after that extracts nothing."""
    repo, shas = project
    service = _service(tmp_path, CountingSource(GitSource()))
    window = parse_window("2026-02-08", "UTC", NOW)
    await service.build_digest(repo, window, REQ)
    store = service._store  # the one the service writes through
    stale = {
        sha: commit.model_copy(update={"facts": None})
        for sha, commit in store.get_commits(repo.key, list(shas.values())).items()
    }
    store.refresh_commits(repo.key, stale.values())
    extracted: list[str] = []
    real = facts_module.extract_facts

    def counting(commit: Commit) -> object:
        extracted.append(commit.sha)
        return real(commit)

    monkeypatch.setattr(facts_module, "extract_facts", counting)
    await service.build_digest(repo, window, REQ)
    assert sorted(extracted) == sorted(stale)
    assert all(c.facts is not None for c in store.get_commits(repo.key, list(stale)).values())
    extracted.clear()
    await service.build_digest(repo, window, REQ)
    assert extracted == []
