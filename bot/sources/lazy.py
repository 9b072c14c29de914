"""A commit source built on its first use, so a run that never reads GitHub never loads
PyGithub (with jwt and cryptography: a seventh of a local digest's start-up)."""

from __future__ import annotations

from collections.abc import Callable

from bot.models import Commit, CommitSummary, Window
from bot.repos import RepoTarget
from bot.sources.base import BranchHead, CommitSource


class LazySource:
    """`CommitSource` that builds the real one (`build`, no I/O) when first asked anything."""

    def __init__(self, build: Callable[[], CommitSource]) -> None:
        self._build = build
        self._source: CommitSource | None = None

    @property
    def built(self) -> bool:
        return self._source is not None

    def _get(self) -> CommitSource:
        if self._source is None:
            self._source = self._build()
        return self._source

    async def list_commits(self, repo: RepoTarget, window: Window) -> list[CommitSummary]:
        return await self._get().list_commits(repo, window)

    async def get_commit(self, repo: RepoTarget, sha: str) -> Commit:
        return await self._get().get_commit(repo, sha)

    async def resolve_sha(self, repo: RepoTarget, prefix: str) -> str:
        return await self._get().resolve_sha(repo, prefix)

    async def branch_head(self, repo: RepoTarget, etag: str | None = None) -> BranchHead:
        return await self._get().branch_head(repo, etag)

    def repo_url(self, repo: RepoTarget) -> str:
        return self._get().repo_url(repo)

    async def aclose(self) -> None:
        if self._source is not None:  # never built: nothing to close, nothing to load
            await self._source.aclose()
