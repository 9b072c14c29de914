"""The heuristic's summaries and day overview, in zh or en, from cleaned text and change facts.

A summary never repeats the type or the title (the card shows both) and never ends mid-sentence:
it is the author's own first sentence or two (from the cleaned body or PR body, whole sentences
only), then what the facts say the diff does, then where. In Chinese the heuristic's own words
are Chinese and the author's English is quoted as such (“…”), never passed off as Chinese prose.
Untrusted text is whitespace-folded and bounded here; markup escaping is the formatters' job.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.analysis.cleaner import LIST_ITEM_RE, CommitText, clean_text
from bot.analysis.heuristic_rules import parse_title
from bot.analysis.name_lists import ARROW, code, last_part, name_list
from bot.analysis.paths import C_FAMILY, PathRoles
from bot.models import (
    CHANGE_TYPE_NAMES,
    ChangeFacts,
    ChangeType,
    DigestItem,
    Importance,
    Language,
    SymbolChange,
)

SUMMARY_MAX_CHARS = 520
LEAD_MAX_CHARS = 320  # the author's sentences quoted in a summary
SENTENCE_MIN_CHARS = 16
OVERVIEW_MAX_CHARS = 600
OVERVIEW_HIGHLIGHTS = 3
OVERVIEW_TITLE_CHARS = 90

_LINK_RE = re.compile(r"!?\[([^\]\n]{0,200})\]\([^)\s]{0,500}\)")
_URL_RE = re.compile(r"<?https?://\S+>?")
_GITHUB_REF_RE = re.compile(
    r"<?https?://github\.com/([\w.-]+/[\w.-]+)/(?:issues|pull)/(\d+)(?:#[\w-]+)?>?"
)
# Markdown emphasis as pairs (`**x**`, `__x__`, `*x*`, `_x_`): a lone `_` is part of a name.
_EMPHASIS_RE = re.compile(
    r"\*\*(?=\S)(.+?)(?<=\S)\*\*|__(?=\S)(.+?)(?<=\S)__"
    r"|(?<![\w*])\*(?=\S)([^*]+?)(?<=\S)\*(?![\w*])|(?<!\w)_(?=\S)([^_]+?)(?<=\S)_(?!\w)"
)
# A candidate end: Western terminators (closing quotes/brackets may follow) before a space or
# the end, or a CJK terminator anywhere. `split_sentences` then rejects the false ones.
_END_RE = re.compile(r"""[.!?]+["'”’)\]]*(?=\s|$)|[。！？]["”’）]*""")
_ABBREVIATIONS = frozenset(
    {"e.g", "i.e", "vs", "etc", "cf", "al", "approx", "fig", "no", "incl", "resp", "esp"}
)
_CJK_RE = re.compile(r"[\u3400-\u9fff]")
_SKIP_LINE_RE = re.compile(r"^\s*(?:\||>|```|~~~|#|<|\$ |\[!|cc\b|/cc\b|@\w)")
_WEAK_START_RE = re.compile(
    r"^(?:this pr|this change|this commit|this patch)\s+(?:is|was)\s+(?:a\s+)?(?:follow[- ]up|"
    r"part|split|cherry[- ]pick)|^(?:fixes|closes|resolves|related|see|ref|refs)\b",
    re.IGNORECASE,
)


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


# Stands where a bare foreign URL was: a sentence that pointed at a link ("moved to <url>")
# does not stand without it, so sentences holding this mark are never quoted.
_DROPPED_URL = "\ufffc"


def _plain(line: str) -> str:
    text = _LINK_RE.sub(lambda match: match.group(1), line)
    text = _GITHUB_REF_RE.sub(lambda match: f"{match.group(1)}#{match.group(2)}", text)
    text = _URL_RE.sub(_DROPPED_URL, text)
    text = _EMPHASIS_RE.sub(lambda m: next(g for g in m.groups() if g), LIST_ITEM_RE.sub("", text))
    return fold(text)


_REFERENCE_RE = re.compile(r"(?:[\w.-]+/[\w.-]+)?#\d+|\bgh-\d+\b", re.IGNORECASE)
# The words that only frame a reference ("Fixes #1", "Related to #2", "Part of #3").
_REFERENCE_WORD_RE = re.compile(
    r"fix(?:es|ed)?|close[sd]?|resolve[sd]?|related|to|see|issues?|part|of|refs?|follows?|up"
    r"|and|for|the|pr"
)


def _reference_only(sentence: str) -> bool:
    """Issue references with nothing to say: "Fix Fixes #4486.", "Related to #12 and #13."."""
    if not _REFERENCE_RE.search(sentence):
        return False
    words = re.findall(r"[^\W_]+", _REFERENCE_RE.sub(" ", sentence).lower())
    return all(_REFERENCE_WORD_RE.fullmatch(word) for word in words)


def split_sentences(line: str) -> list[str]:
    """`line` cut where its author ended sentences. Not an end: an ellipsis or abbreviation
    ("e.g.", "vs.") that the sentence continues after, a terminator inside an open double
    quote, or a period followed by a lowercase word."""
    sentences: list[str] = []
    start = 0
    for match in _END_RE.finditer(line):
        end = match.end()
        rest = line[end:].lstrip()
        mark = match.group()
        if mark[0] in ".!?" and rest:
            word = line[start : match.start()].rsplit(None, 1)[-1:] or [""]
            if (
                rest[0].islower()
                or word[0].lower().rstrip(".") in _ABBREVIATIONS
                or line.count('"', start, match.start()) % 2 == 1
            ):
                continue
        sentences.append(line[start:end].strip())
        start = end
    if line[start:].strip():
        sentences.append(line[start:].strip())
    return sentences


def _ends(text: str) -> bool:
    return text.endswith((".", "!", "?", "。", "！", "？"))


def lead_sentences(text: str, *, title: str = "", limit: int = LEAD_MAX_CHARS) -> str | None:
    """The author's first whole sentences (at most `limit` characters) of cleaned text.

    Lines that are tables, quotes, code, headings or markup are skipped; a list item is a
    sentence of its own. A sentence longer than the limit is skipped rather than cut, so what
    comes back always ends where the author ended a sentence."""
    folded_title = fold(title).lower().rstrip(".")
    kept: list[str] = []
    size = 0
    in_code = False
    for raw in clean_text(text).split("\n")[:200]:  # idempotent: cleaned text passes unchanged
        if raw.strip().startswith(("```", "~~~")):
            in_code = not in_code
            continue
        if in_code or not raw.strip() or _SKIP_LINE_RE.match(raw):
            if kept and not raw.strip():
                break  # the first paragraph (or list) is the lead
            continue
        line = _plain(raw)
        if len(line) < SENTENCE_MIN_CHARS or sum(c.isalnum() for c in line) < 8:
            continue
        for piece in split_sentences(line):
            sentence = piece
            if sentence.startswith("(") and sentence.rstrip(".").endswith(")"):
                continue  # an aside, not a statement of the change
            if _DROPPED_URL in sentence or _reference_only(sentence):
                continue
            if sentence.endswith((":", "：")):
                sentence = sentence[:-1].rstrip()  # it introduced a list: the clause stands
            if not _ends(sentence) and (
                LIST_ITEM_RE.match(raw) or len(sentence) >= SENTENCE_MIN_CHARS
            ):
                sentence += "。" if _CJK_RE.search(sentence[-1:]) else "."
            if sentence.lower().rstrip(".") == folded_title or _WEAK_START_RE.match(sentence):
                continue
            if len(sentence) > limit:
                if kept:
                    break
                continue
            if size + len(sentence) + 1 > limit:
                return " ".join(kept) or None
            kept.append(sentence)
            size += len(sentence) + 1
            if len(kept) >= 2:
                return " ".join(kept)
    return " ".join(kept) or None


def _surface(symbol: SymbolChange, roles: PathRoles) -> bool:
    top_level = "." not in symbol.name and "::" not in symbol.name
    return symbol.public and top_level and roles.is_surface(symbol.old_path or symbol.path)


def fact_phrases(facts: ChangeFacts, language: Language, roles: PathRoles) -> list[str]:
    """What the diff does to what callers can import, in the heuristic's own words."""
    zh = language == "zh"
    phrases: list[str] = []
    renamed = [s for s in facts.symbols if s.kind == "renamed" and _surface(s, roles)]
    removed = [s for s in facts.symbols if s.kind == "removed" and _surface(s, roles)]
    if renamed:
        pairs = [f"{last_part(s.old_name or '?')}{ARROW}{last_part(s.name)}" for s in renamed]
        phrases.append(
            f"重命名了 {name_list(pairs, language)}"
            if zh
            else f"renames {name_list(pairs, language)}"
        )
    if removed:
        names = [last_part(s.name) for s in removed]
        phrases.append(
            f"移除了 {name_list(names, language)}"
            if zh
            else f"removes {name_list(names, language)}"
        )
    dropped = [e.name for e in facts.exports if e.kind == "removed"]
    if dropped:
        phrases.append(
            f"不再导出 {name_list(dropped, language)}"
            if zh
            else f"stops exporting {name_list(dropped, language)}"
        )
    for symbol in facts.symbols:
        positional = symbol.path.endswith(C_FAMILY)
        visible = symbol.public and roles.is_surface(symbol.path)
        if symbol.kind == "signature" and visible and symbol.params_added and not positional:
            params = [p.split("=", 1)[0] for p in symbol.params_added]
            phrases.append(
                f"为 {code(last_part(symbol.name))} 新增参数 {name_list(params, language)}"
                if zh
                else f"adds {name_list(params, language)} to {code(last_part(symbol.name))}"
            )
            break
    for setting in facts.settings:
        if setting.change == "added" and setting.kind in ("env", "flag"):
            default = f"（默认 {code(setting.new)}）" if zh and setting.new else ""
            default_en = f" (default {code(setting.new)})" if not zh and setting.new else ""
            label = (
                ("环境变量" if setting.kind == "env" else "命令行参数")
                if zh
                else ("the environment variable" if setting.kind == "env" else "the flag")
            )
            phrases.append(
                f"新增{label} {code(setting.name)}{default}"
                if zh
                else f"adds {label} {code(setting.name)}{default_en}"
            )
            break
        if setting.change == "default":
            old, new = code(setting.old or "?"), code(setting.new or "?")
            phrases.append(
                f"将 {code(setting.name)} 的默认值由 {old} 改为 {new}"
                if zh
                else f"changes {code(setting.name)}'s default from {old} to {new}"
            )
            break
    deps = [d for d in facts.dependencies if d.old and d.new]
    if deps:
        dep = deps[0]
        phrases.append(
            f"将 {code(dep.name)} 由 {dep.old} 升级为 {dep.new}"
            if zh
            else f"moves {code(dep.name)} from {dep.old} to {dep.new}"
        )
    added = [s for s in facts.symbols if s.kind == "added" and _surface(s, roles)]
    if added and len(phrases) < 2:
        names = [last_part(s.name) for s in added]
        phrases.append(
            f"新增 {name_list(names, language)}" if zh else f"adds {name_list(names, language)}"
        )
    return phrases[:2]


