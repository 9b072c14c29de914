"""One side of a hunk masked for line patterns: comments and strings blanked, brackets matched.

A side is kept three ways with the same offsets: as written, with comments turned into spaces
(`code`), and with string contents blanked too (`shape`), so patterns never match inside
either and brackets can be counted. Bracket helpers follow a parameter list to its `)` (at most
`MAX_LIST_LINES` lines), split it on top-level commas, and find where a declaration ends.

Not handled: nested block comments (Rust), JS template literals containing backticks inside
`${}`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.analysis.diff import Side

MAX_LIST_LINES = 30  # a parameter list not closed within this many lines has params None
MAX_HEAD_CHARS = 1_000  # patterns look at most this far into a line

# -- masking -----------------------------------------------------------------------------------

_COMMENTS = r"//[^\n]*|/\*.*?(?:\*/|\Z)"
_DOUBLE = r"\"(?:\\.|[^\"\\\n])*\"?"
_CHAR = r"'(?:\\.|[^'\\\n])'"  # a char literal, never a Rust lifetime `'a`
_STRINGS = {
    "go": _DOUBLE + r"|`[^`]*`?|" + _CHAR,
    "rust": r"r(?P<hashes>\#*)\".*?(?:\"(?P=hashes)|\Z)|b?" + _DOUBLE + r"|b?" + _CHAR,
    "js": _DOUBLE + r"|'(?:\\.|[^'\\\n])*'?|`(?:\\.|[^`\\])*`?",
    "java": r"\"\"\".*?(?:\"\"\"|\Z)|" + _DOUBLE + "|" + _CHAR,
}
_MASKS = {
    language: re.compile(rf"(?P<comment>{_COMMENTS})|(?P<string>{strings})", re.DOTALL)
    for language, strings in _STRINGS.items()
}
_NOT_NEWLINE_RE = re.compile(r"[^\n]")
_ARROW_RE = re.compile(r"[-=]>")


@dataclass
class Text:
    """One side three ways, all with the same offsets."""

    lines: list[str]
    code: str  # comments blanked
    shape: str  # comments and string contents blanked, `->` and `=>` blanked
    starts: list[int]  # offset of each line
    depth: list[int]  # brace depth (relative to the fragment's start) at each line start
    type_groups: frozenset[int] | None = None  # Go: lines holding a spec of a `type (` group
    in_type_group: bool = False  # Go: the hunk header is `type (`

    def line_of(self, offset: int) -> int:
        low, high = 0, len(self.starts) - 1
        while low < high:
            middle = (low + high + 1) // 2
            if self.starts[middle] <= offset:
                low = middle
            else:
                high = middle - 1
        return low

    def shape_line(self, index: int) -> str:
        start = self.starts[index]
        return self.shape[start : start + min(len(self.lines[index]), MAX_HEAD_CHARS)]


def mask(text: str, language: str) -> tuple[str, str]:
    """`text` with comments blanked, and with string contents and `->` `=>` blanked too."""
    close, open_ = text.find("*/"), text.find("/*")
    if close >= 0 and (open_ < 0 or close < open_):  # the fragment starts inside a comment
        text = _NOT_NEWLINE_RE.sub(" ", text[: close + 2]) + text[close + 2 :]
    code: list[str] = []
    shape: list[str] = []
    cursor = 0
    for match in _MASKS[language].finditer(text):
        start, end = match.span()
        if start == end:
            continue
        code.append(text[cursor:start])
        shape.append(text[cursor:start])
        token = match.group()
        if match.group("comment") is not None:
            blank = _NOT_NEWLINE_RE.sub(" ", token)
            code.append(blank)
            shape.append(blank)
        else:  # a string keeps its delimiters (a lone unterminated quote stays one character)
            code.append(token)
            inner = _NOT_NEWLINE_RE.sub(" ", token[1:-1])
            shape.append(token if len(token) < 2 else token[0] + inner + token[-1])
        cursor = end
    code.append(text[cursor:])
    shape.append(text[cursor:])
    masked = _ARROW_RE.sub("  ", "".join(shape))
    return "".join(code), masked


def prepare(side: Side, language: str) -> Text:
    """`side` masked with the string syntax `language` names, its lines and brace depths."""
    text = side.text
    code, shape = mask(text, language)
    starts = [0]
    for line in side.lines[:-1]:
        starts.append(starts[-1] + len(line) + 1)
    depth = [0] * len(side.lines)
    current = 0
    for index, line in enumerate(side.lines):
        depth[index] = current
        start = starts[index]
        segment = shape[start : start + len(line)]
        current += segment.count("{") - segment.count("}")
    return Text(side.lines, code, shape, starts, depth)


# -- brackets ------------------------------------------------------------------------------------


def close_paren(text: Text, open_paren: int) -> int | None:
    """The offset of the `)` closing the `(` at `open_paren`, within `MAX_LIST_LINES` lines."""
    shape = text.shape
    line = text.line_of(open_paren)
    limit_line = min(len(text.starts) - 1, line + MAX_LIST_LINES - 1)
    limit = text.starts[limit_line] + len(text.lines[limit_line])
    depth = 0
    for position in range(open_paren, min(limit, len(shape))):
        char = shape[position]
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return position
    return None


def split_top_level(shape: str, angles: bool) -> list[tuple[int, int]]:
    """[start, end) spans of the comma-separated pieces of `shape`, nested brackets respected."""
    pieces: list[tuple[int, int]] = []
    depth = 0
    start = 0
    for position, char in enumerate(shape):
        if char in "([{" or (angles and char == "<"):
            depth += 1
        elif char in ")]}" or (angles and char == ">"):
            depth = max(0, depth - 1)
        elif char == "," and depth == 0:
            pieces.append((start, position))
            start = position + 1
    pieces.append((start, len(shape)))
    return pieces


def top_level_equals(shape: str, angles: bool) -> int:
    """The offset of a default's `=` at depth 0 (not `==`, `<=`, `!=`), or -1."""
    depth = 0
    for position, char in enumerate(shape):
        if char in "([{" or (angles and char == "<"):
            depth += 1
        elif char in ")]}" or (angles and char == ">"):
            depth = max(0, depth - 1)
        elif char == "=" and depth == 0:
            before = shape[position - 1 : position]
            after = shape[position + 1 : position + 2]
            if after != "=" and before not in ("=", "<", ">", "!"):
                return position
    return -1


