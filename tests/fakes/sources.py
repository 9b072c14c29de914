"""A CommitSource wrapper that counts calls, to prove caching and single-flight."""

from __future__ import annotations

import asyncio
from collections import Counter

from bot.models import Commit, CommitSummary, Window
from bot.repos import RepoTarget
from bot.sources.base import BranchHead, CommitSource


class CountingSource:
    """Delegates to a real source; counts list/get/resolve calls; can add latency."""

    def __init__(self, inner: CommitSource, latency: float = 0.0) -> None:
        self.inner = inner
        self.latency = latency
        self.calls: Counter[str] = Counter()
        self.fetched: Counter[str] = Counter()
        self.events: list[tuple[str, str]] = []  # ("fetch", sha) in the order asked

    async def list_commits(self, repo: RepoTarget, window: Window) -> list[CommitSummary]:
        self.calls["list"] += 1
        return await self.inner.list_commits(repo, window)

    async def get_commit(self, repo: RepoTarget, sha: str) -> Commit:
        self.calls["get"] += 1
        self.fetched[sha] += 1
        self.events.append(("fetch", sha))
        if self.latency:
            await asyncio.sleep(self.latency)
        return await self.inner.get_commit(repo, sha)

    async def resolve_sha(self, repo: RepoTarget, prefix: str) -> str:
        self.calls["resolve"] += 1
        return await self.inner.resolve_sha(repo, prefix)

    async def branch_head(self, repo: RepoTarget, etag: str | None = None) -> BranchHead:
        self.calls["head"] += 1
        return await self.inner.branch_head(repo, etag)

    def repo_url(self, repo: RepoTarget) -> str:
        return self.inner.repo_url(repo)

    async def aclose(self) -> None:
        await self.inner.aclose()
