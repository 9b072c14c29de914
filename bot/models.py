"""The neutral data model shared by sources, analysis, digests and formatters (no markup)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# The core's vocabulary lives apart (no pydantic there, for a fast `--help`) and is part of the
# model's surface: re-exported explicitly (`X as X`, the typing convention for re-exports).
from bot.vocabulary import IMPORTANCE_ORDER as IMPORTANCE_ORDER  # noqa: PLC0414
from bot.vocabulary import LANGUAGES as LANGUAGES  # noqa: PLC0414
from bot.vocabulary import Importance as Importance  # noqa: PLC0414
from bot.vocabulary import Language as Language  # noqa: PLC0414


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


# One name per change type in each language: cards, reports and the heuristic's own sentences
# all use these (the LLM prompt's vocabulary matches them too).
CHANGE_TYPE_NAMES: dict[Language, dict[ChangeType, str]] = {
    "zh": {
        ChangeType.FEATURE: "功能增强",
        ChangeType.FIX: "Bug 修复",
        ChangeType.REFACTOR: "代码重构",
        ChangeType.PERF: "性能优化",
        ChangeType.DOCS: "文档更新",
        ChangeType.TEST: "测试",
        ChangeType.CI: "配置调整",
        ChangeType.BUILD: "构建与依赖",
        ChangeType.CHORE: "日常维护",
        ChangeType.REVERT: "回滚",
        ChangeType.SECURITY: "安全修复",
    },
    "en": {
        ChangeType.FEATURE: "Feature",
        ChangeType.FIX: "Bug fix",
        ChangeType.REFACTOR: "Refactor",
        ChangeType.PERF: "Performance",
        ChangeType.DOCS: "Docs",
        ChangeType.TEST: "Tests",
        ChangeType.CI: "CI / config",
        ChangeType.BUILD: "Build & deps",
        ChangeType.CHORE: "Chore",
        ChangeType.REVERT: "Revert",
        ChangeType.SECURITY: "Security fix",
    },
}


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


class SymbolChange(_Frozen):
    """A definition the diff adds, removes, renames or re-signs (a function, class or kernel).

    `name` is qualified where the diff shows the owner (`Wrapper.run`); `before`/`after` are the
    old and new signatures, bounded; for a signature change the parameter lists say what moved.
    """

    kind: Literal["added", "removed", "renamed", "moved", "signature"]
    name: str
    path: str  # where it is now (where it was, for a removal)
    public: bool = True
    language: str = ""
    old_name: str | None = None  # renamed: the previous name
    old_path: str | None = None  # moved: the module it left
    before: str | None = None
    after: str | None = None
    params_added: tuple[str, ...] = ()
    params_removed: tuple[str, ...] = ()
    defaults_changed: tuple[str, ...] = ()  # "name: old -> new"
    types_changed: tuple[str, ...] = ()  # "name: old type -> new type"


class ExportChange(_Frozen):
    """A name added to or dropped from a package's exports (`__init__` imports, `__all__`)."""

    kind: Literal["added", "removed"]
    name: str
    path: str


class SettingChange(_Frozen):
    """An environment variable, CLI flag or config key that is new, gone or has a new default."""

    kind: Literal["env", "flag", "config"]
    change: Literal["added", "removed", "default"]
    name: str
    path: str
    old: str | None = None  # the previous default (bounded source text)
    new: str | None = None

    @property
    def on_by_default(self) -> bool:
        """A new setting whose default turns its code path on for everyone."""
        value = (self.new or "").strip("'\"").lower()
        return self.change == "added" and value in _OFF_FOR_ON

    @property
    def off_value(self) -> str:
        """The value that turns an on-by-default setting off, written as its default is."""
        default = self.new or ""
        bare = default.strip("'\"")
        if bare in ("True", "False"):
            return "False"
        off = _OFF_FOR_ON.get(bare.lower(), "0")
        return f'"{off}"' if default[:1] in "'\"" else off


