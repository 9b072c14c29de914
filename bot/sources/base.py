"""The commit-source seam: list a window's commits, fetch one commit, resolve a short SHA."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol

from bot.errors import InvalidInputError
from bot.models import Commit, CommitSummary, Window
from bot.repos import RepoTarget

SHA_RE = re.compile(r"^[0-9a-f]{7,40}$")


def validate_sha(text: str) -> str:
    """Lower-case a user-given SHA or raise InvalidInputError before any network call."""
    sha = text.strip().lower()
    if not SHA_RE.match(sha):
        raise InvalidInputError(f"'{text[:50]}' is not a commit SHA (7 to 40 hex characters).")
    return sha


@dataclass(frozen=True)
class BranchHead:
    """A followed branch's newest commit, as a poll sees it."""

    sha: str | None  # None: unchanged since the ETag given (GitHub answered 304)
    etag: str | None = None  # give it to the next poll (None: the source has none)


class CommitSource(Protocol):
    """Where commits come from. Implementations raise only bot.errors types."""

    async def list_commits(self, repo: RepoTarget, window: Window) -> list[CommitSummary]:
        """Commits on the repo's branch committed inside `window`, newest first."""
        ...

    async def get_commit(self, repo: RepoTarget, sha: str) -> Commit:
        """One commit in full (files, stats, patch, PR). `sha` is a full 40-hex SHA."""
        ...

    async def resolve_sha(self, repo: RepoTarget, prefix: str) -> str:
        """The full SHA for a 7–40 hex prefix; NotFoundError or AmbiguousShaError otherwise."""
        ...

    async def branch_head(self, repo: RepoTarget, etag: str | None = None) -> BranchHead:
        """The SHA at the tip of the repo's branch. With `etag` (from the previous call) the
        request is conditional: an unchanged branch answers `sha=None` and, on GitHub, a 304
        that costs no rate limit."""
        ...

    def repo_url(self, repo: RepoTarget) -> str:
        """The repository's web page (empty when it has none), used for links in digests."""
        ...

    async def aclose(self) -> None:
        """Release connections and threads."""
        ...


class ProgressReporter(Protocol):
    """Told how far a long fetch or analysis has got (the CLI draws a bar on stderr)."""

    def start(self, stage: str, total: int) -> None: ...

    def advance(self, stage: str, amount: int = 1) -> None: ...

    def finish(self, stage: str) -> None: ...


class NullProgress:
    """A ProgressReporter that reports nowhere."""

    def start(self, stage: str, total: int) -> None:
        return None

    def advance(self, stage: str, amount: int = 1) -> None:
        return None

    def finish(self, stage: str) -> None:
        return None
