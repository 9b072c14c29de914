"""Java and Kotlin declaration patterns: classes, interfaces, methods, constructors, `fun`s."""

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
from bot.analysis.facts.pattern_languages.masked_text import Text

JVM_EXTENSIONS = frozenset({".java", ".kt"})

_JAVA_ANNOTATIONS = r"(?:@[\w.]+(?:\([^()]*\))?\s+)*"
_JAVA_MODIFIERS = (
    r"(?P<mods>(?:(?:public|protected|private|static|final|abstract|synchronized|native|default"
    r"|strictfp|transient|sealed|non-sealed)\s+)*)"
)
_JAVA_CLASS_RE = re.compile(
    rf"^\s*{_JAVA_ANNOTATIONS}{_JAVA_MODIFIERS}(?P<what>class|interface|enum|record|@interface)"
    rf"\s+(?P<name>{IDENT})"
)
_JAVA_METHOD_RE = re.compile(
    rf"^\s*{_JAVA_ANNOTATIONS}{_JAVA_MODIFIERS}(?:<[^()]*?>\s+)?"
    r"(?P<type>[\w$.]+(?:\s*<[^()]*?>)?(?:\s*\[\s*\])*(?:\.\.\.)?)\s+"
    rf"(?P<name>{IDENT})\s*\("
)
_JAVA_CONSTRUCTOR_RE = re.compile(
    rf"^\s*{_JAVA_ANNOTATIONS}{_JAVA_MODIFIERS}(?:<[^()]*?>\s+)?(?P<name>{IDENT})\s*\("
)
_JAVA_KEYWORDS = frozenset(
    {
        "return",
        "new",
        "throw",
        "else",
        "case",
        "yield",
        "assert",
        "await",
        "package",
        "import",
        "goto",
        "do",
        "try",
        "catch",
        "finally",
        "if",
        "for",
        "while",
        "switch",
        "synchronized",
        "super",
        "this",
        "instanceof",
        "var",
        "val",
        "when",
        "is",
        "in",
        "throws",
    }
)
_JAVA_MODIFIER_WORDS = frozenset(
    {
        "public",
        "protected",
        "private",
        "static",
        "final",
        "abstract",
        "synchronized",
        "native",
        "default",
        "strictfp",
        "transient",
        "sealed",
        "non-sealed",
    }
)
_JAVA_SECTION_RE = re.compile(
    rf"^{_JAVA_ANNOTATIONS}{_JAVA_MODIFIERS}(?P<what>class|interface|enum|record|@interface)"
    rf"\s+(?P<name>{IDENT})"
)
_JAVA_PARAM_RE = re.compile(rf"(?P<name>{IDENT})\s*(?:\[\s*\]\s*)*$")

_KOTLIN_MODIFIERS = (
    r"(?P<mods>(?:(?:public|private|protected|internal|open|override|abstract|final|suspend"
    r"|inline|operator|infix|tailrec|external|actual|expect|data|sealed|enum|annotation|inner"
    r"|value|const|lateinit|companion|fun)\s+)*)"
)
_KOTLIN_FUN_RE = re.compile(
    rf"^\s*{_JAVA_ANNOTATIONS}{_KOTLIN_MODIFIERS}fun\s+(?:<[^()]*?>\s*)?"
    rf"(?:(?P<receiver>[\w$.]+(?:<[^()]*?>)?\??)\.)?(?P<name>{IDENT})\s*\("
)
_KOTLIN_CLASS_RE = re.compile(
    rf"^\s*{_JAVA_ANNOTATIONS}{_KOTLIN_MODIFIERS}(?P<what>class|interface|object)\b"
    rf"\s*(?P<name>{IDENT})?"
)
_KOTLIN_CONSTRUCTOR_RE = re.compile(rf"^\s*{_JAVA_ANNOTATIONS}{_KOTLIN_MODIFIERS}constructor\s*\(")
_KOTLIN_TYPEALIAS_RE = re.compile(rf"^\s*{_KOTLIN_MODIFIERS}typealias\s+(?P<name>{IDENT})")
_KOTLIN_SECTION_RE = re.compile(
    rf"^{_JAVA_ANNOTATIONS}{_KOTLIN_MODIFIERS}(?P<what>class|interface|object)\s+(?P<name>{IDENT})"
)
_KOTLIN_OPEN_RE = re.compile(
    rf"^\s*{_JAVA_ANNOTATIONS}{_KOTLIN_MODIFIERS}fun\s+(?:<[^()]*?>\s*)?"
    rf"(?:(?P<receiver>[\w$.]+(?:<[^()]*?>)?\??)\.)?(?P<name>{IDENT})\s*\("
)
_KOTLIN_PARAM_MODIFIERS_RE = re.compile(
    r"^(?:@[\w.]+(?:\([^()]*\))?\s+|(?:vararg|noinline|crossinline|val|var|private|public"
    r"|protected|internal|override|open|final)\s+)+"
)


def _kotlin_public(modifiers: str | None) -> bool:
    words = (modifiers or "").split()
    return not any(word in ("private", "protected", "internal") for word in words)


