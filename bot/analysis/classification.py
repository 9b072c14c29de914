"""The heuristic classification of a commit: change type, importance, confidence, triviality.

The rule table is documented in bot/analysis/heuristic.py; the tables live in heuristic_rules.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.analysis import heuristic_rules as rules
from bot.analysis.footprint import Footprint, PathKind, measure
from bot.analysis.heuristic_rules import TitleParts, parse_title
from bot.models import ChangeType, Commit, Importance

VERSION_BUMP_MAX_CORE_LINES = 20

_TYPE_CONFIDENCE = {
    "merge": 0.9,
    "bot": 0.95,
    "revert": 0.95,
    "security": 0.85,
    "prefix": 0.9,
    "tag": 0.85,
    "label": 0.75,
    "verb": 0.7,
    "paths": 0.9,
    "default": 0.35,
}
_PATH_TYPES = {
    PathKind.DOCS: ChangeType.DOCS,
    PathKind.TEST: ChangeType.TEST,
    PathKind.CI: ChangeType.CI,
    PathKind.BUILD: ChangeType.BUILD,
    PathKind.VENDORED: ChangeType.CHORE,
}
_OVERRIDABLE = frozenset(
    {ChangeType.FEATURE, ChangeType.FIX, ChangeType.REFACTOR, ChangeType.PERF, ChangeType.CHORE}
)
_NO_CODE_TYPES = frozenset({ChangeType.DOCS, ChangeType.TEST, ChangeType.CI})
_NEEDS_CORE = frozenset(
    {ChangeType.FEATURE, ChangeType.FIX, ChangeType.PERF, ChangeType.REFACTOR, ChangeType.REVERT}
)


@dataclass(frozen=True)
class Classification:
    """The heuristic's verdict on one commit, with the rule ids that produced it."""

    change_type: ChangeType
    importance: Importance
    confidence: float  # 0..1
    trivial: bool  # docs/CI-only, version bump, bot, formatting-only, merge without PR
    score: float
    reasons: tuple[str, ...]  # rule ids, in the order they applied: "type:prefix:fix", ...
    title: TitleParts
    footprint: Footprint
    breaking: tuple[str, ...] = ()  # why: "bang", "footer", "keyword", "label", "removal"
    deprecation: bool = False
    platform: bool = False
    huge: bool = False


@dataclass
class _Verdict:
    kind: ChangeType
    source: str
    reasons: list[str] = field(default_factory=list)
    trivial: bool = False


def _labels(commit: Commit) -> tuple[str, ...]:
    if commit.pr is None:
        return ()
    return tuple(sorted({" ".join(label.lower().split()) for label in commit.pr.labels[:50]}))


def _bodies(commit: Commit) -> str:
    pr_body = commit.pr.body if commit.pr else ""
    return (pr_body[: rules.BODY_SCAN_CHARS] + "\n" + commit.body[: rules.BODY_SCAN_CHARS]).strip()


def _title_type(parts: TitleParts, labels: tuple[str, ...]) -> tuple[ChangeType | None, str]:
    if parts.cc_type is not None:
        return rules.CC_TYPES[parts.cc_type], f"prefix:{parts.cc_type}"
    for tag in parts.tags:
        if tag in rules.TAG_TYPES:
            return rules.TAG_TYPES[tag], f"tag:{tag}"
    for label in labels:
        if label in rules.LABEL_TYPES:
            return rules.LABEL_TYPES[label], "label"
    kind, verb = rules.verb_type(parts.clean)
    return kind, f"verb:{verb}" if kind else ""


def _is_version_bump(lowered: str, repo: str, footprint: Footprint) -> bool:
    if footprint.core_lines > VERSION_BUMP_MAX_CORE_LINES:
        return False
    bump = rules.DEPENDENCY_BUMP_RE.search(lowered)
    if bump and bump.group("name"):
        # "Bump version to 1.2" and "Bump <this repo> to 1.2" are releases, not dependency bumps.
        name = bump.group("name").lower()
        return name in ("version", repo.rsplit("/", 1)[-1].lower())
    if bump:
        return False
    numbered = rules.VERSION_BUMP_RE.search(lowered) is not None
    return numbered or (lowered.lstrip("v").replace(".", "").isdigit() and "." in lowered)


