"""Untrusted text as inert GitHub-flavoured Markdown, plus GitHub heading anchors and TOC titles."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from formatters.text_safety import defang, lines, one_line

# Escaping keeps the neutral model's single-backtick inline code when it is safe and otherwise
# makes every structural character literal, so that untrusted text (already cleaned by
# formatters.text_safety) can never open a tag, a link, a heading, a list or a table column.
# Links are defanged first by formatters.text_safety.defang, the one rule for every format: a
# Markdown report is also read raw in a terminal, which links URLs even inside code spans.

_CODE_SPAN_RE = re.compile(r"`([^`\n]+)`")
# What GFM's autolink extension would turn into a link (https://github.github.com/gfm/#autolinks-extension-),
# matched generously so that anything link-like ends up inside a code span: a second line of
# defence behind defanging, which leaves nothing this matches.
_LINKISH_RE = re.compile(
    r"(?:[A-Za-z][A-Za-z0-9+.-]*://|www\.)[^\s<>|`\\]*"
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
)
_LINK_CLOSE_RE = re.compile(r"\]\s*[(\[:]|!\[")
_ENTITY_RE = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
_ORDERED_MARKER_RE = re.compile(r"^(\d{1,9})([.)])")
_BAREPATH_RE = re.compile(r"^[\w./*@+-]+$")


def _inert_line(text: str) -> str:
    """One cleaned line of untrusted text with its links defanged (before any escaping)."""
    return defang(one_line(text))


def _escape_plain(text: str, brackets: bool) -> str:
    out: list[str] = []
    for index, char in enumerate(text):
        if char in "\\`*|~" or (brackets and char in "[]"):
            out.append("\\" + char)
        elif char == "_":
            before = text[index - 1] if index else ""
            after = text[index + 1] if index + 1 < len(text) else ""
            intraword = before.isalnum() and after.isalnum()
            out.append("_" if intraword else "\\_")
        elif char == "<":
            out.append("&lt;")
        elif char == ">":
            out.append("&gt;")
        elif char == "&" and _ENTITY_RE.match(text, index):
            out.append("&amp;")
        else:
            out.append(char)
    return "".join(out)


def _code_span(content: str) -> str | None:
    """`content` as inline code, or None when it cannot be one safely (a pipe splits a cell)."""
    if "|" in content or "`" in content or not content.strip():
        return None
    return f"`{content}`"


def _escape_text_run(text: str, brackets: bool) -> str:
    """Escape plain text, moving anything a renderer could autolink into inline code."""
    out: list[str] = []
    position = 0
    for match in _LINKISH_RE.finditer(text):
        out.append(_escape_plain(text[position : match.start()], brackets))
        out.append(_code_span(match.group(0)) or _escape_plain(match.group(0), brackets))
        position = match.end()
    out.append(_escape_plain(text[position:], brackets))
    return "".join(out)


def md_inline(text: str, *, link_text: bool = False) -> str:
    """One line of untrusted text as inert inline Markdown (cleaned, links defanged; line breaks
    become spaces).

    Single-backtick code spans from the neutral model are kept; inside them `<` and `&` are
    literal by CommonMark's rules, so they stay inert. The result never starts a block,
    never contains an unescaped `|`, raw HTML, a link or an image.

    Square brackets stay as they are ("[diffusion] feat: …" reads like the reference) unless
    they could close a link: a link needs `](`, `][` or a definition's `]:`, and we never emit
    reference definitions. `link_text=True` escapes every bracket, for text placed inside our
    own `[…](…)`, where a stray `]` would end the link early.
    """
    text = _inert_line(text)
    brackets = link_text or bool(_LINK_CLOSE_RE.search(text))
    out: list[str] = []
    position = 0
    for match in _CODE_SPAN_RE.finditer(text):
        span = _code_span(match.group(1))
        if span is None:
            continue
        out.append(_escape_text_run(text[position : match.start()], brackets))
        out.append(span)
        position = match.end()
    out.append(_escape_text_run(text[position:], brackets))
    return "".join(out)


def md_line_start(text: str) -> str:
    """Like `md_inline`, for text that begins a line: block markers at its start are escaped."""
    escaped = md_inline(text)
    ordered = _ORDERED_MARKER_RE.match(escaped)
    if ordered:
        return f"{ordered.group(1)}\\{ordered.group(2)}{escaped[ordered.end() :]}"
    if escaped[:1] in ("#", "-", "+", "=", "["):
        return "\\" + escaped
    return escaped


def md_heading(text: str) -> str:
    """Heading content: also escapes a trailing run of `#`, which CommonMark would drop."""
    escaped = md_inline(text)
    return re.sub(r"(#+)(\s*)$", r"\\\1\2", escaped)


def md_cell(text: str) -> str:
    """A GFM table cell: each line escaped, lines joined with `<br>`; never adds a column."""
    return "<br>".join(md_inline(line) for line in lines(text)) or " "


def md_paragraph_lines(text: str) -> list[str]:
    """Each line of `text` escaped for use as a continuation line of a block."""
    return [md_line_start(line) for line in lines(text)]


def md_path(text: str) -> str:
    """A path or glob as inline code when it is a bare path, else escaped (may start a line)."""
    stripped = _inert_line(text)
    if _BAREPATH_RE.match(stripped) and ("/" in stripped or "." in stripped):
        return _code_span(stripped) or md_line_start(stripped)
    return md_line_start(stripped)


def md_code(text: str) -> str:
    """`text` as inline code when it can be (no backtick or pipe), else escaped text."""
    stripped = _inert_line(text)
    return _code_span(stripped) or md_inline(stripped)


def shorten_title(title: str, limit: int = 60) -> str:
    """The reference report's TOC shortening: past `limit` chars, keep limit-3 and add "..."."""
    title = one_line(title)
    return title if len(title) <= limit else title[: limit - 3] + "..."


# --- anchors ----------------------------------------------------------------------------


def github_slug(text: str) -> str:
    """GitHub's heading anchor: lower case, punctuation and emoji dropped, spaces to hyphens."""
    lowered = text.strip().lower()
    kept = "".join(
        char
        for char in lowered
        if char in " -_" or unicodedata.category(char)[0] in ("L", "N") or char.isalnum()
    )
    return kept.replace(" ", "-")


@dataclass
class AnchorRegistry:
    """Hands out unique anchors in document order, as GitHub does for repeated headings."""

    _seen: dict[str, int] = field(default_factory=dict)

    def unique(self, base: str) -> str:
        count = self._seen.get(base)
        if count is None:
            self._seen[base] = 0
            return base
        while True:
            count += 1
            candidate = f"{base}-{count}"
            if candidate not in self._seen:
                self._seen[base] = count
                self._seen[candidate] = 0
                return candidate

    def heading(self, text: str) -> str:
        """The anchor GitHub gives the next heading with this (unescaped) text."""
        return self.unique(github_slug(text))
