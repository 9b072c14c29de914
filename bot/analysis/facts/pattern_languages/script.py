"""JavaScript and TypeScript declaration patterns: functions, arrows, classes, methods, types.

Not handled: TypeScript object-type literals spanning lines in a parameter list without commas.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from bot.analysis.facts.definitions import MAX_DEFAULT_CHARS, DefinitionKind, fold
from bot.analysis.facts.pattern_languages.declarations import (
    IDENT,
    Head,
    Language,
    Scope,
    after_colon,
)
from bot.analysis.facts.pattern_languages.masked_text import Text, skip_angles

JS_EXTENSIONS = frozenset({".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx"})

_JS_FUNCTION_RE = re.compile(
    r"^\s*(?P<export>export\s+(?:default\s+)?)?(?:declare\s+)?(?:async\s+)?"
    rf"function\b\s*\*?\s*(?P<name>{IDENT})\s*"
)
_JS_ARROW_RE = re.compile(
    r"^\s*(?P<export>export\s+)?(?:declare\s+)?(?:const|let|var)\s+"
    rf"(?P<name>{IDENT})\s*(?::[^=]*)?=\s*(?:async\s+)?"
    rf"(?:(?P<function>function\b\s*\*?\s*(?:{IDENT}\s*)?)|(?P<single>{IDENT})\s*=>|(?=[<(]))"
)
_JS_CLASS_RE = re.compile(
    r"^\s*(?P<export>export\s+(?:default\s+)?)?(?:declare\s+)?(?:abstract\s+)?"
    rf"(?P<what>class|interface|enum|const\s+enum)\s+(?P<name>{IDENT})"
)
_JS_TYPE_RE = re.compile(
    rf"^\s*(?P<export>export\s+)?(?:declare\s+)?type\s+(?P<name>{IDENT})\s*(?:<[^=]*>)?\s*="
)
_JS_MODIFIERS = (
    r"(?P<mods>(?:(?:public|private|protected|static|readonly|abstract|override|async|declare"
    r"|accessor|get|set)\s+)*)"
)
_JS_METHOD_RE = re.compile(
    rf"^\s*(?:@[\w.]+(?:\([^()]*\))?\s+)*{_JS_MODIFIERS}\*?\s*(?P<name>#?{IDENT})\s*\??\s*"
)
_JS_PROPERTY_ARROW_RE = re.compile(
    rf"^\s*{_JS_MODIFIERS}(?P<name>#?{IDENT})\s*(?::[^=]*)?=\s*(?:async\s+)?(?=[<(])"
)
_JS_KEYWORDS = frozenset(
    {
        "if",
        "for",
        "while",
        "switch",
        "catch",
        "function",
        "return",
        "with",
        "new",
        "typeof",
        "await",
        "import",
        "require",
        "super",
        "do",
        "else",
        "throw",
        "delete",
        "void",
        "yield",
        "case",
        "export",
        "const",
        "let",
        "var",
        "class",
        "interface",
        "type",
        "enum",
        "in",
        "of",
        "instanceof",
        "this",
    }
)
_JS_SECTION_RE = re.compile(
    r"^(?P<export>export\s+(?:default\s+)?)?(?:declare\s+)?(?:abstract\s+)?"
    rf"(?P<what>class|interface)\s+(?P<name>{IDENT})"
)
_JS_OPEN_RE = re.compile(
    r"^(?P<export>export\s+(?:default\s+)?)?(?:declare\s+)?(?:async\s+)?"
    rf"function\b\s*\*?\s*(?P<name>{IDENT})\s*(?:<.*?>\s*)?\("
)
_TS_PARAM_MODIFIERS_RE = re.compile(r"^(?:(?:public|private|protected|readonly|override)\s+)+")


class Script(Language):
    mask = "js"
    body_marks = ("{", ";", "=>")

    def heads(self, text: Text, index: int, line: str) -> Iterator[Head]:
        start = text.starts[index] + len(line) - len(line.lstrip())
        base = text.starts[index]
        match = _JS_FUNCTION_RE.match(line)
        if match:
            paren = _paren_after(line, match.end())
            yield Head(
                index,
                start,
                match.group("name"),
                "function",
                None if paren is None else base + paren,
                bool(match.group("export")),
            )
            return
        match = _JS_CLASS_RE.match(line)
        if match:
            name = match.group("name")
            exported = bool(match.group("export"))
            what = match.group("what")
            yield Head(
                index,
                start,
                name,
                "class",
                None,
                exported,
                scope=name if what in ("class", "interface") else None,
                scope_public=exported,
            )
            return
        match = _JS_TYPE_RE.match(line)
        if match:
            exported = bool(match.group("export"))
            yield Head(index, start, match.group("name"), "type", None, exported)
            return
        code_line = text.code[base : base + len(line)]  # `=>` is blanked in `line`
        match = _JS_ARROW_RE.match(code_line)
        if match:
            exported = bool(match.group("export"))
            name = match.group("name")
            if match.group("single"):
                yield Head(
                    index,
                    start,
                    name,
                    "function",
                    None,
                    exported,
                    single_param=match.group("single"),
                )
                return
            paren = _paren_after(line, match.end())
            if paren is not None:
                yield Head(
                    index,
                    start,
                    name,
                    "function",
                    base + paren,
                    exported,
                    arrow=not match.group("function"),
                )
            return
        # Class members: `name = (…) =>` properties first, then `name(…) {` methods.
        for member_re, arrow in ((_JS_PROPERTY_ARROW_RE, True), (_JS_METHOD_RE, False)):
            match = member_re.match(line)
            if match and match.group("name") not in _JS_KEYWORDS:
                paren = _paren_after(line, match.end())
                if paren is not None:
                    yield Head(
                        index,
                        start,
                        match.group("name"),
                        "method",
                        base + paren,
                        _js_member_public(match.group("name"), match.group("mods")),
                        keyword=False,
                        arrow=arrow,
                    )
                return

    def param(self, piece: str) -> tuple[str, str | None]:
        name, annotation = after_colon(_TS_PARAM_MODIFIERS_RE.sub("", piece.strip()))
        return fold(name.rstrip("?").strip(), MAX_DEFAULT_CHARS), annotation

    def section_scope(self, section: str) -> tuple[str, bool, str] | None:
        match = _JS_SECTION_RE.match(section)
        if not match:
            return None
        return match.group("name"), bool(match.group("export")), match.group("what")

    def open_head(self, section: str) -> tuple[str, DefinitionKind, bool] | None:
        match = _JS_OPEN_RE.match(section)
        if not match:
            return None
        return match.group("name"), "function", bool(match.group("export"))

    def plausible(self, head: Head, between: str, mark: str, owner: Scope | None) -> bool:
        if mark == "{" and re.match(r"\s*:", between):
            return True  # a TypeScript return type
        return super().plausible(head, between, mark, owner)


def _js_member_public(name: str, modifiers: str | None) -> bool:
    words = (modifiers or "").split()
    return not name.startswith(("_", "#")) and "private" not in words and "protected" not in words


def _paren_after(line: str, position: int) -> int | None:
    """The offset in `line` of the `(` after a name (and its `<…>` type parameters)."""
    rest = line[position:]
    if rest.lstrip().startswith("<"):
        stripped = rest.lstrip()
        skipped = skip_angles(stripped)
        position += len(rest) - len(skipped)
        rest = skipped
    stripped = rest.lstrip()
    if not stripped.startswith("("):
        return None
    return position + len(rest) - len(stripped)
