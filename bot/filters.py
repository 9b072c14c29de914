"""Which commits a digest leaves out: bot authors, merges, commits touching only ignored paths."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

from bot.models import Commit, CommitSummary


@dataclass(frozen=True)
class CommitFilter:
    """Author globs are case-insensitive and match the git name or the GitHub login."""

    exclude_authors: tuple[str, ...] = ()
    exclude_merges: bool = True
    exclude_paths: tuple[str, ...] = ()

    def keeps_summary(self, commit: CommitSummary) -> bool:
        """Decided from the listing alone, before any detail request."""
        if self.exclude_merges and commit.is_merge:
            return False
        names = [n.lower() for n in (commit.author, commit.author_login) if n]
        return not any(
            fnmatchcase(name, _literal_brackets(pattern.lower()))
            for name in names
            for pattern in self.exclude_authors
        )

    def keeps_commit(self, commit: Commit) -> bool:
        """A commit whose every file matches an excluded path glob is dropped."""
        return self.keeps_paths([change.path for change in commit.files])

    def keeps_paths(self, paths: Sequence[str]) -> bool:
        """keeps_commit for a commit that changes `paths` (from its stored head)."""
        if not self.exclude_paths or not paths:
            return True
        return not all(
            any(fnmatchcase(path, pattern) for pattern in self.exclude_paths) for path in paths
        )


def _literal_brackets(pattern: str) -> str:
    """Bot names end in `[bot]`: brackets are literal in author patterns, only * and ? glob."""
    return pattern.replace("[", "[[]")
