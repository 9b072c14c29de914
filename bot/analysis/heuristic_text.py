"""The heuristic analyzer's words: zh/en templates around untrusted titles, body sentence picking.

Untrusted text (titles, PR bodies) is only ever inserted into these templates, whitespace-folded
and length-bounded; it is never translated. Markup escaping is the formatters' job.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from bot.analysis.heuristic_rules import BODY_SCAN_CHARS, parse_title
from bot.models import ChangeType, DigestItem, Importance, Language

SUMMARY_MAX_CHARS = 300
SUMMARY_TITLE_CHARS = 140
SUMMARY_SENTENCE_CHARS = 160
SUMMARY_SCOPE_CHARS = 80
TEXT_MAX_CHARS = 300  # one risk, recommendation or insight
OVERVIEW_MAX_CHARS = 600
OVERVIEW_HIGHLIGHTS = 3
OVERVIEW_TITLE_CHARS = 90
BODY_SCAN_LINES = 400
MIN_SENTENCE_CHARS = 12

TYPE_WORDS: dict[Language, dict[ChangeType, str]] = {
    "en": {
        ChangeType.FEATURE: "New feature",
        ChangeType.FIX: "Bug fix",
        ChangeType.REFACTOR: "Refactor",
        ChangeType.PERF: "Performance",
        ChangeType.DOCS: "Documentation",
        ChangeType.TEST: "Tests",
        ChangeType.CI: "CI",
        ChangeType.BUILD: "Build and dependencies",
        ChangeType.CHORE: "Maintenance",
        ChangeType.REVERT: "Revert",
        ChangeType.SECURITY: "Security fix",
    },
    "zh": {
        ChangeType.FEATURE: "功能增强",
        ChangeType.FIX: "Bug 修复",
        ChangeType.REFACTOR: "代码重构",
        ChangeType.PERF: "性能优化",
        ChangeType.DOCS: "文档更新",
        ChangeType.TEST: "测试",
        ChangeType.CI: "CI 配置",
        ChangeType.BUILD: "构建与依赖",
        ChangeType.CHORE: "日常维护",
        ChangeType.REVERT: "回滚",
        ChangeType.SECURITY: "安全修复",
    },
}

# Rule id -> (en, zh). Placeholders are filled with numbers, rule words or sanitized names only.
RISKS: dict[str, tuple[str, str]] = {
    "breaking": (
        "Breaking change: code relying on the changed or removed behaviour must be updated.",
        "破坏性变更：依赖被修改或移除行为的代码需要同步修改。",
    ),
    "removed_api": (
        "Removes public definitions ({names}); callers elsewhere will fail.",
        "移除了公开定义（{names}），其他位置的调用方会出错。",
    ),
    "deprecation": (
        "Deprecates existing behaviour: users get warnings now and a removal later.",
        "弃用了现有行为：使用方会收到警告，并将在后续版本中被移除。",
    ),
    "security": (
        "Fixes a security issue: deployments running older versions may be exposed.",
        "修复了安全问题：运行旧版本的部署可能存在风险。",
    ),
    "revert": (
        "Behaviour added by the reverted change is gone again.",
        "被回滚变更引入的行为将不再存在。",
    ),
    "moved": (
        "{count} core file(s) moved or renamed: imports of the old paths break unless aliased.",
        "{count} 个核心文件被移动或重命名：未保留别名时，旧路径的导入会失败。",
    ),
    "migration": (
        "Touches database migrations or schema files ({paths}).",
        "涉及数据库迁移或 schema 文件（{paths}）。",
    ),
    "huge": (
        "Large change: {lines} changed lines across {files} core file(s).",
        "大规模变更：{files} 个核心文件共 {lines} 行改动。",
    ),
    "untested": (
        "No tests changed alongside {lines} lines of core code.",
        "修改了 {lines} 行核心代码，但没有同步修改测试。",
    ),
}
RECOMMENDATIONS: dict[str, tuple[str, str]] = {
    "breaking": (
        "Check callers of the changed or removed API before upgrading.",
        "升级前检查被修改或移除 API 的调用方。",
    ),
    "deprecation": (
        "Plan the migration away from the deprecated API.",
        "尽早规划迁移，替换被弃用的 API。",
    ),
    "security": (
        "Upgrade promptly and check whether deployed versions are affected.",
        "尽快升级，并确认已部署版本是否受影响。",
    ),
    "revert": ("Check what depended on the reverted change.", "检查哪些代码依赖被回滚的变更。"),
    "moved": (
        "Update imports of the moved modules, or keep aliases at the old paths.",
        "更新被移动模块的导入路径，或在旧路径保留别名。",
    ),
    "migration": (
        "Back up the database before upgrading, then run the migrations.",
        "升级前备份数据库，然后执行迁移。",
    ),
    "dependencies": (
        "Verify the lockfile and a clean install with the updated dependencies.",
        "确认锁文件已同步更新，并用新依赖做一次干净安装验证。",
    ),
    "platform": (
        "Re-run the existing platforms' tests: shared code changed for the new platform.",
        "在现有平台上重新运行测试：为新平台修改了共享代码。",
    ),
    "huge": ("Review and roll out in stages.", "建议分阶段评审与上线。"),
    "untested": (
        "Add or run tests that cover the changed core code.",
        "补充或运行覆盖这些核心代码的测试。",
    ),
    "vendored": (
        "Verify the vendored code's upstream version and licence.",
        "核对引入的第三方代码的上游版本与许可证。",
    ),
}
INSIGHTS: dict[str, tuple[str, str]] = {
    "tests_changed": (
        "{tests} test file(s) changed alongside {core} core file(s).",
        "同时修改了 {tests} 个测试文件与 {core} 个核心文件。",
    ),
    "no_tests": (
        "No test files changed alongside {lines} changed lines of core code.",
        "修改了 {lines} 行核心代码，未修改测试文件。",
    ),
    "tests_only": ("Only test files changed ({tests}).", "仅修改了测试文件（{tests} 个）。"),
    "breaking": ("Breaking change ({why}).", "破坏性变更（{why}）。"),
    "deprecation": (
        "Deprecates existing behaviour; it keeps working until it is removed.",
        "弃用了现有行为，在移除前仍可使用。",
    ),
    "moved": (
        "{count} core module(s) moved or renamed; old import paths break.",
        "{count} 个核心模块被移动或重命名，旧导入路径将失效。",
    ),
    "large_refactor": (
        "Large refactor: {lines} changed lines in {files} core file(s); {moved} moved or renamed.",
        "大规模重构：{files} 个核心文件共 {lines} 行改动，{moved} 个文件被移动或重命名。",
    ),
}
BREAKING_WHY: dict[str, tuple[str, str]] = {
    "bang": ("`!` in the commit prefix", "提交前缀带 `!`"),
    "footer": ("BREAKING CHANGE note", "BREAKING CHANGE 说明"),
    "keyword": ("title says breaking", "标题声明 breaking"),
    "label": ("breaking label", "breaking 标签"),
    "removal": ("removes a public option or API", "移除公开选项或 API"),
}


def pick(
    table: Mapping[str, tuple[str, str]], key: str, language: Language, **values: object
) -> str:
    """One template of `table` in `language`, filled and bounded."""
    en, zh = table[key]
    return truncate((zh if language == "zh" else en).format(**values), TEXT_MAX_CHARS)


def fold(text: str) -> str:
    """Whitespace (newlines, tabs) folded to single spaces; control characters dropped."""
    cleaned = "".join(char if char.isprintable() else " " for char in text)
    return " ".join(cleaned.split())


def truncate(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, on a word boundary when one is close."""
    if len(text) <= limit:
        return text
    if limit <= 1:
        return text[:limit]
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit * 2 // 3:
        cut = cut[:space]
    return cut.rstrip(" ,;:，；：") + "…"


