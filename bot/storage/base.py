"""The store seam: what the core reads and writes, independent of the database behind it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from bot.analysis.base import AnalysisKey
from bot.models import Commit, CommitAnalysis, CommitHead, Digest


class Store(Protocol):
    """Synchronous and batch-oriented; async callers run it in a worker thread."""

    def get_commits(self, repo: str, shas: Sequence[str]) -> dict[str, Commit]:
        """The cached commits among `shas` (missing ones are simply absent)."""
        ...

    def stored_shas(self, repo: str, shas: Sequence[str]) -> set[str]:
        """Which of `shas` are stored, without reading them."""
        ...

    def get_heads(self, repo: str, shas: Sequence[str]) -> dict[str, CommitHead]:
        """The stored heads (what a digest shows, no patch) among `shas`. A commit stored by
        an older version may have none until it is written again (put_commits)."""
        ...

    def put_commits(self, repo: str, commits: Iterable[Commit]) -> None:
        """Store new commits with their heads; present ones are kept (a missing head is added)."""
        ...

    def refresh_commits(self, repo: str, commits: Iterable[Commit]) -> None:
        """Rewrite stored commits (and their heads) whose derived data (change facts) was
        recomputed; the commit itself is immutable, so only the stored form changes."""
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

    def recent_digests(self, repo_key: str, limit: int) -> list[tuple[int, Digest]]:
        """The repository's newest saved digests, newest first, with their ids."""
        ...

    def close(self) -> None: ...
