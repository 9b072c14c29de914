"""The digest service: one path from source to neutral Digest, with caching and single-flight."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast
from zoneinfo import ZoneInfo

from bot.analysis.base import AnalysisContext, AnalysisKey, Analyzer
from bot.analysis.depth import TokenLedger
from bot.analysis.facts import FACTS_VERSION, facts_current, with_facts
from bot.analysis.paths import PathRoles
from bot.costs import GITHUB_REQUESTS_PER_COMMIT, CommandCaps, RequestBudget, RequestMeter, metered
from bot.errors import RequestBudgetError, WindowTooLargeError
from bot.filters import CommitFilter
from bot.metrics import NO_METRICS, DigestObserver
from bot.models import (
    CALL_LIMIT_REASON,
    Commit,
    CommitAnalysis,
    CommitHead,
    CommitSummary,
    Digest,
    DigestItem,
    DigestProvenance,
    DigestStats,
    Importance,
    Language,
    Window,
    areas_of,
)
from bot.repos import RepoTarget
from bot.sources.base import CommitSource, NullProgress, ProgressReporter, validate_sha
from bot.storage.base import Store

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class DigestRequest:
    """Everything that shapes one digest besides the repository and window."""

    language: Language = "en"
    min_importance: Importance = Importance.LOW
    use_cache: bool = True
    commit_filter: CommitFilter = field(default_factory=CommitFilter)
    token_ceiling: int | None = None  # None: the service's default ceiling
    # An on-demand (chat) command's cost caps; None: not on demand (CLI, scheduler), neither
    # limited nor counted against the repository's request budget.
    caps: CommandCaps | None = None


class DigestService:
    """Builds digests and single-commit details. Entry points (CLI, chat, scheduler) share it.

    Commit details and analyses are immutable, so both are cached in the store, each as soon
    as it is made. Concurrent requests share one piece of work for everything with the same
    key (single-flight): a whole digest per (repo, window, request), a window's commit list per
    (repo, branch, window), a commit's fetch, its analysis, and the overview of a set of analyses.
    """

    def __init__(
        self,
        *,
        sources: Mapping[str, CommitSource],
        analyzer: Analyzer,
        fallback_analyzer: Analyzer,
        store: Store,
        clock: Callable[[], datetime],
        metrics: DigestObserver | None = None,
        token_ceiling: int | None = None,
        request_budget: RequestBudget | None = None,
        pipeline_depth: int = 24,
    ) -> None:
        self._sources = sources
        # Commits between "detail requested" and "analysis done" at once: enough to keep every
        # LLM and GitHub slot busy, few enough to bound the full commits held in memory.
        self._pipeline_depth = max(1, pipeline_depth)
        self._budget = request_budget  # on-demand GitHub requests per repo; None: unlimited
        self._token_ceiling = token_ceiling
        self._analyzer = analyzer
        self._fallback = fallback_analyzer
        self._store = store
        self._clock = clock
        self._metrics = metrics if metrics is not None else NO_METRICS
        self._inflight: dict[tuple[str, ...], asyncio.Future[Any]] = {}

    @property
    def request_budget(self) -> RequestBudget | None:
        """The GitHub requests chat commands may spend per repository (None: unlimited)."""
        return self._budget

    def source_for(self, repo: RepoTarget) -> CommitSource:
        return self._sources[repo.kind]

    async def build_digest(
        self,
        repo: RepoTarget,
        window: Window,
        request: DigestRequest | None = None,
        progress: ProgressReporter | None = None,
    ) -> Digest:
        """The digest of `repo` over `window`. Identical requests that arrive while one is
        being built wait for it and get the same digest (the first caller's progress is the
        one reported)."""
        req = request or DigestRequest()
        key = ("digest", repr(repo), repr(window), repr(req))
        return await self._single_flight(
            key, lambda: self._build_digest(repo, window, req, progress or NullProgress())
        )

    async def _build_digest(
        self, repo: RepoTarget, window: Window, req: DigestRequest, progress: ProgressReporter
    ) -> Digest:
        source = self.source_for(repo)
        caps = req.caps
        budget = self._budget if caps is not None and repo.kind == "github" else None
        meter = RequestMeter((lambda n: budget.charge(repo.key, n)) if budget is not None else None)
        enforce = budget is not None and caps is not None and caps.enforce_budget
        with metered(meter):
            if enforce:
                self._check_budget(repo, 1)
            listed = await self._single_flight(
                (
                    "list",
                    repo.key,
                    repo.branch or "",
                    window.start.isoformat(),
                    window.end.isoformat(),
                ),
                lambda: source.list_commits(repo, window),
            )
            kept = [c for c in listed if req.commit_filter.keeps_summary(c)]
            if caps is not None and caps.max_commits is not None and len(kept) > caps.max_commits:
                raise WindowTooLargeError(
                    len(kept), caps.max_commits, _days_that_fit(kept, window, caps.max_commits)
                )
            excluded = len(listed) - len(kept)
            call_ceiling = caps.max_llm_calls if caps is not None else None
            ledger = TokenLedger(self._ceiling(req), call_ceiling=call_ceiling)
            # The overview is one call at the end: keep it one, so a capped digest still gets
            # the model's overview rather than the rules'.
            overview_call = self._analyzer is self._fallback or ledger.reserve_calls(1)
            analysed = await self._fetch_and_analyze(
                repo,
                [c.sha for c in kept],
                req,
                progress,
                ledger=ledger,
                before_fetch=(lambda n: self._check_budget(repo, n * GITHUB_REQUESTS_PER_COMMIT))
                if enforce
                else None,
            )
            excluded += len(kept) - len(analysed)
            items = [
                _item(head, analysis)
                for head, analysis in analysed
                if analysis.importance.rank <= req.min_importance.rank
            ]
            excluded += len(analysed) - len(items)
            items.sort(
                key=lambda i: (i.analysis.importance.rank, -i.commit.committed_at.timestamp())
            )
            overview = await self._overview(repo, items, req, use_model=overview_call)
        self._metrics.digest_built(repo.name, (i.analysis.provenance.analyzer for i in items))
        capped = sum(1 for i in items if i.analysis.provenance.fallback_reason == CALL_LIMIT_REASON)
        return Digest(
            repo=repo.name,
            repo_url=source.repo_url(repo),
            window=window,
            language=req.language,
            items=tuple(items),
            stats=DigestStats.of(items),
            overview=overview,
            provenance=_provenance(items, self._clock(), excluded).model_copy(
                update={
                    "token_ceiling": ledger.ceiling,
                    "reduced_analyses": ledger.reduced,
                    "llm_call_ceiling": call_ceiling,
                    "capped_analyses": capped,
                }
            ),
        )

    def _check_budget(self, repo: RepoTarget, needed: int) -> None:
        """Refuse (RequestBudgetError) unless the repo's on-demand budget has `needed` left."""
        if self._budget is None or needed <= 0:
            return
        remaining = self._budget.remaining(repo.key)
        if remaining is None or remaining >= needed:
            return
        retry_at = self._budget.free_at(repo.key, needed)
        log.info("on-demand GitHub budget of %s: %s left, %d needed", repo.key, remaining, needed)
        raise RequestBudgetError(repo.name, retry_at, needed=needed, remaining=remaining)

    def _ceiling(self, request: DigestRequest) -> int | None:
        ceiling = (
            request.token_ceiling if request.token_ceiling is not None else self._token_ceiling
        )
        return ceiling or None

    async def digest_of_commits(
        self, repo: RepoTarget, shas: Sequence[str], window: Window, req: DigestRequest
    ) -> Digest:
        """A digest of exactly these commits (whose listing `req`'s filter kept), without an
        overview: what an alert shows. They are fetched and analysed as `req`'s digest would
        do it, under the same cache keys, so the daily digest that later covers them reuses
        every analysis (and an alert re-planned after a crash makes no new call)."""
        ledger = TokenLedger(self._ceiling(req))
        analysed = await self._fetch_and_analyze(repo, shas, req, NullProgress(), ledger=ledger)
        items = [
            _item(head, analysis)
            for head, analysis in analysed
            if analysis.importance.rank <= req.min_importance.rank
        ]
        items.sort(key=lambda i: (i.analysis.importance.rank, -i.commit.committed_at.timestamp()))
        excluded = len(shas) - len(items)
        return Digest(
            repo=repo.name,
            repo_url=self.source_for(repo).repo_url(repo),
            window=window,
            language=req.language,
            items=tuple(items),
            stats=DigestStats.of(items),
            provenance=_provenance(items, self._clock(), excluded),
        )

    async def commit_details(
        self, repo: RepoTarget, sha_text: str, language: Language, *, use_cache: bool = True
    ) -> DigestItem:
        """One commit's full analysis, by a 7–40 hex SHA (validated before any network)."""
        prefix = validate_sha(sha_text)
        sha = prefix if len(prefix) == 40 else await self._resolve(repo, prefix)
        source = self.source_for(repo)
        request = DigestRequest(language=language, use_cache=use_cache)
        ((head, analysis),) = await self._fetch_and_analyze(repo, [sha], request, NullProgress())
        item = _item(head, analysis)
        if not item.commit.url and source.repo_url(repo):
            url = f"{source.repo_url(repo)}/commit/{head.commit.sha}"
            item = item.model_copy(update={"commit": item.commit.model_copy(update={"url": url})})
        return item

    async def get_commit(self, repo: RepoTarget, sha: str) -> Commit:
        """The full commit (patch included), cached; for grounded thread answers."""
        return (await self.fetch_commits(repo, [validate_sha(sha)]))[0]

    async def resolve_sha(self, repo: RepoTarget, prefix: str) -> str:
        return await self._resolve(repo, validate_sha(prefix))

    async def fetch_commits(
        self,
        repo: RepoTarget,
        wanted: Sequence[CommitSummary | str],
        *,
        use_cache: bool = True,
        progress: ProgressReporter | None = None,
    ) -> list[Commit]:
        """Full commits for `wanted`, in order: from the store when cached, else from the source."""
        progress = progress or NullProgress()
        shas = [w if isinstance(w, str) else w.sha for w in wanted]
        cached = (
            await asyncio.to_thread(self._store.get_commits, repo.key, shas) if use_cache else {}
        )
        missing = [sha for sha in shas if sha not in cached]
        if use_cache:
            self._metrics.cache_lookups("commit", hits=len(cached), misses=len(missing))
        progress.start("fetch", len(missing))
        source = self.source_for(repo)

        async def fetch(sha: str) -> Commit:
            commit = await self._single_flight(
                ("commit", repo.key, sha), lambda: self._fetch_commit(source, repo, sha)
            )
            progress.advance("fetch")
            return commit

        fetched = await asyncio.gather(*(fetch(sha) for sha in missing))
        progress.finish("fetch")
        refreshed = await self._refresh_facts(repo, cached.values())
        by_sha = {**cached, **refreshed, **{c.sha: c for c in fetched}}
        return [by_sha[sha] for sha in shas]

    async def _refresh_facts(
        self, repo: RepoTarget, commits: Iterable[Commit]
    ) -> dict[str, Commit]:
        """Cached commits whose facts came from an older extractor, with new facts, stored back
        once so later runs do not extract them again."""
        stale = [commit for commit in commits if not facts_current(commit)]
        if not stale:
            return {}
        refreshed = await asyncio.to_thread(lambda: [with_facts(commit) for commit in stale])
        await asyncio.to_thread(self._store.refresh_commits, repo.key, refreshed)
        return {commit.sha: commit for commit in refreshed}

    async def _fetch_and_analyze(
        self,
        repo: RepoTarget,
        shas: Sequence[str],
        request: DigestRequest,
        progress: ProgressReporter,
        *,
        ledger: TokenLedger | None = None,
        before_fetch: Callable[[int], None] | None = None,
    ) -> list[tuple[CommitHead, CommitAnalysis]]:
        """(head, analysis) for each wanted commit the path filter keeps, in listing order.

        A bounded streaming pipeline, list → detail → analyse → store: commits enter it in
        listing order, at most `pipeline_depth` at a time (asyncio's semaphore wakes waiters
        first in, first out), and each commit's analysis starts as soon as its details are in,
        so detail requests overlap the (much slower) LLM calls and memory holds a bounded
        number of full commits. Commits and analyses are cached and single-flight per SHA, each
        stored as soon as it is made, so a concurrent request that looks a moment later finds
        it. A commit whose head and analysis are both stored is never loaded in full: a warm
        digest reads the small head rows, not the patches. `before_fetch` hears how many
        commits must be fetched before any is (and may refuse by raising). After a failure no
        new fetch or analysis starts (the error is raised; nothing is spent for nothing).
        """
        analyzer_id, version = self._analyzer.cache_id
        path_roles = PathRoles.of(repo.paths)
        if path_roles.fingerprint:
            version = f"{version}+paths.{path_roles.fingerprint}"
        keys = {
            sha: AnalysisKey(repo.key, sha, analyzer_id, version, request.language) for sha in shas
        }
        heads: dict[str, CommitHead] = {}
        cached: dict[AnalysisKey, CommitAnalysis] = {}
        stored: set[str] = set()
        if request.use_cache:
            stored = await asyncio.to_thread(self._store.stored_shas, repo.key, shas)
            heads = await asyncio.to_thread(self._store.get_heads, repo.key, list(stored))
            cached = await asyncio.to_thread(self._store.get_analyses, list(keys.values()))
        to_fetch = sum(1 for sha in shas if sha not in stored)
        to_analyze = sum(1 for key in keys.values() if key not in cached)
        if before_fetch is not None:
            before_fetch(to_fetch)
        # Reads are coming: the model's SDK and tokenizer load while the details are fetched.
        preparing = asyncio.create_task(self._analyzer.prepare()) if to_analyze else None
        progress.start("fetch", to_fetch)
        progress.start("analyze", to_analyze)
        source = self.source_for(repo)
        context = AnalysisContext(
            language=request.language,
            components=repo.components,
            path_roles=path_roles,
            ledger=ledger,
        )
        fetched = 0
        fresh: list[CommitAnalysis] = []
        ahead = asyncio.Semaphore(self._pipeline_depth)
        failed = False

        async def commit_of(sha: str) -> Commit:
            """The full commit: from the store when it is there, else from the source."""
            nonlocal fetched
            if sha in stored:
                commit = await self._single_flight(
                    ("stored", repo.key, sha),
                    lambda: self._load_commit(repo, sha, has_head=sha in heads),
                )
                if commit is not None:
                    return commit
            commit = await self._single_flight(
                ("commit", repo.key, sha), lambda: self._fetch_commit(source, repo, sha)
            )
            fetched += 1
            progress.advance("fetch")
            if fetched == to_fetch:
                progress.finish("fetch")
            return commit

        async def analyze(commit: Commit, key: AnalysisKey) -> CommitAnalysis:
            flight = ("analysis", repo.key, commit.sha, analyzer_id, version, request.language)
            analysis = await self._single_flight(
                flight, lambda: self._analyze_and_store(commit, context, key)
            )
            if analysis.provenance.fallback_reason == CALL_LIMIT_REASON and (
                ledger is None or ledger.call_ceiling is None
            ):
                # We joined a read another command's LLM-call cap left to the rules: this
                # request has no such cap (a scheduled post), so it gets a real read.
                analysis = await self._single_flight(
                    (*flight, "uncapped"), lambda: self._analyze_and_store(commit, context, key)
                )
            fresh.append(analysis)
            progress.advance("analyze")
            return analysis

        async def one(sha: str) -> tuple[CommitHead, CommitAnalysis] | None:
            nonlocal failed
            key = keys[sha]
            head, analysis = heads.get(sha), cached.get(key)
            if head is not None and not request.commit_filter.keeps_paths(head.paths):
                if analysis is None:
                    progress.advance("analyze")
                return None
            if head is not None and analysis is not None and _facts_current(head):
                return head, analysis
            async with ahead:
                if failed:
                    return None
                try:
                    commit = await commit_of(sha)
                    if not request.commit_filter.keeps_commit(commit):
                        if analysis is None:
                            progress.advance("analyze")
                        return None
                    if analysis is None:
                        analysis = await analyze(commit, key)
                except Exception:
                    failed = True
                    raise
                return commit.head(), analysis

        try:
            results = await asyncio.gather(*(one(sha) for sha in shas))
        finally:
            if preparing is not None:
                # Long done when a read happened; after a failure, or when other requests
                # made every read, the head start is dropped rather than waited for.
                preparing.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await preparing
        progress.finish("fetch")
        progress.finish("analyze")
        if request.use_cache:
            self._metrics.cache_lookups("commit", hits=len(stored), misses=fetched)
            self._metrics.cache_lookups("analysis", hits=len(cached), misses=len(fresh))
        self._metrics.analyses_made(fresh)
        return [r for r in results if r is not None]

    async def _load_commit(self, repo: RepoTarget, sha: str, *, has_head: bool) -> Commit | None:
        """A stored commit with current facts and a stored head (both written back when an
        older version stored it), or None when it is gone."""
        found = await asyncio.to_thread(self._store.get_commits, repo.key, [sha])
        commit = found.get(sha)
        if commit is None:
            return None
        if not facts_current(commit):
            commit = await asyncio.to_thread(with_facts, commit)
            await asyncio.to_thread(self._store.refresh_commits, repo.key, [commit])
        elif not has_head:
            await asyncio.to_thread(self._store.put_commits, repo.key, [commit])  # adds the head
        return commit

    async def _fetch_commit(self, source: CommitSource, repo: RepoTarget, sha: str) -> Commit:
        """The commit from its source, with its change facts, stored at once (inside the
        single-flight, so whoever asks next finds it in the store)."""
        commit = await source.get_commit(repo, sha)
        commit = await asyncio.to_thread(with_facts, commit)
        await asyncio.to_thread(self._store.put_commits, repo.key, [commit])
        return commit

    async def _analyze_and_store(
        self, commit: Commit, context: AnalysisContext, key: AnalysisKey
    ) -> CommitAnalysis:
        analysis = await self._analyzer.analyze(commit, context)
        # A fallback (the LLM failed, or a cap) or a read made shallower by the digest's token
        # ceiling is not cached under the LLM's key: the next run reads it again, in full.
        if not analysis.provenance.fallback_reason and not analysis.provenance.reduced:
            await asyncio.to_thread(self._store.put_analyses, [(key, analysis)])
        return analysis

    async def _overview(
        self,
        repo: RepoTarget,
        items: Sequence[DigestItem],
        request: DigestRequest,
        *,
        use_model: bool = True,
    ) -> str | None:
        """The analyzer's overview (cached per exact set of analyses, single-flight), else the
        heuristic's (also when `use_model` is False: a command's call cap left no call)."""
        if not items:
            return None
        key = _overview_key(self._analyzer.cache_id, request.language, items)
        if request.use_cache:
            cached = await asyncio.to_thread(self._store.get_overview, repo.key, key)
            if cached is not None:
                return cached
        text: str | None = None
        if use_model:
            text = await self._single_flight(
                ("overview", repo.key, key), lambda: self._write_overview(repo, key, items, request)
            )
        if text is None and self._fallback is not self._analyzer:
            text = await self._fallback.overview(items, request.language)
        return text

    async def _write_overview(
        self, repo: RepoTarget, key: str, items: Sequence[DigestItem], request: DigestRequest
    ) -> str | None:
        text = await self._analyzer.overview(items, request.language)
        if text is not None:
            await asyncio.to_thread(self._store.put_overview, repo.key, key, text)
        return text

    async def _resolve(self, repo: RepoTarget, prefix: str) -> str:
        cached = await asyncio.to_thread(self._store.find_shas, repo.key, prefix)
        if len(cached) == 1:
            return cached[0]
        return await self.source_for(repo).resolve_sha(repo, prefix)

    async def _single_flight(self, key: tuple[str, ...], make: Callable[[], Awaitable[T]]) -> T:
        """Run `make` once per key at a time; concurrent callers await the same result."""
        existing = self._inflight.get(key)
        if existing is not None:
            return cast(T, await asyncio.shield(existing))
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            value = await make()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it themselves
            raise
        else:
            future.set_result(value)
            return value
        finally:
            self._inflight.pop(key, None)


