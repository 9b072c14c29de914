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

Importance — points; HIGH at >= 4, MEDIUM at >= 2, LOW below:

| points | rule                                                                             |
|--------|----------------------------------------------------------------------------------|
| base   | security 4; feature, fix, perf, refactor, revert 2; build, chore 1; docs, test,  |
|        | ci 0; unknown type 1, or 2 with >= 50 core lines                                 |
| +3     | platform/backend/hardware support (features touching core code): the title says |
|        | "support ... on X", "support/enable" + a platform word (platform, backend, NPU,  |
|        | Ascend, ROCm, AMD, XPU, TPU, HPU, MPS, MUSA, Blackwell, sm90, gfx950, ...) or a   |
|        | hardware tag, "add/new ... backend/platform", a `platform:` prefix; or it adds a |
|        | file under platforms/ or backends/ or named *_backend / *_platform               |
| +3     | breaking: `!:` prefix, "BREAKING CHANGE:" footer, a ticked checkbox starting     |
|        | "Breaking", "breaking" in the title, tags or labels, "Remove/Drop/Delete" + API  |
|        | words (support for, API, argument, option, flag, endpoint, CLI, --x, deprecated, |
|        | Python 3.x)                                                                      |
| +3     | deprecation: "deprecate(s/ing)", "mark ... as deprecated"                        |
| +2     | huge core change: > 800 core lines across >= 5 core files, or > 30 core files    |
| +2     | revert of a feature or perf change (the quoted title is classified)              |
| +1     | build change to a runtime dependency manifest (pyproject*, requirements.txt,     |
|        | setup.py, package.json, go.mod, Cargo.toml; not dev/test/docs requirements)      |
| +1     | database migration or schema files touched                                       |
| +0.5   | public definitions removed and not re-added (bounded patch scan)                 |
| -2     | feature/fix/perf/refactor/revert/unknown without any core file                   |
| -1     | fix in exactly one core file with <= 50 core lines that is not a hub module      |
|        | (runner, scheduler, server args, config, engine, API, ...): a fix in a hub       |
|        | reaches every user, one in a model or backend file only that model's users       |
| -1     | refactor of < 3 core files, < 100 core lines and < 3 moves                       |

