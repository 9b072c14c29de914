"""The neutral data model shared by sources, analysis, digests and formatters (no markup)."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Language = Literal["zh", "en"]
LANGUAGES: tuple[Language, ...] = ("zh", "en")


class Importance(StrEnum):
    """How much a commit matters to people following the repository."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        """0 for high, 2 for low: sorts high first."""
        return _IMPORTANCE_RANK[self]


_IMPORTANCE_RANK = {Importance.HIGH: 0, Importance.MEDIUM: 1, Importance.LOW: 2}
IMPORTANCE_ORDER: tuple[Importance, ...] = (Importance.HIGH, Importance.MEDIUM, Importance.LOW)


class ChangeType(StrEnum):
    """What kind of change a commit makes."""

    FEATURE = "feature"
    FIX = "fix"
    REFACTOR = "refactor"
    PERF = "perf"
    DOCS = "docs"
    TEST = "test"
    CI = "ci"
    BUILD = "build"
    CHORE = "chore"
    REVERT = "revert"
    SECURITY = "security"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FileChange(_Frozen):
    """One file touched by a commit; `patch` is None when the source gave none (binary, too big)."""

    path: str
    status: str = "modified"  # added | modified | removed | renamed | copied | changed
    additions: int = 0
    deletions: int = 0
    patch: str | None = None
    previous_path: str | None = None

    @property
    def changes(self) -> int:
        return self.additions + self.deletions


class PullRequest(_Frozen):
    """The pull request a commit was merged through."""

    number: int
    title: str = ""
    body: str = ""
    labels: tuple[str, ...] = ()
    url: str = ""


class CommitSummary(_Frozen):
    """What a commit listing returns: enough to filter and to decide what to fetch."""

    repo: str
    sha: str
    title: str
    author: str
    author_login: str | None = None
    committed_at: datetime
    parents: tuple[str, ...] = ()
    url: str = ""

    @property
    def short_sha(self) -> str:
        return self.sha[:7]

    @property
    def is_merge(self) -> bool:
        return len(self.parents) > 1


class Commit(_Frozen):
    """A commit with its files, patch and associated pull request. Immutable once fetched."""

    repo: str
    sha: str
    title: str
    message: str
    author: str
    author_login: str | None = None
    committed_at: datetime
    url: str = ""
    parents: tuple[str, ...] = ()
    files: tuple[FileChange, ...] = ()
    additions: int = 0
    deletions: int = 0
    # GitHub stops listing files after 3000; the source records that it knows of more.
    files_truncated: bool = False
    pr: PullRequest | None = None

    @property
    def short_sha(self) -> str:
        return self.sha[:7]

    @property
    def is_merge(self) -> bool:
        return len(self.parents) > 1

    @property
    def pr_number(self) -> int | None:
        return self.pr.number if self.pr else None

    @property
    def body(self) -> str:
        """The commit message without its title line."""
        _, _, rest = self.message.partition("\n")
        return rest.strip()

    def summary(self) -> CommitSummary:
        return CommitSummary(
            repo=self.repo,
            sha=self.sha,
            title=self.title,
            author=self.author,
            author_login=self.author_login,
            committed_at=self.committed_at,
            parents=self.parents,
            url=self.url,
        )


class Insights(_Frozen):
    """Technical insights along the reference report's six dimensions; each is optional."""

    architecture: str | None = None
    performance: str | None = None
    security: str | None = None
    maintainability: str | None = None
    compatibility: str | None = None
    testing: str | None = None

    def items(self) -> list[tuple[str, str]]:
        """The (dimension, text) pairs that are present, in the report's order."""
        return [(name, value) for name, value in self.model_dump().items() if value]

    @property
    def empty(self) -> bool:
        return not self.items()


INSIGHT_DIMENSIONS: tuple[str, ...] = tuple(Insights.model_fields)


class Coverage(_Frozen):
    """How much of a commit the analyzer saw: files and changed lines sent vs the whole."""

    files_total: int = 0
    files_sent: int = 0
    lines_total: int = 0
    lines_sent: int = 0
    omitted_paths: tuple[str, ...] = ()  # a bounded sample of what was left out

    @property
    def partial(self) -> bool:
        return self.files_sent < self.files_total or self.lines_sent < self.lines_total


class AnalysisProvenance(_Frozen):
    """Who produced an analysis and from what."""

    analyzer: Literal["llm", "heuristic"]
    model: str | None = None
    prompt_version: str | None = None
    language: Language = "en"
    coverage: Coverage = Field(default_factory=Coverage)
    fallback_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    triaged: bool = False  # analysed on the cheap path because the heuristic was confident


class CommitAnalysis(_Frozen):
    """What an analyzer concluded about one commit."""

    sha: str
    change_type: ChangeType
    importance: Importance
    summary: str
    scope: tuple[str, ...] = ()
    insights: Insights = Field(default_factory=Insights)
    risks: tuple[str, ...] = ()
    recommendations: tuple[str, ...] = ()
    provenance: AnalysisProvenance


class DigestItem(_Frozen):
    """One commit in a digest: the commit's identity (no patch) and its analysis."""

    commit: CommitSummary
    pr_number: int | None = None
    pr_url: str | None = None
    files_changed: int = 0
    additions: int = 0
    deletions: int = 0
    analysis: CommitAnalysis


class Window(_Frozen):
    """A half-open time range [start, end) of whole local days in `tz`."""

    start: datetime
    end: datetime
    tz: str
    label: str  # what the user asked for: "today", "2026-02-08", "7d", ...

    @property
    def first_day(self) -> str:
        return self.start.date().isoformat()

    @property
    def last_day(self) -> str:
        return (self.end - timedelta(seconds=1)).date().isoformat()

    @property
    def title(self) -> str:
        """`2026-02-08` for one day, `2026-02-01 – 2026-02-07` for several."""
        first, last = self.first_day, self.last_day
        return first if first == last else f"{first} – {last}"


class DigestStats(_Frozen):
    total: int = 0
    high: int = 0
    medium: int = 0
    low: int = 0

    def count(self, importance: Importance) -> int:
        return int(getattr(self, importance.value))


class DigestProvenance(_Frozen):
    """How a digest was produced, summed over its analyses."""

    generated_at: datetime
    analyzers: tuple[str, ...] = ()
    model: str | None = None
    prompt_version: str | None = None
    llm_analyses: int = 0
    heuristic_analyses: int = 0
    fallbacks: int = 0
    partial_analyses: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    excluded_commits: int = 0  # filtered out (bots, merges, paths, below minimum importance)


class Digest(_Frozen):
    """A neutral digest of one repository over one window: sorted items, stats, provenance."""

    repo: str
    repo_url: str = ""
    window: Window
    language: Language = "en"
    items: tuple[DigestItem, ...] = ()
    stats: DigestStats = Field(default_factory=DigestStats)
    overview: str | None = None
    provenance: DigestProvenance

    def by_importance(self, importance: Importance) -> list[DigestItem]:
        return [item for item in self.items if item.analysis.importance is importance]

    def find(self, sha_prefix: str) -> DigestItem | None:
        prefix = sha_prefix.lower()
        matches = [item for item in self.items if item.commit.sha.startswith(prefix)]
        return matches[0] if len(matches) == 1 else None