def _overview_key(cache_id: tuple[str, str], language: str, items: Sequence[DigestItem]) -> str:
    digest = hashlib.sha256()
    digest.update("|".join((*cache_id, language)).encode())
    for item in items:
        prov = item.analysis.provenance
        digest.update(f"|{item.commit.sha}:{prov.analyzer}:{prov.model}".encode())
    return digest.hexdigest()


def _item(head: CommitHead, analysis: CommitAnalysis) -> DigestItem:
    return DigestItem(
        commit=head.commit,
        pr_number=head.pr_number,
        pr_url=head.pr_url,
        files_changed=head.files_changed,
        additions=head.additions,
        deletions=head.deletions,
        analysis=analysis,
        facts=head.facts,
        areas=areas_of(head.paths),
    )


def _facts_current(head: CommitHead) -> bool:
    """Were the head's change facts made by this extractor version (else: load and refresh)?"""
    return head.facts is not None and head.facts.version == FACTS_VERSION


def _provenance(items: Sequence[DigestItem], now: datetime, excluded: int) -> DigestProvenance:
    provs = [i.analysis.provenance for i in items]
    llm = [p for p in provs if p.analyzer == "llm"]
    return DigestProvenance(
        generated_at=now,
        analyzers=tuple(sorted({p.analyzer for p in provs})),
        model=llm[0].model if llm else None,
        prompt_version=(llm[0] if llm else provs[0]).prompt_version if provs else None,
        llm_analyses=len(llm),
        heuristic_analyses=len(provs) - len(llm),
        fallbacks=sum(1 for p in provs if p.fallback_reason),
        partial_analyses=sum(1 for p in provs if p.coverage.partial),
        prompt_tokens=sum(p.prompt_tokens for p in provs),
        completion_tokens=sum(p.completion_tokens for p in provs),
        excluded_commits=excluded,
    )


def _days_that_fit(kept: Sequence[CommitSummary], window: Window, limit: int) -> int:
    """How many whole local days at the end of `window` hold at most `limit` of `kept`."""
    zone = ZoneInfo(window.tz)
    last = (window.end - timedelta(seconds=1)).astimezone(zone).date()
    newest_first = sorted((c.committed_at for c in kept), reverse=True)
    first_over = newest_first[limit].astimezone(zone).date()  # the (limit+1)-th newest commit
    return max(0, (last - first_over).days)