def _change_type(commit: Commit, parts: TitleParts, fp: Footprint, merge: bool) -> _Verdict:
    lowered = parts.clean.lower()
    labels = _labels(commit)
    only = fp.only
    if merge:
        return _Verdict(ChangeType.CHORE, "merge", ["merge"], trivial=True)
    if rules.is_bot(commit.author, commit.author_login):
        dependency = rules.DEPENDENCY_BUMP_RE.search(lowered) or only is PathKind.BUILD
        bot_kind = ChangeType.BUILD if dependency or "dependencies" in labels else ChangeType.CHORE
        return _Verdict(bot_kind, "bot", ["bot"], trivial=True)
    verb_kind, _ = rules.verb_type(parts.clean)
    if (
        parts.revert_of is not None
        or parts.cc_type == "revert"
        or "revert" in parts.tags
        or verb_kind is ChangeType.REVERT
    ):
        return _Verdict(ChangeType.REVERT, "revert", ["type:revert"])
    code_files = only not in (PathKind.DOCS, PathKind.TEST, PathKind.CI)
    security = rules.mentions_security(lowered) or "security" in labels
    if not security and rules.STRONG_SECURITY_ID_RE.search(_bodies(commit)):
        security = True
    if security and code_files:
        return _Verdict(ChangeType.SECURITY, "security", ["type:security"])

    kind, how = _title_type(parts, labels)
    verdict = _Verdict(kind or ChangeType.CHORE, how.split(":", 1)[0] if kind else "default")
    verdict.reasons.append(f"type:{how}" if kind else "type:unknown")
    if kind is None and only is not None and only in _PATH_TYPES:
        verdict = _Verdict(_PATH_TYPES[only], "paths", [f"type:paths:{only.value}"])
    elif verdict.kind in _OVERRIDABLE and only in _PATH_TYPES and only is not None:
        verdict.kind, verdict.source = _PATH_TYPES[only], "paths"
        verdict.reasons.append(f"override:only-{only.value}")
    elif kind is None and code_files and _mostly_new_code(commit):
        # No word in the title says what it is, but most changed lines are new files: an
        # addition, not upkeep.
        verdict = _Verdict(ChangeType.FEATURE, "paths", ["type:paths:new-code"])

    if only in (PathKind.DOCS, PathKind.CI):
        verdict.trivial = True
        verdict.reasons.append(f"trivial:{only.value}-only")
    elif verdict.kind in _OVERRIDABLE or verdict.kind is ChangeType.BUILD:
        formatting = verdict.kind is not ChangeType.BUILD and (
            parts.cc_type == "style"
            or any(tag in ("style", "lint", "format") for tag in parts.tags)
            or (bool(rules.FORMATTING_RE.search(lowered)) and kind in (None, ChangeType.CHORE))
        )
        release_like = verdict.kind in (ChangeType.CHORE, ChangeType.BUILD)
        if release_like and _is_version_bump(lowered, commit.repo, fp):
            verdict.kind, verdict.trivial = ChangeType.CHORE, True
            verdict.reasons.append("trivial:version-bump")
        elif formatting or fp.whitespace_only:
            verdict.kind, verdict.trivial = ChangeType.CHORE, True
            why = "whitespace-only" if fp.whitespace_only else "format"
            verdict.reasons.append(f"trivial:{why}")
    return verdict


def _breaking(commit: Commit, parts: TitleParts, lowered: str) -> tuple[str, ...]:
    why: list[str] = []
    if parts.bang:
        why.append("bang")
    if rules.BREAKING_FOOTER_RE.search(_bodies(commit)):
        why.append("footer")
    if rules.BREAKING_TITLE_RE.search(lowered) or rules.BREAKING_TAGS.intersection(parts.tags):
        why.append("keyword")
    if rules.BREAKING_TAGS.intersection(_labels(commit)):
        why.append("label")
    first = lowered.split(" ", 1)[0]
    if first in rules.REMOVAL_VERBS and rules.REMOVED_API_RE.search(lowered):
        why.append("removal")
    return tuple(why)


def _revert_of_feature(parts: TitleParts) -> bool:
    if parts.revert_of is None:
        return False
    inner = parse_title(parts.revert_of)
    kind, _ = _title_type(inner, ())
    return kind in (ChangeType.FEATURE, ChangeType.PERF)


def _importance_confidence(score: float) -> float:
    distance = min(abs(score - rules.HIGH_AT), abs(score - rules.MEDIUM_AT), 2.0)
    return 0.55 + 0.15 * distance