_COMMENT_OPEN, _COMMENT_CLOSE = "<!--", "-->"
_LINK_RE = re.compile(r"!?\[([^\]\n]{0,200})\]\([^)\s]{0,500}\)")
_URL_RE = re.compile(r"https?://\S+")
_TAG_RE = re.compile(r"</?[A-Za-z][^<>\n]{0,200}>")
_BULLET_RE = re.compile(r"^(?:[-*+•]|\d{1,3}[.)])\s+")
_TRAILER_RE = re.compile(
    r"^(?:co-authored-by|signed-off-by|reviewed-by|acked-by|tested-by|reported-by|suggested-by"
    r"|helped-by|change-id|cc|fixes|closes|resolves|refs|related|see|ghstack-source-id"
    r"|differential revision|pull request resolved|x-[\w-]+)\s*:",
    re.IGNORECASE,
)
_ISSUE_REF_RE = re.compile(r"^(?:fix(?:es|ed)?|close[sd]?|resolve[sd]?)\s+\S*#\d+\W*$", re.I)
_SENTENCE_END_RE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'`(])|(?<=[。！？])")
_SKIP_SECTIONS = (
    "checklist", "test plan", "testing", "tests", "accuracy", "benchmark", "profiling",
    "review", "screenshot", "before submitting", "type of change", "pr type", "related issue",
    "reviewers", "cc",
)  # fmt: skip
_BOILERPLATE_STARTS = (
    "please ", "thank you", "thanks for", "n/a", "none", "todo", "cc @", "describe ",
    "provide ", "if applicable", "this pr template", "auto-generated", "generated by",
    "this reverts commit", "(cherry picked from", "ghstack",
)  # fmt: skip


