"""Go declaration patterns: functions, methods by receiver, types, interface method specs.

Not handled: parameter lists that use a type named like a parameter.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from bot.analysis.facts.definitions import MAX_DEFAULT_CHARS, DefinitionKind, Param, fold
from bot.analysis.facts.pattern_languages.declarations import IDENT, Head, Language, Scope
from bot.analysis.facts.pattern_languages.masked_text import (
    Text,
    find_end,
    line_end,
    split_top_level,
)

GO_EXTENSIONS = frozenset({".go"})

_GO_FUNC_RE = re.compile(
    rf"^\s*func\s*(?:\((?P<receiver>[^()]*)\)\s*)?(?P<name>{IDENT})\s*(?:\[[^()]*\]\s*)?\("
)
_GO_TYPE_RE = re.compile(
    rf"^\s*(?:type\s+)?(?P<name>{IDENT})\s*(?:\[[^()=]*\]\s*)?(?P<eq>=\s*)?"
    rf"(?P<what>struct\b|interface\b|[\w*\[\]().]+)"
)
_GO_TYPE_LINE_RE = re.compile(r"^\s*type\s+(?!\()")
_GO_TYPE_GROUP_RE = re.compile(r"^type\s*\(\s*$")
_GO_METHOD_SPEC_RE = re.compile(rf"^\s*(?P<name>{IDENT})\s*\(")
_GO_RECEIVER_TYPE_RE = re.compile(rf"\*?\s*(?P<type>{IDENT})\s*(?:\[.*\])?\s*$")
_GO_SECTION_RE = re.compile(rf"^type\s+(?P<name>{IDENT})\s*(?:\[[^\]]*\]\s*)?interface\b")
_GO_OPEN_RE = re.compile(
    rf"^func\s*(?:\((?P<receiver>[^()]*)\)\s*)?(?P<name>{IDENT})\s*(?:\[[^()]*\]\s*)?\("
)


def _go_exported(name: str) -> bool:
    return name[:1].isupper()


class Go(Language):
    mask = "go"
    angles = False
    decorator = re.compile(r"(?!)")

    def heads(self, text: Text, index: int, line: str) -> Iterator[Head]:
        start = text.starts[index] + len(line) - len(line.lstrip())
        match = _GO_FUNC_RE.match(line)
        if match:
            name = match.group("name")
            receiver = match.group("receiver")
            owner = _go_receiver(receiver) if receiver is not None else None
            public = _go_exported(name) and (owner is None or _go_exported(owner))
            yield Head(
                index,
                start,
                name,
                "method" if owner else "function",
                text.starts[index] + match.end() - 1,
                public,
                extension=owner,
            )
            return
        if text.type_groups is None:
            text.type_groups = _go_type_groups(text, text.in_type_group)
        if _GO_TYPE_LINE_RE.match(line) or index in text.type_groups:
            match = _GO_TYPE_RE.match(line)
            if match and match.group("name") not in ("type", "func", "var", "const"):
                name = match.group("name")
                what = match.group("what")
                record = what in ("struct", "interface") and not match.group("eq")
                yield Head(
                    index,
                    start,
                    name,
                    "class" if record else "type",
                    None,
                    _go_exported(name),
                    scope=name if what == "interface" else None,
                    scope_public=_go_exported(name),
                )
            return
        match = _GO_METHOD_SPEC_RE.match(line)
        if match:  # an interface's method; kept only inside one
            name = match.group("name")
            yield Head(
                index,
                start,
                name,
                "method",
                text.starts[index] + match.end() - 1,
                _go_exported(name),
                keyword=False,
                typed=True,
            )

    def param(self, piece: str) -> tuple[str, str | None]:
        return fold(piece, MAX_DEFAULT_CHARS), None

    def params(self, code: str, shape: str) -> tuple[Param, ...]:
        pieces = [
            fold(code[start:end])
            for start, end in split_top_level(shape, angles=False)
            if shape[start:end].strip()
        ]
        # Go names all parameters or none: `a, b int` shares a type; `int, string` has no names.
        if not any(re.match(rf"{IDENT}\s+\S", piece) for piece in pieces):
            return tuple(Param(fold(piece, MAX_DEFAULT_CHARS)) for piece in pieces)
        out: list[Param] = []
        shared: str | None = None
        for piece in reversed(pieces):
            match = re.match(rf"(?P<name>{IDENT})\s*(?P<type>.*)", piece)
            if match is None:
                out.append(Param(fold(piece, MAX_DEFAULT_CHARS)))
                continue
            shared = fold(match.group("type"), MAX_DEFAULT_CHARS) or shared
            out.append(Param(match.group("name"), None, shared))
        return tuple(reversed(out))

    def signature_end(self, text: Text, head: Head, close: int) -> tuple[int, str]:
        if not head.keyword:  # an interface's method spec ends with its line
            return line_end(text, text.line_of(close)), ""
        return find_end(text, close + 1, ("{",))

    def section_scope(self, section: str) -> tuple[str, bool, str] | None:
        match = _GO_SECTION_RE.match(section)
        if not match:
            return None
        name = match.group("name")
        return name, _go_exported(name), "interface"

    def starts_in_type_group(self, section: str) -> bool:
        return _GO_TYPE_GROUP_RE.match(section) is not None

    def open_head(self, section: str) -> tuple[str, DefinitionKind, bool] | None:
        match = _GO_OPEN_RE.match(section)
        if not match:
            return None
        name = match.group("name")
        receiver = match.group("receiver")
        owner = _go_receiver(receiver) if receiver is not None else None
        public = _go_exported(name) and (owner is None or _go_exported(owner))
        return (f"{owner}.{name}" if owner else name), ("method" if owner else "function"), public

    def plausible(self, head: Head, between: str, mark: str, owner: Scope | None) -> bool:
        return owner is not None  # an interface's method spec, never a call

    def typed(self, pieces: list[str]) -> bool:
        """`a, b T` ends typed; every piece starts with a name."""
        names = all(re.fullmatch(rf"\s*{IDENT}(?:\s+\S.*)?\s*", piece) for piece in pieces)
        return names and len(pieces[-1].split()) >= 2


def _go_type_groups(text: Text, inside: bool) -> frozenset[int]:
    """The lines of `type (` … `)` groups that start a type spec (one pass over the side);
    `inside`: the hunk header is `type (`, so the fragment starts in a group."""
    members: set[int] = set()
    group_depth: int | None = 0 if inside else None
    parens = 1 if inside else 0
    for index in range(len(text.lines)):
        line = text.shape_line(index)
        if group_depth is None:
            if _GO_TYPE_GROUP_RE.match(line):
                group_depth, parens = text.depth[index], 1
            continue
        if parens == 1 and text.depth[index] == group_depth:
            members.add(index)
        parens += line.count("(") - line.count(")")
        if parens <= 0:
            group_depth = None
    return frozenset(members)


def _go_receiver(receiver: str) -> str | None:
    match = _GO_RECEIVER_TYPE_RE.search(receiver.strip())
    return match.group("type") if match else None