class Java(Language):
    mask = "java"

    def heads(self, text: Text, index: int, line: str) -> Iterator[Head]:
        start = text.starts[index] + len(line) - len(line.lstrip())
        base = text.starts[index]
        match = _JAVA_CLASS_RE.match(line)
        if match:
            name = match.group("name")
            public = "public" in match.group("mods").split()
            interface = match.group("what") in ("interface", "@interface")
            yield Head(
                index,
                start,
                name,
                "class",
                None,
                public,
                scope=name,
                scope_public=public,
                member_public=True if interface else None,
            )
            return
        match = _JAVA_METHOD_RE.match(line)
        if match and match.group("type") not in _JAVA_KEYWORDS | _JAVA_MODIFIER_WORDS:
            name = match.group("name")
            if name not in _JAVA_KEYWORDS:
                yield Head(
                    index,
                    start,
                    name,
                    "method",
                    base + match.end() - 1,
                    "public" in match.group("mods").split(),
                    keyword=False,
                    typed=True,
                )
                return
        match = _JAVA_CONSTRUCTOR_RE.match(line)
        if match and match.group("name") not in _JAVA_KEYWORDS:
            yield Head(
                index,
                start,
                match.group("name"),
                "method",
                base + match.end() - 1,
                "public" in match.group("mods").split(),
                keyword=False,
            )

    def param(self, piece: str) -> tuple[str, str | None]:
        piece = re.sub(r"@[\w.]+(?:\([^()]*\))?\s*|\bfinal\s+", "", piece).strip()
        match = _JAVA_PARAM_RE.search(piece)
        if match is None or match.start() == 0:
            return fold(piece, MAX_DEFAULT_CHARS), None
        annotation = piece[: match.start()] + piece[match.end("name") :]
        return match.group("name"), fold(annotation, MAX_DEFAULT_CHARS) or None

    def section_scope(self, section: str) -> tuple[str, bool, str] | None:
        match = _JAVA_SECTION_RE.match(section)
        if not match:
            return None
        interface = match.group("what") in ("interface", "@interface")
        public = "public" in match.group("mods").split()
        return match.group("name"), public, "interface" if interface else "class"

    def section_members_public(self, kind: str, public: bool) -> bool | None:
        return True if kind == "interface" else None

    def stands_alone(self, head: Head) -> bool:
        return head.typed  # `List<String> names(…)`: a declaration even with no class in sight

    def member_name(self, head: Head, owner: Scope | None) -> bool:
        """A constructor is named like its class; a typed method needs no check."""
        if head.typed:
            return True
        return owner is not None and (owner.name or "").rsplit(".", 1)[-1] == head.name

    def inherited_public(self, owner: Scope, line: str) -> bool:
        """An interface's members are public unless `private`, when the interface is."""
        return owner.public and "private" not in line.split()

    def typed(self, pieces: list[str]) -> bool:
        """`Type name`: every parameter has at least two words."""
        return all(len(piece.split()) >= 2 for piece in pieces)


class Kotlin(Language):
    mask = "java"
    keyword_members = True
    body_marks = ("{", ";", "=")

    def heads(self, text: Text, index: int, line: str) -> Iterator[Head]:
        start = text.starts[index] + len(line) - len(line.lstrip())
        base = text.starts[index]
        match = _KOTLIN_FUN_RE.match(line)
        if match:
            receiver = match.group("receiver")
            owner = receiver.split("<", 1)[0].rstrip("?") if receiver else None
            yield Head(
                index,
                start,
                match.group("name"),
                "function",
                base + match.end() - 1,
                _kotlin_public(match.group("mods")),
                extension=owner,
            )
            return
        match = _KOTLIN_CLASS_RE.match(line)
        if match:
            name = match.group("name")
            public = _kotlin_public(match.group("mods"))
            if name is None:
                if "companion" in match.group("mods").split():  # `companion object {`
                    yield Head(
                        index,
                        start,
                        "",
                        "class",
                        None,
                        public,
                        scope="",
                        transparent=True,
                        keyword=False,
                    )
                return
            yield Head(
                index,
                start,
                name,
                "class",
                None,
                public,
                scope=name,
                scope_public=public,
            )
            return
        match = _KOTLIN_CONSTRUCTOR_RE.match(line)
        if match:
            yield Head(
                index,
                start,
                "constructor",
                "method",
                base + match.end() - 1,
                _kotlin_public(match.group("mods")),
                keyword=False,
            )
            return
        match = _KOTLIN_TYPEALIAS_RE.match(line)
        if match:
            yield Head(
                index, start, match.group("name"), "type", None, _kotlin_public(match.group("mods"))
            )

    def param(self, piece: str) -> tuple[str, str | None]:
        name, annotation = after_colon(_KOTLIN_PARAM_MODIFIERS_RE.sub("", piece.strip()))
        return fold(name, MAX_DEFAULT_CHARS), annotation

    def section_scope(self, section: str) -> tuple[str, bool, str] | None:
        match = _KOTLIN_SECTION_RE.match(section)
        if not match:
            return None
        return match.group("name"), _kotlin_public(match.group("mods")), match.group("what")

    def open_head(self, section: str) -> tuple[str, DefinitionKind, bool] | None:
        match = _KOTLIN_OPEN_RE.match(section)
        if not match:
            return None
        kind: DefinitionKind = "method" if section[:1].isspace() else "function"
        return match.group("name"), kind, _kotlin_public(match.group("mods"))
