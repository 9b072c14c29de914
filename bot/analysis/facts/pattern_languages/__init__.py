"""The Go, Rust, JavaScript/TypeScript, Java and Kotlin definition reader: line patterns, no parser.

Each side is masked (`masked_text`), then the patterns of its language (`go`, `rust`,
`script`, `jvm`) match declaration heads line by line, and braces give the scopes that own
them (`declarations`). A side over `MAX_SIDE_CHARS` is not read.
"""

from __future__ import annotations

from bot.analysis.diff import Side
from bot.analysis.facts.definitions import Definition
from bot.analysis.facts.pattern_languages.declarations import Language, read_side
from bot.analysis.facts.pattern_languages.go import GO_EXTENSIONS, Go
from bot.analysis.facts.pattern_languages.jvm import JVM_EXTENSIONS, Java, Kotlin
from bot.analysis.facts.pattern_languages.masked_text import MAX_HEAD_CHARS, MAX_LIST_LINES
from bot.analysis.facts.pattern_languages.rust import RUST_EXTENSIONS, Rust
from bot.analysis.facts.pattern_languages.script import JS_EXTENSIONS, Script
from bot.analysis.paths import extension

__all__ = [
    "EXTENSIONS",
    "GO_EXTENSIONS",
    "JS_EXTENSIONS",
    "JVM_EXTENSIONS",
    "MAX_HEAD_CHARS",
    "MAX_LIST_LINES",
    "MAX_SIDE_CHARS",
    "RUST_EXTENSIONS",
    "read_definitions",
]

EXTENSIONS = GO_EXTENSIONS | RUST_EXTENSIONS | JS_EXTENSIONS | JVM_EXTENSIONS

MAX_SIDE_CHARS = 400_000

_GO, _RUST, _SCRIPT, _JAVA, _KOTLIN = Go(), Rust(), Script(), Java(), Kotlin()


def _language(path: str) -> Language | None:
    suffix = extension(path)
    if suffix in GO_EXTENSIONS:
        return _GO
    if suffix in RUST_EXTENSIONS:
        return _RUST
    if suffix in JS_EXTENSIONS:
        return _SCRIPT
    if suffix == ".kt":
        return _KOTLIN
    if suffix == ".java":
        return _JAVA
    return None


def read_definitions(side: Side, section: str, path: str) -> list[Definition]:
    """The functions, methods, classes and types declared on one side of a hunk."""
    language = _language(path)
    if language is None or not side.lines:
        return []
    if sum(len(line) + 1 for line in side.lines) > MAX_SIDE_CHARS:
        return []
    return read_side(language, side, section)