def _strip_comments(text: str) -> str:
    pieces: list[str] = []
    position = 0
    while True:
        start = text.find(_COMMENT_OPEN, position)
        if start < 0:
            pieces.append(text[position:])
            break
        pieces.append(text[position:start])
        end = text.find(_COMMENT_CLOSE, start + len(_COMMENT_OPEN))
        if end < 0:
            break  # an unterminated comment hides the rest, as it would on GitHub
        position = end + len(_COMMENT_CLOSE)
    return "".join(pieces)


def _clean_line(line: str) -> str:
    text = _LINK_RE.sub(lambda match: match.group(1), line)
    text = _URL_RE.sub("", _TAG_RE.sub("", text))
    text = _BULLET_RE.sub("", text.strip())
    text = text.replace("**", "").replace("__", "")
    return fold(text)


def first_sentence(body: str, *, title: str = "") -> str | None:
    """The first meaningful sentence of a PR or commit body; PR template parts are skipped.

    Skipped: HTML comments, headings (and whole checklist/test-plan/benchmark sections), task
    list items, tables, code blocks, quotes, images, trailers (Signed-off-by, Co-authored-by...),
    bare issue references and template boilerplate.
    """
    text = _strip_comments(body[:BODY_SCAN_CHARS])
    folded_title = fold(title).lower().rstrip(".")
    in_code = skip_section = False
    for raw in text.splitlines()[:BODY_SCAN_LINES]:
        line = raw.strip()
        if line.startswith(("```", "~~~")):
            in_code = not in_code
            continue
        if in_code or not line:
            continue
        if line.startswith("#"):
            heading = line.lstrip("#").strip().lower()
            skip_section = any(heading.startswith(word) for word in _SKIP_SECTIONS)
            continue
        if skip_section or line.startswith(("|", ">", "- [", "* [", "---", "***", "___", "=")):
            continue
        if _TRAILER_RE.match(line) or _ISSUE_REF_RE.match(line):
            continue
        cleaned = _clean_line(line)
        lowered = cleaned.lower()
        if len(cleaned) < MIN_SENTENCE_CHARS or lowered.startswith(_BOILERPLATE_STARTS):
            continue
        if sum(char.isalnum() for char in cleaned) < MIN_SENTENCE_CHARS // 2:
            continue
        sentence = _SENTENCE_END_RE.split(cleaned, maxsplit=1)[0].strip()
        if sentence.lower().rstrip(".") == folded_title:
            continue
        return truncate(sentence, SUMMARY_SENTENCE_CHARS)
    return None


def _end(text: str, language: Language) -> str:
    if text.endswith((".", "!", "?", "。", "！", "？", "…")):
        return text
    return text + ("。" if language == "zh" else ".")


