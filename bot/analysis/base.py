"""The analyzer seam: turn one Commit into a CommitAnalysis, and a day's items into an overview."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from bot.analysis.paths import DEFAULT_ROLES, PathRoles
from bot.models import Commit, CommitAnalysis, DigestItem, Language

if TYPE_CHECKING:
    from bot.analysis.depth import TokenLedger


@dataclass(frozen=True)
class AnalysisContext:
    """What an analyzer needs besides the commit: output language, the repo's components and
    path roles (TOML tuning), and the token ledger of the digest being built (None: no
    ceiling)."""

    language: Language = "en"
    components: dict[str, str] = field(default_factory=dict)  # glob -> component name
    ledger: TokenLedger | None = None
    path_roles: PathRoles = DEFAULT_ROLES


@dataclass(frozen=True)
class AnalysisKey:
    """The cache key of one analysis. Commits are immutable, so this never goes stale."""

    repo: str
    sha: str
    analyzer: str  # "heuristic" or the LLM model name
    prompt_version: str
    language: Language


class Analyzer(Protocol):
    """Analyzes commits. Never raises for a bad commit or a bad model reply: it falls back."""

    @property
    def cache_id(self) -> tuple[str, str]:
        """(analyzer or model name, prompt/rules version) — part of the cache key."""
        ...

    async def prepare(self) -> None:
        """Load what reads need (an SDK, a tokenizer) ahead of the first one, so the loading
        overlaps the fetching. Called when a digest knows it has commits to read; never
        raises (the read that needs it reports a failure)."""
        ...

    async def analyze(self, commit: Commit, context: AnalysisContext) -> CommitAnalysis: ...

    async def overview(self, items: Sequence[DigestItem], language: Language) -> str | None:
        """2–4 sentences on the day's highlights, or None when there is nothing to say."""
        ...
