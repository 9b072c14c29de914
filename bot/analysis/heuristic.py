"""The offline, deterministic heuristic analyzer: type, importance and texts from rules alone.

It is the default without an LLM key, the LLM analyzer's fallback, and its cheap triage
(`HeuristicAnalyzer.classify`). Same commit in, same analysis out, byte for byte. Inputs are
bounded (title, body and patch scans have fixed caps), so a 3,000-file commit costs one linear
pass over its file list. Implementation: classification.py (rules engine), heuristic_rules.py
(tables, thresholds), footprint.py (path kinds, sizes, patch scan), heuristic_text.py (zh/en).

Change type — the first rule that applies wins:

| #  | rule                                                                 | type             |
|----|----------------------------------------------------------------------|------------------|
| 1  | merge commit (2+ parents or "Merge ..." title) without a PR; with a  | chore            |
|    | PR the PR title is classified instead                                |                  |
| 2  | bot author (`[bot]` suffix, dependabot, renovate, github-actions,     | build (dependency|
|    | pre-commit-ci, mergify, ...)                                          | bump, build-only |
|    |                                                                      | files) or chore  |
| 3  | `Revert "..."`, `revert:` prefix, `[Revert]` tag, leading "Revert"   | revert           |
| 4  | security words in the title (CVE-, GHSA-, vulnerab*, XSS, CSRF, SSRF, | security         |
|    | *injection except dependency/fault/noise/..., sanitize, auth bypass, |                  |
|    | path traversal, RCE), a `security` label, or a CVE/GHSA id in the    |                  |
|    | body; not when only docs/tests/CI files changed                      |                  |
| 5  | conventional prefix `type(scope)!:` (feat, fix, perf, refactor, docs, | per prefix       |
|    | test, ci, build, deps, chore, style->chore, revert, security)        |                  |
| 6  | first bracket tag naming a type ([Fix], [Bugfix], [Feature], [Perf], | per tag          |
|    | [Doc], [CI], [Test], [Refactor], [Deps], [Chore], ...); other tags   |                  |
|    | ([diffusion], [ModelOpt], [AMD], [NPU]) are components               |                  |
| 7  | first PR label naming a type (bug, enhancement, documentation,       | per label        |
|    | dependencies, ...)                                                   |                  |
| 8  | leading verb (Fix/Add/Support/Refactor/Move/Remove/Deprecate/Revert/ | per verb         |
|    | Bump/Upgrade/Optimize/Speed up/Update docs/...; 修复/新增/重构/...)    |                  |
| 9  | every file of one kind (footprint.py): docs, test, ci, build+lock,   | docs/test/ci/    |
|    | vendored                                                             | build/chore      |
| 10 | nothing matched                                                      | chore (unknown)  |

Then: a feature/fix/refactor/perf/chore whose files are all docs, tests, CI, build or vendored
becomes docs/test/ci/build/chore ("fix: notebook CI" touching only workflows is CI). A chore,
build or unknown commit that is a version bump ("version/release X.Y", "bump version|<this repo>
to X.Y", "vX.Y.Z"; at most 20 core lines) becomes a trivial chore; so does a feature/fix/
refactor/perf/chore that is formatting (`style:` prefix, [Style]/[Lint]/[Format] tag, "reformat",
"lint", "pre-commit", ... for chores and unknown types, or a patch that changes only whitespace;
indentation counts as code in Python/YAML/Makefiles).

Importance: the first row of the table in bot/analysis/importance_rules.py that applies
(low for no product code, bumps, formatting and wording whatever the size; high for security,
declared breaks, removed or renamed public API, new platforms or backends, new subsystems and
broad moves; medium for correctness fixes, changed parameters and defaults, new validation,
dependency changes, and fixes, features and performance work in product code). The deciding
rule's id and reason are in the analysis (`provenance.rule`, `provenance.rule_reason`).

Texts (bot/analysis/heuristic_text.py, bot/analysis/heuristic_notes.py): the summary is the
author's first whole sentences from the cleaned text, what the change facts say the diff does
and the footprint; risks, recommendations and insights come only from the change facts and the
rules above, each naming what it is about. Scope comes from components.py.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.analysis.base import AnalysisContext
from bot.analysis.classification import Classification, classify_commit
from bot.analysis.cleaner import commit_text
from bot.analysis.components import derive_scope
from bot.analysis.facts import with_facts
from bot.analysis.heuristic_notes import CommitShape, write_notes
from bot.analysis.heuristic_rules import RULES_VERSION
from bot.analysis.heuristic_text import overview_text, summary_text
from bot.analysis.paths import DEFAULT_ROLES, PathKind, PathRoles
from bot.models import (
    AnalysisProvenance,
    Commit,
    CommitAnalysis,
    Coverage,
    DigestItem,
    Insights,
    Language,
)

__all__ = ["RULES_VERSION", "Classification", "HeuristicAnalyzer", "classify_commit"]


class HeuristicAnalyzer:
    """`Analyzer` from rules alone: offline, deterministic, pure CPU. No I/O, no state."""

    @property
    def cache_id(self) -> tuple[str, str]:
        return "heuristic", RULES_VERSION

    def classify(self, commit: Commit, roles: PathRoles = DEFAULT_ROLES) -> Classification:
        """Type, importance, confidence and triviality: the LLM analyzer's cheap first pass."""
        return classify_commit(with_facts(commit), roles)

    def analyze_sync(self, commit: Commit, context: AnalysisContext) -> CommitAnalysis:
        """The whole analysis, synchronously (the async `analyze` only wraps this)."""
        commit = with_facts(commit)
        verdict = classify_commit(commit, context.path_roles)
        return _analysis(commit, verdict, context)

    async def prepare(self) -> None:
        return None  # the rules are loaded with the module

    async def analyze(self, commit: Commit, context: AnalysisContext) -> CommitAnalysis:
        return self.analyze_sync(commit, context)

    async def overview(self, items: Sequence[DigestItem], language: Language) -> str | None:
        """1–3 sentences from the digest's stats and its high/medium titles; None when empty."""
        return overview_text(items, language)