def top_level_colon(shape: str) -> int:
    """The offset of a type annotation's `:` at depth 0 (not `::`), or -1."""
    depth = 0
    for position, char in enumerate(shape):
        if char in "([{<":
            depth += 1
        elif char in ")]}>":
            depth = max(0, depth - 1)
        elif (
            char == ":"
            and depth == 0
            and shape[position + 1 : position + 2] != ":"
            and shape[position - 1 : position] != ":"
        ):
            return position
    return -1


def skip_angles(text: str) -> str:
    """What follows the `<…>` that `text` starts with ("" when it never closes)."""
    depth = 0
    for position, char in enumerate(text):
        if char == "<":
            depth += 1
        elif char == ">":
            depth -= 1
            if depth == 0:
                return text[position + 1 :]
    return ""


# -- where a declaration ends ---------------------------------------------------------------------

_CONTINUATION_RE = re.compile(
    r"\s*(?:\{|->|=>|=(?!=)|:|,|where\b|throws\b|extends\b|implements\b|permits\b|with\b)"
)
_CONTINUED_RE = re.compile(r"(?:->|=>|[:,=(\[]|\bextends|\bimplements|\bwhere)\s*$")


def line_end(text: Text, line: int) -> int:
    """The offset just past the last character of `line`."""
    return text.starts[line] + len(text.lines[line])


def find_end(text: Text, start: int, marks: tuple[str, ...]) -> tuple[int, str]:
    """The first body or terminator mark at bracket depth 0 after `start`, and the mark.

    A line ending at depth 0 ends the search unless the next line continues the declaration
    (`{`, `->`, `where`, `throws`, `extends`, `:` …); the mark is then ""."""
    shape, code = text.shape, text.code
    if not shape:
        return 0, ""
    line = text.line_of(min(start, len(shape) - 1))
    limit = min(len(shape), line_end(text, min(len(text.starts) - 1, line + 8)))
    depth = 0
    position = start
    while position < limit:
        char = shape[position]
        if char in "([":
            depth += 1
        elif char in ")]":
            depth -= 1
            if depth < 0:
                return position, ")"
        elif depth > 0:
            pass
        elif char == "\n":
            line = text.line_of(position + 1)
            if not (
                _CONTINUATION_RE.match(code, position + 1)
                or _CONTINUED_RE.search(code, text.starts[line - 1], position)
            ):
                return position, ""
        elif "=>" in marks and code.startswith("=>", position):
            return position, "=>"
        elif char == "{":
            if not _empty_type_braces(shape, position):
                return position, "{"
            position += 1
        elif char == "}":
            return position, "}"
        elif char in marks and not (
            char == "="
            and (
                shape[position + 1 : position + 2] in ("=", ">")
                or shape[position - 1 : position] in ("!", "<", ">", "=")
            )
        ):
            return position, char
        position += 1
    return limit, ""


def _empty_type_braces(shape: str, position: int) -> bool:
    """`interface{}` or `struct{}` in a Go type, not a body."""
    if shape[position + 1 : position + 2] != "}":
        return False
    before = shape[max(0, position - 12) : position].rstrip()
    return before.endswith(("interface", "struct"))


def brace_pairs(shape: str) -> dict[int, int]:
    """The offset of each `{` mapped to its matching `}` (unmatched ones are left out)."""
    pairs: dict[int, int] = {}
    stack: list[int] = []
    for match in re.finditer(r"[{}]", shape):
        if match.group() == "{":
            stack.append(match.start())
        elif stack:
            pairs[stack.pop()] = match.start()
    return pairs