def summary_text(
    language: Language,
    text: CommitText,
    facts: ChangeFacts,
    roles: PathRoles,
    *,
    files: int,
    additions: int,
    deletions: int,
    main_scope: str | None,
) -> str:
    """The summary: the author's lead, what the facts say, and the footprint (see the module)."""
    zh = language == "zh"
    lead = lead_sentences(text.body, title=text.title) or lead_sentences(
        text.pr_body, title=text.title
    )
    parts: list[str] = []
    if lead:
        parts.append(f"提交说明：“{lead}”" if zh else lead)
    phrases = fact_phrases(facts, language, roles)
    if phrases:
        if zh:
            parts.append("该提交" + "，并".join(phrases) + "。")
        else:
            sentence = " and ".join(phrases)
            parts.append(f"It {sentence}.")
    if files:
        where = main_scope if main_scope and len(main_scope) <= 80 else None
        if zh:
            tail = f"涉及 {files} 个文件（+{additions}/-{deletions}）"
            parts.append(tail + (f"，主要在 {code(where)}。" if where else "。"))
        else:
            noun = "file" if files == 1 else "files"
            tail = f"Touches {files} {noun} (+{additions}/-{deletions})"
            parts.append(tail + (f", mainly {code(where)}." if where else "."))
    joined = ""
    for part in parts:
        glue = "" if zh and (not joined or not joined[-1].isascii()) else (" " if joined else "")
        if len(joined) + len(glue) + len(part) > SUMMARY_MAX_CHARS:
            break
        joined += glue + part
    return joined or ("（无说明）" if zh else "(no description)")


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
        if language == "zh":
            highlights.append(f"“{title}”" + (f"（#{number}）" if number else ""))
        else:
            highlights.append(title + (f" (#{number})" if number else ""))
    order = list(ChangeType)
    mix = sorted(kinds.items(), key=lambda pair: (-pair[1], order.index(pair[0])))[:4]
    names = CHANGE_TYPE_NAMES[language]
    total = len(items)
    high, medium, low = counts[Importance.HIGH], counts[Importance.MEDIUM], counts[Importance.LOW]
    if language == "zh":
        sentences = [f"共 {total} 个提交：高 {high}、中 {medium}、低 {low}。"]
        if highlights:
            sentences.append("重点：" + "；".join(highlights) + "。")
        if total > 1:
            sentences.append("类型：" + "、".join(f"{names[k]} {n}" for k, n in mix) + "。")
        text = "".join(sentences)
    else:
        noun = "commit" if total == 1 else "commits"
        sentences = [f"{total} {noun}: {high} high, {medium} medium, {low} low."]
        if highlights:
            sentences.append("Highlights: " + "; ".join(highlights) + ".")
        if total > 1:
            sentences.append("Types: " + ", ".join(f"{names[k].lower()} {n}" for k, n in mix) + ".")
        text = " ".join(sentences)
    return truncate(text, OVERVIEW_MAX_CHARS)
