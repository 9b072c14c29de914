"""Type-rule tables of the heuristic analyzer: title grammar, verbs, tags, labels and keywords.

The change-type rules are documented in bot/analysis/heuristic.py and the importance rules are
one table in bot/analysis/importance_rules.py; this module holds the word tables and the small
parsers over them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.models import ChangeType

RULES_VERSION = "h3"  # bump on any rule change: it is part of the analysis cache key

# --- Bounds on what is inspected (a commit may list 3000 files and MBs of patch) -------------
TITLE_SCAN_CHARS = 500
BODY_SCAN_CHARS = 20_000
PATCH_SCAN_CHARS = 200_000  # all patches together
PATCH_SCAN_FILE_CHARS = 50_000  # one file's patch beyond this is not inspected at all

# --- Title grammar ----------------------------------------------------------------------------
_TAG_RE = re.compile(r"\s*[\[【]([^\[\]【】\n]{1,40})[\]】]")
_CC_RE = re.compile(
    r"(?P<type>[A-Za-z][A-Za-z-]{0,19})(?:\((?P<scope>[^()\n]{0,60})\))?(?P<bang>!)?:(?:\s+|$)"
)
_PR_SUFFIX_RE = re.compile(r"\s*\(#(\d{1,9})\)\s*$")
_REVERT_RE = re.compile(r'^\s*revert\s+"(?P<inner>.*)"', re.IGNORECASE)
_MERGE_PR_RE = re.compile(r"^Merge pull request #(\d{1,9})\b")
_MERGE_RE = re.compile(r"^Merge (?:branch|remote-tracking branch|pull request|tag|commit)\b")

CC_TYPES: dict[str, ChangeType] = {
    "feat": ChangeType.FEATURE,
    "feature": ChangeType.FEATURE,
    "fix": ChangeType.FIX,
    "bugfix": ChangeType.FIX,
    "hotfix": ChangeType.FIX,
    "bug": ChangeType.FIX,
    "perf": ChangeType.PERF,
    "refactor": ChangeType.REFACTOR,
    "docs": ChangeType.DOCS,
    "doc": ChangeType.DOCS,
    "test": ChangeType.TEST,
    "tests": ChangeType.TEST,
    "ci": ChangeType.CI,
    "build": ChangeType.BUILD,
    "deps": ChangeType.BUILD,
    "chore": ChangeType.CHORE,
    "style": ChangeType.CHORE,
    "revert": ChangeType.REVERT,
    "security": ChangeType.SECURITY,
}
TAG_TYPES: dict[str, ChangeType] = {
    **{tag: ChangeType.FIX for tag in ("fix", "bugfix", "bug", "hotfix", "bug fix")},
    **{tag: ChangeType.FEATURE for tag in ("feature", "feat", "new feature", "enhancement")},
    **{tag: ChangeType.PERF for tag in ("perf", "performance", "optimization", "optimize")},
    **{tag: ChangeType.DOCS for tag in ("doc", "docs", "documentation")},
    **{tag: ChangeType.CI for tag in ("ci", "ci/cd")},
    **{tag: ChangeType.TEST for tag in ("test", "tests", "testing", "unittest")},
    "refactor": ChangeType.REFACTOR,
    **{tag: ChangeType.BUILD for tag in ("build", "deps", "dependencies", "dependency")},
    **{tag: ChangeType.CHORE for tag in ("chore", "misc", "minor", "style", "lint", "format")},
    "revert": ChangeType.REVERT,
    "security": ChangeType.SECURITY,
}
LABEL_TYPES: dict[str, ChangeType] = {
    **TAG_TYPES,
    "bug": ChangeType.FIX,
    "type: bug": ChangeType.FIX,
    "kind/bug": ChangeType.FIX,
    "type: feature": ChangeType.FEATURE,
    "kind/feature": ChangeType.FEATURE,
    "github_actions": ChangeType.CI,
}
BREAKING_TAGS = frozenset({"breaking", "breaking change", "breaking-change", "api-break"})
HARDWARE_TAGS = frozenset(
    {"amd", "rocm", "npu", "ascend", "xpu", "intel", "tpu", "hpu", "gaudi", "mps", "musa", "mlu"}
)
PLATFORM_PREFIXES = frozenset({"platform", "platforms", "backend", "hardware", "device"})

# Leading verbs of the cleaned title. Phrases are checked before single words.
VERB_PHRASES: tuple[tuple[str, ChangeType], ...] = (
    ("speed up", ChangeType.PERF),
    ("clean up", ChangeType.REFACTOR),
    ("update docs", ChangeType.DOCS),
    ("update documentation", ChangeType.DOCS),
    ("update readme", ChangeType.DOCS),
    ("update the docs", ChangeType.DOCS),
    ("add docs", ChangeType.DOCS),
    ("add documentation", ChangeType.DOCS),
    ("add test", ChangeType.TEST),
    ("add unit test", ChangeType.TEST),
)
_VERB_GROUPS: tuple[tuple[ChangeType, str], ...] = (
    (ChangeType.FIX, "fix fixes fixed fixing resolve resolves correct repair"),
    (
        ChangeType.FEATURE,
        "add adds added support supports implement implements introduce introduces enable"
        " enables allow allows new create expose",
    ),
    (
        ChangeType.REFACTOR,
        "refactor refactors restructure reorganize reorganise move moves rename renames simplify"
        " extract split unify consolidate decouple cleanup tidy remove removes delete deletes"
        " drop drops deprecate deprecates",
    ),
    (ChangeType.REVERT, "revert reverts"),
    (ChangeType.BUILD, "bump bumps upgrade upgrades pin unpin"),
    (ChangeType.PERF, "optimize optimise optimizes accelerate speedup"),
    (ChangeType.DOCS, "document documents docs"),
)
VERBS: dict[str, ChangeType] = {
    word: kind for kind, words in _VERB_GROUPS for word in words.split()
}
ZH_VERBS: tuple[tuple[str, ChangeType], ...] = (
    ("修复", ChangeType.FIX),
    ("修正", ChangeType.FIX),
    ("新增", ChangeType.FEATURE),
    ("添加", ChangeType.FEATURE),
    ("增加", ChangeType.FEATURE),
    ("支持", ChangeType.FEATURE),
    ("实现", ChangeType.FEATURE),
    ("重构", ChangeType.REFACTOR),
    ("删除", ChangeType.REFACTOR),
    ("移除", ChangeType.REFACTOR),
    ("优化", ChangeType.PERF),
    ("加速", ChangeType.PERF),
    ("文档", ChangeType.DOCS),
    ("回滚", ChangeType.REVERT),
    ("回退", ChangeType.REVERT),
    ("升级", ChangeType.BUILD),
)

# --- Keywords (matched on the bounded, lower-cased cleaned title) -----------------------------
SECURITY_RE = re.compile(
    r"\bcve-\d{4}-\d{3,}|\bghsa-\w{4}-|\bvulnerab|\bsecurity (?:fix|issue|patch|hole|flaw)"
    r"|\bxss\b|\bcsrf\b|\bssrf\b|\bsaniti[sz](?:e|es|ed|ing|ation)\b"
    r"|\bauth(?:entication|orization)? bypass|\b(?:path|directory) traversal"
    r"|\bremote code execution|\bprivilege escalation|(?:\b(?P<pre>\w{1,40}) )?injection\b"
)
# "dependency injection" and friends are not vulnerabilities.
BENIGN_INJECTION = frozenset(
    {"dependency", "fault", "noise", "error", "failure", "load", "delay", "latency", "chaos"}
)
STRONG_SECURITY_ID_RE = re.compile(r"\bCVE-\d{4}-\d{3,}|\bGHSA(?:-\w{4}){3}\b", re.IGNORECASE)
BREAKING_TITLE_RE = re.compile(r"\bbreaking\b")
# A CC footer, or a ticked checkbox that *starts* with "Breaking" (templates also offer
# "- [x] Bug fix (non-breaking change ...)", which must not count).
BREAKING_FOOTER_RE = re.compile(
    r"^(?:BREAKING[ -]CHANGE:|[-*] \[[xX]\]\s*(?:\*\*)?(?i:breaking)\b)", re.MULTILINE
)
REMOVAL_VERBS = frozenset({"remove", "removes", "delete", "deletes", "drop", "drops"})
# "remove support for X", "drop Python 3.9", "remove deprecated …": the title itself declares it.
REMOVED_SUPPORT_RE = re.compile(r"\bsupport for\b|\bdeprecated\b|\bpython 3\.\d")
# "remove the foo API / option / --flag": a claim the change facts must bear out.
REMOVED_API_RE = re.compile(
    r"\bapi\b|\bargument|\bparam|\boption|\bflag\b|\bendpoint|\bcli\b|--\w|\binterface\b"
    r"|\bpublic\b"
)
FORMATTING_RE = re.compile(
    r"\b(?:reformat(?:ted|ting)?|formatting|format code|code format|lint|linter|linting|isort"
    r"|ruff format|clang-format|prettier|whitespace|pre-commit|code style|style fixes)\b"
)
VERSION_BUMP_RE = re.compile(
    r"\b(?:version|release|releasing)\b.{0,40}?\bv?\d+\.\d+|\bv?\d+\.\d+(?:\.\d+)?.{0,20}\brelease\b"
)
DEPENDENCY_BUMP_RE = re.compile(
    r"\bbump(?:s|ed)?\s+(?P<name>[\w@/.-]+)\s+(?:from|to)\b|\bupdate dependency\b|\(deps(?:-dev)?\)"
)
BOT_NAMES = frozenset(
    {"dependabot", "renovate", "renovate-bot", "github-actions", "pre-commit-ci", "mergify"}
    | {"allcontributors", "copybara-service", "snyk-bot", "greenkeeper"}
)


@dataclass(frozen=True)
class TitleParts:
    """A commit title taken apart: tags, conventional prefix, PR number and the clean rest."""

    tags: tuple[str, ...] = ()  # bracket tags, lower-cased: ("diffusion",), ("ci",)
    cc_type: str | None = None  # a known conventional-commit type, lower-cased
    cc_scope: str | None = None
    bang: bool = False
    prefix: str | None = None  # an unknown `word:` prefix ("platform"), lower-cased
    clean: str = ""  # the title without tags, prefix and PR number
    pr_number: int | None = None
    revert_of: str | None = None  # the quoted title of `Revert "..."`


def _one_line(text: str) -> str:
    return " ".join(text[:TITLE_SCAN_CHARS].split())


def parse_title(title: str) -> TitleParts:
    """Split `title` into tags, a conventional-commit prefix, a PR number and the clean rest."""
    text = _one_line(title)
    revert = _REVERT_RE.match(text)
    revert_of = None
    if revert:
        inner = revert.group("inner")
        revert_of = _PR_SUFFIX_RE.sub("", inner).strip()
    pr_number = None
    while match := _PR_SUFFIX_RE.search(text):
        pr_number = pr_number or int(match.group(1))
        text = text[: match.start()]
    merge = _MERGE_PR_RE.match(text)
    if merge and pr_number is None:
        pr_number = int(merge.group(1))

    tags: list[str] = []
    cc_type = cc_scope = prefix = None
    bang = False
    for _ in range(8):  # tags and one prefix, in any order: "[A][B] fix(x)!: ...", "feat: [A] ..."
        tag = _TAG_RE.match(text)
        if tag:
            tags.append(" ".join(tag.group(1).lower().split()))
            text = text[tag.end() :]
            continue
        conventional = _CC_RE.match(text.lstrip())
        if conventional and cc_type is None and prefix is None:
            word = conventional.group("type").lower()
            if word in CC_TYPES:
                cc_type, cc_scope = word, conventional.group("scope")
                bang = conventional.group("bang") is not None
            else:
                prefix = word
            text = text.lstrip()[conventional.end() :]
            continue
        break
    clean = text.strip(" :-–—")
    return TitleParts(
        tags=tuple(tags),
        cc_type=cc_type,
        cc_scope=cc_scope.strip() if cc_scope else None,
        bang=bang,
        prefix=prefix,
        clean=clean,
        pr_number=pr_number,
        revert_of=revert_of,
    )


def is_merge_title(title: str) -> bool:
    return bool(_MERGE_RE.match(title))


def verb_type(clean_title: str) -> tuple[ChangeType | None, str]:
    """The change type implied by the title's leading verb, and that verb ("" when none)."""
    lowered = clean_title.lower()
    for phrase, kind in VERB_PHRASES:
        if lowered.startswith(phrase) and lowered[len(phrase) : len(phrase) + 1] in ("", " ", "s"):
            return kind, phrase
    for word, kind in ZH_VERBS:
        if clean_title.startswith(word):
            return kind, word
    first = lowered.split(" ", 1)[0].strip(".,:;!?()`'\"")
    return VERBS.get(first), first if first in VERBS else ""


def mentions_security(lowered: str) -> bool:
    """Security keywords in a lower-cased title, minus benign uses of "injection"."""
    for match in SECURITY_RE.finditer(lowered):
        pre = match.group("pre")
        if match.group(0).endswith("injection") and pre in BENIGN_INJECTION:
            continue
        return True
    return False


def is_bot(author: str, login: str | None) -> bool:
    """Bot accounts: a `[bot]` suffix or a well-known automation name."""
    for name in (author, login or ""):
        lowered = name.strip().lower()
        if lowered.endswith("[bot]") or lowered.removesuffix("[bot]") in BOT_NAMES:
            return True
    return False