def _main_scope(scope: tuple[str, ...], product_paths: Sequence[str]) -> str | None:
    """The first scope entry that is, or holds, product code (tests and docs rarely say where
    the change is); entries are files, directories or component names."""
    for entry in scope:
        directory = entry.rstrip("/") + "/"
        if any(path == entry or path.startswith(directory) for path in product_paths):
            return entry
    return scope[0] if scope else None


def _shape(commit: Commit, verdict: Classification) -> CommitShape:
    fp = verdict.footprint
    signals = verdict.signals
    return CommitShape(
        change_type=verdict.change_type,
        roles=signals.roles,
        paths=signals.product_paths,
        new_paths=frozenset(c.path for c in commit.files if c.status == "added"),
        removed_modules=signals.removed_modules,
        deleted_paths=signals.deleted_paths,
        modified=tuple(
            c.path
            for c in commit.files
            if c.path in signals.product_set and c.status != "added" and c.changes
        ),
        failures=signals.failures if verdict.rule.id == "medium:correctness" else (),
        breaking=verdict.breaking,
        platform=verdict.platform,
        revert_of=verdict.title.revert_of,
        migrations=fp.migrations,
        tests_changed=fp.count(PathKind.TEST),
        core_files=fp.core_files,
        short_sha=commit.short_sha,
    )


def _analysis(commit: Commit, verdict: Classification, context: AnalysisContext) -> CommitAnalysis:
    language = context.language
    fp = verdict.footprint
    facts = verdict.signals.facts
    scope = derive_scope(commit, context.components)
    summary = summary_text(
        language,
        commit_text(commit),
        facts,
        context.path_roles,
        files=fp.files,
        additions=fp.additions,
        deletions=fp.deletions,
        main_scope=_main_scope(scope, verdict.signals.product_paths),
    )
    notes = write_notes(facts, _shape(commit, verdict), language) if not verdict.trivial else None
    lines = fp.additions + fp.deletions
    coverage = Coverage(
        files_total=fp.files, files_sent=fp.files, lines_total=lines, lines_sent=lines
    )
    return CommitAnalysis(
        sha=commit.sha,
        change_type=verdict.change_type,
        importance=verdict.importance,
        summary=summary,
        scope=scope,
        insights=notes.insights() if notes else Insights(),
        risks=tuple(notes.risks) if notes else (),
        recommendations=tuple(notes.advice) if notes else (),
        provenance=AnalysisProvenance(
            analyzer="heuristic",
            model=None,
            prompt_version=RULES_VERSION,
            language=language,
            coverage=coverage,
            rule=verdict.rule.id,
            rule_reason=verdict.rule.explain(language),
        ),
    )
