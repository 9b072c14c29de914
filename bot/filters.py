"""Which commits a digest leaves out: bot authors, merges, commits touching only ignored paths."""

from __future__ import annotations

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
        if not self.exclude_paths or not commit.files:
            return True
        return not all(
            any(fnmatchcase(f.path, pattern) for pattern in self.exclude_paths)
            for f in commit.files
        )


def _literal_brackets(pattern: str) -> str:
    """Bot names end in `[bot]`: brackets are literal in author patterns, only * and ? glob."""
    return pattern.replace("[", "[[]")