def classify_commit(commit: Commit) -> Classification:
    """Type, importance, confidence and triviality of `commit`, from rules alone."""
    fp = measure(commit)
    merge_title = rules.is_merge_title(commit.title)
    pr_title = commit.pr.title.strip() if commit.pr else ""
    use_pr = bool(pr_title) and (commit.is_merge or merge_title or not commit.title.strip())
    parts = parse_title(pr_title if use_pr else commit.title)
    merge = (commit.is_merge or merge_title) and not use_pr
    verdict = _change_type(commit, parts, fp, merge)
    kind, reasons = verdict.kind, verdict.reasons
    lowered = parts.clean.lower()
    code_type = kind not in _NO_CODE_TYPES

    score = rules.BASE_POINTS[kind]
    if verdict.source == "default":
        score = 1.0 + (rules.CORE_SIZE_POINTS if fp.core_lines >= rules.UNKNOWN_MEDIUM_LINES else 0)
    if (kind in _NEEDS_CORE or verdict.source == "default") and not fp.touches_core:
        score += rules.NO_CORE_PENALTY
        reasons.append("no-core")
    if kind is ChangeType.FIX and fp.core_files == 1 and fp.core_lines <= rules.SMALL_FIX_LINES:
        if fp.hub_files:
            reasons.append("hub-module")
        else:
            score += rules.SMALL_CHANGE_PENALTY
            reasons.append("size:small-fix")
    small_refactor = (
        fp.core_files < rules.MODERATE_REFACTOR_FILES
        and fp.core_lines < rules.MODERATE_REFACTOR_LINES
        and fp.renamed_core < rules.MODERATE_REFACTOR_FILES
    )
    if kind is ChangeType.REFACTOR and small_refactor:
        score += rules.SMALL_CHANGE_PENALTY
        reasons.append("size:small-refactor")
    platform = (
        kind is ChangeType.FEATURE
        and fp.touches_core
        and (
            rules.mentions_platform_support(lowered, parts.tags, parts.prefix)
            or bool(fp.added_platform_files)
        )
    )
    if platform:
        score += rules.PLATFORM_POINTS
        reasons.append("platform")
    breaking = _breaking(commit, parts, lowered) if code_type and not verdict.trivial else ()
    if breaking:
        score += rules.BREAKING_POINTS
        reasons.extend(f"breaking:{why}" for why in breaking)
    deprecation = code_type and not verdict.trivial and bool(rules.DEPRECATION_RE.search(lowered))
    if deprecation:
        score += rules.DEPRECATION_POINTS
        reasons.append("deprecation")
    huge = (
        fp.core_lines > rules.HUGE_CORE_LINES and fp.core_files >= rules.MANY_CORE_FILES
    ) or fp.core_files > rules.HUGE_CORE_FILES
    if huge:
        score += rules.HUGE_CHANGE_POINTS
        reasons.append("size:huge")
    if kind is ChangeType.REVERT and _revert_of_feature(parts):
        score += rules.REVERTED_FEATURE_POINTS
        reasons.append("revert-of-feature")
    if kind is ChangeType.BUILD and fp.runtime_manifests:
        score += rules.RUNTIME_DEPENDENCY_POINTS
        reasons.append("runtime-dependencies")
    if fp.migrations and code_type:
        score += rules.MIGRATION_POINTS
        reasons.append("migration")
    if fp.removed_public and code_type:
        score += rules.REMOVED_API_POINTS
        reasons.append("removed-api")

    if verdict.trivial:
        importance = Importance.LOW
    elif score >= rules.HIGH_AT:
        importance = Importance.HIGH
    elif score >= rules.MEDIUM_AT:
        importance = Importance.MEDIUM
    else:
        importance = Importance.LOW
    type_confidence = _TYPE_CONFIDENCE[verdict.source]
    if verdict.trivial or any(reason.startswith("override:") for reason in reasons):
        type_confidence = max(type_confidence, 0.9)  # decided by what the files are, not words
    importance_confidence = 0.95 if verdict.trivial else _importance_confidence(score)
    return Classification(
        change_type=kind,
        importance=importance,
        confidence=round(min(type_confidence, importance_confidence), 2),
        trivial=verdict.trivial,
        score=round(score, 2),
        reasons=tuple(reasons),
        title=parts,
        footprint=fp,
        breaking=breaking,
        deprecation=deprecation,
        platform=platform,
        huge=huge,
    )


# A commit counts as "mostly new code" when files it adds hold this share of its changed lines.
NEW_CODE_SHARE = 0.6
NEW_CODE_MIN_LINES = 50


def _mostly_new_code(commit: Commit) -> bool:
    total = sum(f.changes for f in commit.files)
    added = sum(f.additions for f in commit.files if f.status == "added")
    return total >= NEW_CODE_MIN_LINES and added >= NEW_CODE_SHARE * total