# Values that switch a setting on, and the value that switches it off again.
_OFF_FOR_ON = {
    "1": "0",
    "true": "false",
    "on": "off",
    "yes": "no",
    "enable": "disable",
    "enabled": "disabled",
    "auto": "off",
}


class ErrorChange(_Frozen):
    """A raise, throw or check (validation) the diff adds or removes."""

    change: Literal["added", "removed"]
    kind: Literal["raise", "check"]
    text: str  # exception type or check macro and its message, bounded
    path: str
    function: str | None = None  # the function it sits in, where the diff shows it


class DependencyChange(_Frozen):
    """A dependency added, removed or moved to another version (or submodule commit)."""

    name: str
    path: str
    old: str | None = None  # version specifier before (None: added)
    new: str | None = None  # after (None: removed)


class FileMove(_Frozen):
    old_path: str
    new_path: str


class ChangeFacts(_Frozen):
    """What a commit's whole diff changes, found without an LLM (bot/analysis/facts).

    Each list is bounded; `omitted` counts facts left out by those bounds, `files_unscanned`
    the files whose patch was missing or too large to read. Stored with the commit.
    """

    version: str
    symbols: tuple[SymbolChange, ...] = ()
    exports: tuple[ExportChange, ...] = ()
    settings: tuple[SettingChange, ...] = ()
    errors: tuple[ErrorChange, ...] = ()
    dependencies: tuple[DependencyChange, ...] = ()
    moves: tuple[FileMove, ...] = ()
    tests_added: tuple[str, ...] = ()  # test functions the commit adds (a bounded sample)
    files_scanned: int = 0
    files_unscanned: int = 0
    omitted: int = 0

    @property
    def empty(self) -> bool:
        return not (
            self.symbols
            or self.exports
            or self.settings
            or self.errors
            or self.dependencies
            or self.moves
        )


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
    # Computed from the diff by the analysis layer after fetching, then stored with the commit.
    facts: ChangeFacts | None = None

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

    def head(self) -> CommitHead:
        return CommitHead(
            commit=self.summary(),
            pr_number=self.pr_number,
            pr_url=(self.pr.url or None) if self.pr else None,
            files_changed=len(self.files),
            additions=self.additions,
            deletions=self.deletions,
            facts=self.facts,
            paths=tuple(change.path for change in self.files),
        )


class CommitHead(_Frozen):
    """What a digest shows of a commit, without its message body and patch: a warm digest
    reads these small rows and leaves the full commits on disk."""

    commit: CommitSummary
    pr_number: int | None = None
    pr_url: str | None = None
    files_changed: int = 0
    additions: int = 0
    deletions: int = 0
    facts: ChangeFacts | None = None
    paths: tuple[str, ...] = ()  # every changed file's path, for path filters


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


# The fallback reason of a commit read by the rules because an on-demand command's LLM-call cap
# was used up: formatters say "rule-based", not "the LLM failed".
CALL_LIMIT_REASON = "LLM call limit reached"


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
    # How deeply the model read the commit: "short" (no patch), "standard", "deep" (a larger
    # budget), "map-reduce" (file groups read apart, then merged); None for the heuristic.
    depth: Literal["short", "standard", "deep", "map-reduce"] | None = None
    calls: int = 0  # LLM calls spent on this analysis
    reduced: bool = False  # read less deeply than planned because the digest's ceiling was hit
    rule: str | None = None  # the heuristic's importance rule that decided ("medium:fix")
    rule_reason: str | None = None  # why, in the analysis's language