def summary_text(
    language: Language,
    change_type: ChangeType,
    title: str,
    sentence: str | None,
    *,
    files: int,
    additions: int,
    deletions: int,
    main_scope: str | None,
) -> str:
    """One bounded summary: type, title, the body's first sentence, and the footprint."""
    main_scope = fold(main_scope) if main_scope else None
    if main_scope and len(main_scope) > SUMMARY_SCOPE_CHARS:
        main_scope = None  # a cut path would point nowhere; the scope list has it in full
    kind = TYPE_WORDS[language][change_type]
    shown_title = truncate(fold(title), SUMMARY_TITLE_CHARS) or (
        "（无标题）" if language == "zh" else "(untitled)"
    )
    separator = "：" if language == "zh" else ": "
    head = _end(f"{kind}{separator}{shown_title}", language)
    if language == "zh":
        tail = f"涉及 {files} 个文件（+{additions}/-{deletions}）"
        tail += f"，主要在 `{main_scope}`。" if main_scope else "。"
    else:
        noun = "file" if files == 1 else "files"
        tail = f"Touches {files} {noun} (+{additions}/-{deletions})"
        tail += f", mainly `{main_scope}`." if main_scope else "."
    if files == 0:
        tail = ""
    middle = _end(fold(sentence), language) if sentence else ""
    room = SUMMARY_MAX_CHARS - len(head) - len(tail) - 2
    if middle and room < MIN_SENTENCE_CHARS:
        middle = ""
    elif middle:
        middle = truncate(middle, room)
    text = ""
    for part in (head, middle, tail):
        if part and text and (language == "en" or text[-1].isascii()):
            text += " "  # zh runs on without spaces, except after an untrusted English sentence
        text += part
    return truncate(text, SUMMARY_MAX_CHARS)


def overview_text(items: Sequence[DigestItem], language: Language) -> str | None:
    """1–3 sentences: the day's counts, the high/medium highlights, the mix of change types."""
    if not items:
        return None
    counts = {level: 0 for level in Importance}
    kinds: dict[ChangeType, int] = {}
    for item in items:
        counts[item.analysis.importance] += 1
        kinds[item.analysis.change_type] = kinds.get(item.analysis.change_type, 0) + 1
    ranked = sorted(items, key=lambda item: item.analysis.importance.rank)  # stable: keeps order
    highlights: list[str] = []
    for item in ranked:
        if item.analysis.importance is Importance.LOW or len(highlights) >= OVERVIEW_HIGHLIGHTS:
            break
        parts = parse_title(item.commit.title)
        title = truncate(fold(parts.clean or item.commit.title), OVERVIEW_TITLE_CHARS)
        number = item.pr_number or parts.pr_number
        if number:
            title += f"（#{number}）" if language == "zh" else f" (#{number})"
        highlights.append(title)
    order = list(ChangeType)
    mix = sorted(kinds.items(), key=lambda pair: (-pair[1], order.index(pair[0])))[:4]
    total = len(items)
    high, medium, low = counts[Importance.HIGH], counts[Importance.MEDIUM], counts[Importance.LOW]
    if language == "zh":
        sentences = [f"共 {total} 个提交：高 {high}、中 {medium}、低 {low}。"]
        if highlights:
            sentences.append("重点：" + "；".join(highlights) + "。")
        if total > 1:
            words = TYPE_WORDS["zh"]
            sentences.append("类型：" + "、".join(f"{words[k]} {n}" for k, n in mix) + "。")
        text = "".join(sentences)
    else:
        noun = "commit" if total == 1 else "commits"
        sentences = [f"{total} {noun}: {high} high, {medium} medium, {low} low."]
        if highlights:
            sentences.append(_end("Highlights: " + "; ".join(highlights), "en"))
        if total > 1:
            words = TYPE_WORDS["en"]
            sentences.append("Types: " + ", ".join(f"{words[k].lower()} {n}" for k, n in mix) + ".")
        text = " ".join(sentences)
    return truncate(text, OVERVIEW_MAX_CHARS)
