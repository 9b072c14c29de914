"""The heuristic classification of a commit: change type (title, labels, paths), then importance
from the one table of bot/analysis/importance_rules.py, confidence and triviality.

The type rules are documented in bot/analysis/heuristic.py; their tables live in
heuristic_rules.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.analysis import heuristic_rules as rules
from bot.analysis.facts import extract_facts
from bot.analysis.footprint import Footprint, measure
from bot.analysis.heuristic_rules import TitleParts, parse_title
from bot.analysis.importance_rules import ImportanceRule, Signals, decide
from bot.analysis.paths import DEFAULT_ROLES, PathKind, PathRoles
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


@dataclass(frozen=True)
class Classification:
    """The heuristic's verdict on one commit, with the rules that produced it."""

    change_type: ChangeType
    importance: Importance
    confidence: float  # 0..1
    trivial: bool  # decided by a low rule that needs no reading (docs/CI-only, bump, bot...)
    rule: ImportanceRule  # the importance rule that decided
    reasons: tuple[str, ...]  # rule ids, in the order they applied: "type:prefix:fix", ...
    title: TitleParts
    footprint: Footprint
    signals: Signals
    # why: "bang", "footer", "keyword", "label", "removal", "api-removal" (facts-checked)
    breaking: tuple[str, ...] = ()

    @property
    def platform(self) -> bool:
        return self.signals.new_platform


@dataclass
class _Verdict:
    kind: ChangeType
    source: str
    reasons: list[str] = field(default_factory=list)
    trivial: str | None = None  # "bot" | "merge" | "version-bump" | "formatting"


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
        return _Verdict(ChangeType.CHORE, "merge", ["merge"], trivial="merge")
    if rules.is_bot(commit.author, commit.author_login):
        dependency = rules.DEPENDENCY_BUMP_RE.search(lowered) or only is PathKind.BUILD
        bot_kind = ChangeType.BUILD if dependency or "dependencies" in labels else ChangeType.CHORE
        return _Verdict(bot_kind, "bot", ["bot"], trivial="bot")
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

    if verdict.kind in _OVERRIDABLE or verdict.kind is ChangeType.BUILD:
        formatting = verdict.kind is not ChangeType.BUILD and (
            parts.cc_type == "style"
            or any(tag in ("style", "lint", "format") for tag in parts.tags)
            or (bool(rules.FORMATTING_RE.search(lowered)) and kind in (None, ChangeType.CHORE))
        )
        release_like = verdict.kind in (ChangeType.CHORE, ChangeType.BUILD)
        if release_like and _is_version_bump(lowered, commit.repo, fp):
            verdict.kind, verdict.trivial = ChangeType.CHORE, "version-bump"
        elif formatting or fp.whitespace_only:
            verdict.kind, verdict.trivial = ChangeType.CHORE, "formatting"
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
    if first in rules.REMOVAL_VERBS and rules.REMOVED_SUPPORT_RE.search(lowered):
        why.append("removal")
    elif first in rules.REMOVAL_VERBS and rules.REMOVED_API_RE.search(lowered):
        why.append("api-removal")  # kept only when the facts show something gone
    return tuple(why)


def classify_commit(commit: Commit, roles: PathRoles = DEFAULT_ROLES) -> Classification:
    """Type, importance, confidence and triviality of `commit`, from rules alone."""
    facts = commit.facts if commit.facts is not None else extract_facts(commit)
    fp = measure(commit, roles)
    merge_title = rules.is_merge_title(commit.title)
    pr_title = commit.pr.title.strip() if commit.pr else ""
    use_pr = bool(pr_title) and (commit.is_merge or merge_title or not commit.title.strip())
    parts = parse_title(pr_title if use_pr else commit.title)
    merge = (commit.is_merge or merge_title) and not use_pr
    verdict = _change_type(commit, parts, fp, merge)
    kind = verdict.kind
    lowered = parts.clean.lower()
    code_type = kind not in _NO_CODE_TYPES and verdict.trivial is None
    breaking = _breaking(commit, parts, lowered) if code_type else ()
    signals = Signals(
        commit=commit,
        change_type=kind,
        title=parts,
        footprint=fp,
        facts=facts,
        roles=roles,
        trivial_reason=verdict.trivial,
        declared_breaking=breaking,
        revert=kind is ChangeType.REVERT,
    )
    rule = decide(signals)
    type_confidence = _TYPE_CONFIDENCE[verdict.source]
    overridden = any(reason.startswith("override:") for reason in verdict.reasons)
    if rule.trivial or overridden:
        type_confidence = max(type_confidence, 0.9)  # decided by what the files are, not words
    return Classification(
        change_type=kind,
        importance=rule.importance,
        confidence=round(min(type_confidence, rule.confidence), 2),
        trivial=rule.trivial,
        rule=rule,
        reasons=(*verdict.reasons, rule.id),
        title=parts,
        footprint=fp,
        signals=signals,
        breaking=signals.breaking,
    )


# A commit counts as "mostly new code" when files it adds hold this share of its changed lines.
NEW_CODE_SHARE = 0.6
NEW_CODE_MIN_LINES = 50


def _mostly_new_code(commit: Commit) -> bool:
    total = sum(f.changes for f in commit.files)
    added = sum(f.additions for f in commit.files if f.status == "added")
    return total >= NEW_CODE_MIN_LINES and added >= NEW_CODE_SHARE * total