Breaking, deprecation, migration and removed-API points apply to code types only (not docs,
test, ci). Forced LOW ("trivial", the LLM triage's cheap path): bot commits, merges without a
PR, docs-only, CI-only, version bumps, formatting-only. On the reference day (sglang,
2026-02-08) these rules give the report's importance for all nine commits.

Confidence = min(type confidence, importance confidence). Type: revert/bot 0.95, prefix 0.9,
merge 0.9, tag 0.85, security words 0.85, label 0.75, verb 0.7, unknown 0.35; at least 0.9 when
the files or a trivial rule decided. Importance: trivial 0.95, else 0.55 + 0.15 x the distance
of the score to the nearest threshold (capped at 2 points, so 0.55..0.85).

Texts (zh/en templates in heuristic_text.py around the untrusted title, never translated):
risks and recommendations only from the rules above — breaking, removed API, deprecation,
security, revert, moved/renamed core files, migrations, huge change, >= 300 core lines without a
test file, runtime manifests or lockfiles (verify lockfile/install; not for version bumps),
vendored-only (upstream version and licence), new platform touching shared code (re-run the
existing platforms' tests). Insights only for `testing`, `compatibility` and `maintainability`
(large refactors); the other dimensions stay None. Scope comes from components.py.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.analysis import heuristic_rules as rules
from bot.analysis import heuristic_text as text
from bot.analysis.base import AnalysisContext
from bot.analysis.classification import Classification, classify_commit
from bot.analysis.components import derive_scope
from bot.analysis.footprint import PathKind, path_kind
from bot.analysis.heuristic_rules import RULES_VERSION
from bot.models import (
    AnalysisProvenance,
    ChangeType,
    Commit,
    CommitAnalysis,
    Coverage,
    DigestItem,
    Insights,
    Language,
)

__all__ = ["RULES_VERSION", "Classification", "HeuristicAnalyzer", "classify_commit"]

MAX_RISKS = 4
MAX_RECOMMENDATIONS = 4
MAX_NAMED = 3  # names or paths quoted inside one risk
_MOVE_TYPES = frozenset(
    {ChangeType.REFACTOR, ChangeType.FEATURE, ChangeType.FIX, ChangeType.PERF, ChangeType.CHORE}
)


class HeuristicAnalyzer:
    """`Analyzer` from rules alone: offline, deterministic, pure CPU. No I/O, no state."""

    @property
    def cache_id(self) -> tuple[str, str]:
        return "heuristic", RULES_VERSION

    def classify(self, commit: Commit) -> Classification:
        """Type, importance, confidence and triviality: the LLM analyzer's cheap triage."""
        return classify_commit(commit)

    def analyze_sync(self, commit: Commit, context: AnalysisContext) -> CommitAnalysis:
        """The whole analysis, synchronously (the async `analyze` only wraps this)."""
        verdict = classify_commit(commit)
        return _analysis(commit, verdict, context)

    async def analyze(self, commit: Commit, context: AnalysisContext) -> CommitAnalysis:
        return self.analyze_sync(commit, context)

    async def overview(self, items: Sequence[DigestItem], language: Language) -> str | None:
        """1–3 sentences from the digest's stats and its high/medium titles; None when empty."""
        return text.overview_text(items, language)


def _quoted(values: Sequence[str]) -> str:
    shown = [f"`{text.truncate(text.fold(value), 80)}`" for value in values[:MAX_NAMED]]
    return ", ".join(shown) + (", …" if len(values) > MAX_NAMED else "")


def _notes(verdict: Classification, language: Language) -> tuple[list[str], list[str]]:
    """Risks and recommendations, each only where a rule supports it (rule ids in order)."""
    fp = verdict.footprint
    kind = verdict.change_type
    risk_keys: list[tuple[str, dict[str, object]]] = []
    advice_keys: list[str] = []
    if verdict.breaking:
        risk_keys.append(("breaking", {}))
        advice_keys.append("breaking")
    if "removed-api" in verdict.reasons:
        risk_keys.append(("removed_api", {"names": _quoted(fp.removed_public)}))
        if "breaking" not in advice_keys:
            advice_keys.append("breaking")
    if verdict.deprecation:
        risk_keys.append(("deprecation", {}))
        advice_keys.append("deprecation")
    if kind is ChangeType.SECURITY:
        risk_keys.append(("security", {}))
        advice_keys.append("security")
    if kind is ChangeType.REVERT:
        risk_keys.append(("revert", {}))
        advice_keys.append("revert")
    if fp.renamed_core and kind in _MOVE_TYPES and not verdict.trivial:
        risk_keys.append(("moved", {"count": fp.renamed_core}))
        advice_keys.append("moved")
    if "migration" in verdict.reasons:
        risk_keys.append(("migration", {"paths": _quoted(fp.migrations)}))
        advice_keys.append("migration")
    dependency_files = fp.runtime_manifests or fp.count(PathKind.LOCK)
    if dependency_files and "trivial:version-bump" not in verdict.reasons:
        advice_keys.append("dependencies")
    if verdict.platform and fp.core_files > len(fp.added_platform_files):
        advice_keys.append("platform")
    if verdict.huge:
        risk_keys.append(("huge", {"lines": fp.core_lines, "files": fp.core_files}))
        advice_keys.append("huge")
    untested = fp.core_lines >= rules.UNTESTED_CORE_LINES and not fp.touches_tests
    if untested and not verdict.trivial:
        risk_keys.append(("untested", {"lines": fp.core_lines}))
        advice_keys.append("untested")
    if fp.only is PathKind.VENDORED:
        advice_keys.append("vendored")
    risks = [text.pick(text.RISKS, key, language, **values) for key, values in risk_keys]
    advice = [text.pick(text.RECOMMENDATIONS, key, language) for key in advice_keys]
    return risks[:MAX_RISKS], advice[:MAX_RECOMMENDATIONS]


def _insights(verdict: Classification, language: Language) -> Insights:
    """Only testing, compatibility and maintainability, and only where a rule supports them."""
    fp = verdict.footprint
    kind = verdict.change_type
    tests = fp.count(PathKind.TEST)
    testing = None
    if fp.only is PathKind.TEST:
        testing = text.pick(text.INSIGHTS, "tests_only", language, tests=tests)
    elif fp.touches_core and kind not in (ChangeType.DOCS, ChangeType.CI) and not verdict.trivial:
        if tests:
            testing = text.pick(
                text.INSIGHTS, "tests_changed", language, tests=tests, core=fp.core_files
            )
        else:
            testing = text.pick(text.INSIGHTS, "no_tests", language, lines=fp.core_lines)
    compatibility: list[str] = []
    if verdict.breaking:
        index = 1 if language == "zh" else 0
        why = ("、" if language == "zh" else ", ").join(
            text.BREAKING_WHY[key][index] for key in verdict.breaking
        )
        compatibility.append(text.pick(text.INSIGHTS, "breaking", language, why=why))
    if verdict.deprecation:
        compatibility.append(text.pick(text.INSIGHTS, "deprecation", language))
    if fp.renamed_core and kind in _MOVE_TYPES and not verdict.trivial:
        compatibility.append(text.pick(text.INSIGHTS, "moved", language, count=fp.renamed_core))
    maintainability = None
    large = (
        fp.core_files >= rules.LARGE_REFACTOR_FILES
        or fp.core_lines >= rules.LARGE_REFACTOR_LINES
        or fp.renamed_core >= rules.MODERATE_REFACTOR_FILES
    )
    if kind is ChangeType.REFACTOR and large:
        maintainability = text.pick(
            text.INSIGHTS,
            "large_refactor",
            language,
            files=fp.core_files,
            lines=fp.core_lines,
            moved=fp.renamed_core,
        )
    joiner = "" if language == "zh" else " "
    return Insights(
        testing=testing,
        compatibility=text.truncate(joiner.join(compatibility), text.TEXT_MAX_CHARS) or None,
        maintainability=maintainability,
    )


def _summary_sentence(commit: Commit, title: str) -> str | None:
    if commit.pr is not None and commit.pr.body:
        sentence = text.first_sentence(commit.pr.body, title=title)
        if sentence:
            return sentence
    return text.first_sentence(commit.body, title=title)


def _main_scope(scope: tuple[str, ...]) -> str | None:
    """The first scope entry that is core code (tests and docs rarely say where a change is)."""
    for entry in scope:
        if path_kind(entry) is PathKind.CORE:
            return entry
    return scope[0] if scope else None


def _analysis(commit: Commit, verdict: Classification, context: AnalysisContext) -> CommitAnalysis:
    language = context.language
    fp = verdict.footprint
    scope = derive_scope(commit, context.components)
    parts = verdict.title
    title = f'"{parts.revert_of}"' if parts.revert_of else parts.clean or text.fold(commit.title)
    summary = text.summary_text(
        language,
        verdict.change_type,
        title,
        _summary_sentence(commit, title),
        files=fp.files,
        additions=fp.additions,
        deletions=fp.deletions,
        main_scope=_main_scope(scope),
    )
    risks, recommendations = _notes(verdict, language)
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
        insights=_insights(verdict, language),
        risks=tuple(risks),
        recommendations=tuple(recommendations),
        provenance=AnalysisProvenance(
            analyzer="heuristic",
            model=None,
            prompt_version=RULES_VERSION,
            language=language,
            coverage=coverage,
        ),
    )
