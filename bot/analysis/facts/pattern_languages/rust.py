"""Rust declaration patterns: functions, structs, enums, traits, type aliases, `impl` blocks.

Not handled: macros that generate items.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from bot.analysis.facts.definitions import MAX_DEFAULT_CHARS, DefinitionKind, fold
from bot.analysis.facts.pattern_languages.declarations import (
    IDENT,
    Head,
    Language,
    after_colon,
)
from bot.analysis.facts.pattern_languages.masked_text import Text, skip_angles

RUST_EXTENSIONS = frozenset({".rs"})

_RUST_VIS = r"(?P<vis>pub(?:\s*\([^()]*\))?\s+)?"
_RUST_FN_RE = re.compile(
    rf"^\s*(?:#\[[^\]]*\]\s*)*{_RUST_VIS}"
    r"(?:(?:default|const|async|unsafe|extern(?:\s+\"[^\"]*\")?)\s+)*"
    rf"fn\s+(?P<name>{IDENT})\s*"
)
_RUST_RECORD_RE = re.compile(
    rf"^\s*(?:#\[[^\]]*\]\s*)*{_RUST_VIS}(?:unsafe\s+|auto\s+)*"
    rf"(?P<what>struct|enum|trait|union)\s+(?P<name>{IDENT})"
)
_RUST_TYPE_RE = re.compile(rf"^\s*{_RUST_VIS}type\s+(?P<name>{IDENT})\b[^;]*=")
_RUST_IMPL_RE = re.compile(r"^\s*(?:unsafe\s+)?impl\b(?P<rest>.*)")
_RUST_SECTION_RE = re.compile(
    rf"^\s*{_RUST_VIS}(?:unsafe\s+)?(?:(?P<impl>impl\b)(?P<rest>.*)|trait\s+(?P<trait>{IDENT}))"
)
_RUST_OPEN_RE = re.compile(
    rf"^\s*{_RUST_VIS}(?:(?:default|const|async|unsafe|extern(?:\s+\"[^\"]*\")?)\s+)*"
    rf"fn\s+(?P<name>{IDENT})\s*(?:<.*?>\s*)?\("
)


def _rust_public(vis: str | None) -> bool:
    return vis is not None and vis.strip() == "pub"


def _rust_impl_target(rest: str) -> str | None:
    """`Foo` from the rest of `impl<T> fmt::Display for Foo<T> where T: X {`; the trait's
    name when the type has none (`impl ToValue for ()`)."""
    rest = rest.split("{", 1)[0]
    rest = re.split(r"\bwhere\b", rest, maxsplit=1)[0]
    if rest.lstrip().startswith("<"):
        rest = skip_angles(rest.lstrip())
    for part in reversed(re.split(r"\bfor\b", rest, maxsplit=1)):
        target = re.sub(r"^(?:&\s*(?:'\w+\s+)?(?:mut\s+)?|dyn\s+)", "", part.strip())
        name = target.split("<", 1)[0].strip().rsplit("::", 1)[-1].strip()
        if re.fullmatch(IDENT, name):
            return name
    return None


class Rust(Language):
    mask = "rust"
    separator = "::"
    keyword_members = True
    blocks_hold_locals = False
    self_receiver = True  # in an `impl` block the hunk does not show
    decorator = re.compile(r"^\s*#!?\[")

    def heads(self, text: Text, index: int, line: str) -> Iterator[Head]:
        start = text.starts[index] + len(line) - len(line.lstrip())
        match = _RUST_FN_RE.match(line)
        if match:
            rest = line[match.end() :]
            offset = match.end()
            if rest.startswith("<"):
                skipped = skip_angles(rest)
                offset += len(rest) - len(skipped)
                rest = skipped
            stripped = rest.lstrip()
            if stripped.startswith("("):
                offset += len(rest) - len(stripped)
                yield Head(
                    index,
                    start,
                    match.group("name"),
                    "function",
                    text.starts[index] + offset,
                    _rust_public(match.group("vis")),
                )
            elif not stripped:  # generics or the list on the next lines: name only
                yield Head(
                    index,
                    start,
                    match.group("name"),
                    "function",
                    None,
                    _rust_public(match.group("vis")),
                )
            return
        match = _RUST_RECORD_RE.match(line)
        if match:
            name = match.group("name")
            public = _rust_public(match.group("vis"))
            trait = match.group("what") == "trait"
            yield Head(
                index,
                start,
                name,
                "class",
                None,
                public,
                scope=name if trait else None,
                scope_public=public,
                member_public=public if trait else None,
            )
            return
        match = _RUST_TYPE_RE.match(line)
        if match:
            yield Head(
                index, start, match.group("name"), "type", None, _rust_public(match.group("vis"))
            )
            return
        match = _RUST_IMPL_RE.match(line)
        if match:
            target = _rust_impl_target(match.group("rest"))
            if target:
                trait_impl = re.search(r"\bfor\b", match.group("rest")) is not None
                yield Head(
                    index,
                    start,
                    target,
                    "class",
                    None,
                    scope=target,
                    member_public=True if trait_impl else None,
                    transparent=False,
                    keyword=False,  # an `impl` block opens a scope but is not a definition
                )

    def param(self, piece: str) -> tuple[str, str | None]:
        name, annotation = after_colon(piece)
        if receiver := re.fullmatch(r"(&\s*(?:'\w+\s+)?(?:mut\s+)?)self", name):
            return "self", fold(receiver.group(1) + "Self")  # `&mut self`: `&mut Self`
        name = re.sub(r"^(?:mut\s+)", "", name).strip()
        return fold(name, MAX_DEFAULT_CHARS), annotation

    def section_scope(self, section: str) -> tuple[str, bool, str] | None:
        match = _RUST_SECTION_RE.match(section)
        if not match:
            return None
        if match.group("trait"):
            return match.group("trait"), _rust_public(match.group("vis")), "trait"
        target = _rust_impl_target(match.group("rest") or "")
        if target is None:
            return None
        trait_impl = re.search(r"\bfor\b", match.group("rest") or "") is not None
        return target, True, "trait-impl" if trait_impl else "impl"

    def section_members_public(self, kind: str, public: bool) -> bool | None:
        if kind == "trait":
            return public
        if kind == "trait-impl":
            return True
        return None

    def open_head(self, section: str) -> tuple[str, DefinitionKind, bool] | None:
        match = _RUST_OPEN_RE.match(section)
        if not match:
            return None
        kind: DefinitionKind = "method" if section[:1].isspace() else "function"
        return match.group("name"), kind, _rust_public(match.group("vis"))