class CommitAnalysis(_Frozen):
    """What an analyzer concluded about one commit."""

    sha: str
    change_type: ChangeType
    importance: Importance
    summary: str
    scope: tuple[str, ...] = ()
    insights: Insights = Field(default_factory=Insights)
    risks: tuple[str, ...] = ()  # "title：detail" where the risk has a title
    recommendations: tuple[str, ...] = ()  # "area：advice" where it names an area
    provenance: AnalysisProvenance
    change_type_detail: str | None = None  # qualifies the type: "new Ascend NPU platform"
    scope_notes: tuple[str, ...] = ()  # what changed at each scope entry ("" when nothing)
    closing: str | None = None  # a closing remark

    def scope_entries(self) -> list[tuple[str, str]]:
        """(scope entry, its note or "") pairs, in order."""
        notes = (*self.scope_notes, *([""] * len(self.scope)))
        return [(entry, notes[index]) for index, entry in enumerate(self.scope)]


class DigestItem(_Frozen):
    """One commit in a digest: the commit's identity (no patch) and its analysis."""

    commit: CommitSummary
    pr_number: int | None = None
    pr_url: str | None = None
    files_changed: int = 0
    additions: int = 0
    deletions: int = 0
    analysis: CommitAnalysis
    facts: ChangeFacts | None = None
    # When an alert about this commit was posted to the channel this digest goes to (a
    # subscription's daily post marks it "alerted 10:42"); None everywhere else.
    alerted_at: datetime | None = None
    # The directories it touches, two levels deep ("flashinfer/gemm"), at most AREAS_MAX:
    # what the week's chart counts as the parts of the repository touched most.
    areas: tuple[str, ...] = ()


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

    @classmethod
    def of(cls, items: Sequence[DigestItem]) -> DigestStats:
        """The counts of `items` by importance."""
        counts = {importance: 0 for importance in IMPORTANCE_ORDER}
        for item in items:
            counts[item.analysis.importance] += 1
        return cls(
            total=len(items),
            high=counts[Importance.HIGH],
            medium=counts[Importance.MEDIUM],
            low=counts[Importance.LOW],
        )


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
    token_ceiling: int | None = None  # the input-token ceiling this digest was built under
    reduced_analyses: int = 0  # reads made shallower (or skipped) to stay under the ceiling
    # An on-demand command's LLM-call cap (None: none) and the commits it left to the rules.
    llm_call_ceiling: int | None = None
    capped_analyses: int = 0


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
    # The digest's web page (set by `serve` when it publishes one; cards link to it).
    report_url: str | None = None

    def by_importance(self, importance: Importance) -> list[DigestItem]:
        return [item for item in self.items if item.analysis.importance is importance]

    def find(self, sha_prefix: str) -> DigestItem | None:
        prefix = sha_prefix.lower()
        matches = [item for item in self.items if item.commit.sha.startswith(prefix)]
        return matches[0] if len(matches) == 1 else None


AREAS_MAX = 8


def areas_of(paths: Sequence[str]) -> tuple[str, ...]:
    """The directories `paths` sit in, two levels deep ("flashinfer/gemm"; "(root)" for files
    at the top), most files first, at most AREAS_MAX."""
    counts: dict[str, int] = {}
    for path in paths:
        parts = path.split("/")[:-1]
        area = "/".join(parts[:2]) if parts else "(root)"
        counts[area] = counts.get(area, 0) + 1
    ranked = sorted(counts, key=lambda area: (-counts[area], area))
    return tuple(ranked[:AREAS_MAX])


class HeldBack(_Frozen):
    """Alerts a channel did not get since its previous alert card, and why (they are in the
    next daily digest)."""

    quiet_hours: int = 0
    rate_cap: int = 0
    since: datetime | None = None

    @property
    def total(self) -> int:
        return self.quiet_hours + self.rate_cap


class Alert(_Frozen):
    """One alert card: commits at or above a subscription's alert threshold, as they landed.

    `digest` holds them (most important first) with the repository, language and time zone, so
    a Details button and thread questions under the card work as under a daily digest. One
    commit is the usual card; `folded` when a burst (a big merge, a force-push) became one."""

    digest: Digest
    folded: bool = False
    forced: bool = False  # the branch was force-pushed
    held: HeldBack = Field(default_factory=HeldBack)
