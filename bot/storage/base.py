"""The store seam: what the core reads and writes, independent of the database behind it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from bot.analysis.base import AnalysisKey
from bot.models import Commit, CommitAnalysis, Digest


class Store(Protocol):
    """Synchronous and batch-oriented; async callers run it in a worker thread."""

    def get_commits(self, repo: str, shas: Sequence[str]) -> dict[str, Commit]:
        """The cached commits among `shas` (missing ones are simply absent)."""
        ...

    def put_commits(self, repo: str, commits: Iterable[Commit]) -> None: ...

    def refresh_commits(self, repo: str, commits: Iterable[Commit]) -> None:
        """Rewrite stored commits whose derived data (change facts) was recomputed; the commit
        itself is immutable, so only the stored form changes."""
        ...

    def find_shas(self, repo: str, prefix: str) -> list[str]:
        """Full SHAs of cached commits of `repo` that start with `prefix` (at most 10)."""
        ...

    def get_analyses(self, keys: Sequence[AnalysisKey]) -> dict[AnalysisKey, CommitAnalysis]: ...

    def put_analyses(self, items: Iterable[tuple[AnalysisKey, CommitAnalysis]]) -> None: ...

    def get_overview(self, repo: str, key: str) -> str | None:
        """A cached day overview; `key` identifies the analyzer and the exact items."""
        ...

    def put_overview(self, repo: str, key: str, text: str) -> None: ...

    def save_digest(self, digest: Digest, repo_key: str) -> int:
        """Record a built digest; returns its id (message refs point at it)."""
        ...

    def get_digest(self, digest_id: int) -> Digest | None: ...

    def close(self) -> None: ...
