"""Declarations on one masked side: heads matched line by line, owned by the scopes around them.

A `Language` matches declaration heads on each line of a `Text`; a parameter list is followed
until its parentheses balance and split on top-level commas. Braces give the scopes: a
`class`, `impl`, `trait` or `interface` body visible in the fragment owns the methods declared
directly in it; when the hunk header names such a scope, it owns the indented declarations the
fragment shows before that scope closes. A header naming a function whose parameter list it
leaves open gives a partial view of the list's tail (see `Definition.partial`).

Not handled: decorators or annotations spanning several lines.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from bot.analysis.diff import Side
from bot.analysis.facts.definitions import (
    MAX_DEFAULT_CHARS,
    Definition,
    DefinitionKind,
    Param,
    fold,
)
from bot.analysis.facts.pattern_languages.masked_text import (
    Text,
    brace_pairs,
    close_paren,
    find_end,
    line_end,
    mask,
    prepare,
    split_top_level,
    top_level_colon,
    top_level_equals,
)

IDENT = r"[A-Za-z_$][\w$]*"
_OPEN_LIST_LINES = 40

# what a cut arrow function's list may start with: nothing more on its line, or `name:`, `a,`
_ARROW_PARAMS_RE = re.compile(r"[ \t]*(?:\n|$|[\w$]+[ \t]*[:,=?)]|\.\.\.|[{\[])")


@dataclass(frozen=True)
class Head:
    """A declaration head matched on one line."""

    line: int
    start: int  # offset of the head's first character
    name: str
    kind: DefinitionKind
    open_paren: int | None = None  # offset of the `(` opening the parameter list
    public: bool = True
    scope: str | None = None  # a class-like head: the name its body gives its members
    scope_public: bool = True
    transparent: bool = False  # a scope whose members belong to the enclosing one
    keyword: bool = True  # False for method-shaped heads, which need a class around them
    typed: bool = False  # a Java `Type name(` head: a declaration even without a body
    extension: str | None = None  # Go receiver or Kotlin extension type (owner by syntax)
    member_public: bool | None = None  # trait/interface members inherit this
    arrow: bool = False  # `const f = (…) =>`: a function only if `=>` follows the list
    single_param: str | None = None  # `const f = x => …`


@dataclass
class Scope:
    """A class-like body (or the one the hunk header names) owning the heads directly in it."""

    name: str | None
    open_brace: int
    close_brace: int
    depth: int  # brace depth of its members' lines
    public: bool
    kind: str  # "class" | "interface" | "trait" | "impl"
    members_public: bool | None = None


class Language:
    """Head patterns and parameter rules of one language family."""

    mask = ""  # which string syntax `masked_text.mask` blanks
    separator = "."
    angles = True  # do `<` `>` nest in parameter lists?
    keyword_members = False  # do `fn`/`fun` heads become members of a header-named scope?
    # Is a head in a block the fragment opens (no class around it) a local? Not in Rust, whose
    # `pub` is explicit and whose `mod x {}` is no body.
    blocks_hold_locals = True
    self_receiver = False  # does a first parameter named `self` make a function a method?
    decorator = re.compile(r"^\s*@[\w.]+")
    body_marks: tuple[str, ...] = ("{", ";")  # what ends a signature after its list

    def heads(self, text: Text, index: int, line: str) -> Iterator[Head]:
        raise NotImplementedError

    def param(self, piece: str) -> tuple[str, str | None]:
        """The name and declared type of one parameter (its default already cut off)."""
        raise NotImplementedError

    def section_scope(self, section: str) -> tuple[str, bool, str] | None:
        """(name, public, kind) of a class-like scope the hunk header names."""
        return None

    def section_members_public(self, kind: str, public: bool) -> bool | None:
        """The visibility the members of a header-named scope inherit (None: their own)."""
        return None

    def starts_in_type_group(self, section: str) -> bool:
        """Does the hunk header open a group of type specs the fragment starts inside?"""
        return False

    def open_head(self, section: str) -> tuple[str, DefinitionKind, bool] | None:
        """(name, kind, public) of a function whose parameter list the header leaves open."""
        return None

    def signature_end(self, text: Text, head: Head, close: int) -> tuple[int, str]:
        """Where the declaration ends after its parameter list, and the character there."""
        return find_end(text, close + 1, self.body_marks)

    def stands_alone(self, head: Head) -> bool:
        """Does a method-shaped head declare something with no class in sight?"""
        return False

    def member_name(self, head: Head, owner: Scope | None) -> bool:
        """Is a method-shaped head's name one a member of `owner` may have?"""
        return True

    def plausible(self, head: Head, between: str, mark: str, owner: Scope | None) -> bool:
        """Does a method-shaped head declare something, rather than call it? `between` is
        the shape from its list's `)` to the `mark` that ends the declaration."""
        if mark == "{":
            if re.fullmatch(r"\s*throws\s+[\w$.<>,\s]+", between):
                return True  # Java: `throws java.io.IOException {`
            return re.search(r"[.+*/%&|!?=]", between.replace("...", "")) is None
        if mark in (";", ""):
            return head.typed or (owner is not None and owner.open_brace >= 0)
        return mark == "=>" and owner is not None

    def inherited_public(self, owner: Scope, line: str) -> bool:
        """Is a member declared on `line` public, in a scope whose members inherit that?"""
        return bool(owner.members_public)

    def typed(self, pieces: list[str]) -> bool:
        """Do these parameters (at least one) carry types: `name: T`?"""
        return all(top_level_colon(piece) >= 0 for piece in pieces)

    def params(self, code: str, shape: str) -> tuple[Param, ...]:
        """The parameters of a list's inner text (`code` and its `shape`, same offsets)."""
        params: list[Param] = []
        for start, end in split_top_level(shape, self.angles):
            piece_shape = shape[start:end]
            if not piece_shape.strip():
                continue
            piece = code[start:end]
            equals = top_level_equals(piece_shape, self.angles)
            default: str | None = None
            if equals >= 0:
                default = fold(piece[equals + 1 :], MAX_DEFAULT_CHARS) or None
                piece = piece[:equals]
            name, annotation = self.param(piece)
            if name:
                params.append(Param(name, default, annotation))
        return tuple(params)


def after_colon(piece: str) -> tuple[str, str | None]:
    """`name: Type` split at its top-level colon."""
    colon = top_level_colon(piece)
    if colon < 0:
        return piece.strip(), None
    return piece[:colon].strip(), fold(piece[colon + 1 :], MAX_DEFAULT_CHARS) or None


def read_side(language: Language, side: Side, section: str) -> list[Definition]:
    """The functions, methods, classes and types `language`'s patterns find on one side."""
    text = prepare(side, language.mask)
    text.in_type_group = language.starts_in_type_group(section)
    scope, until = _section_scope(language, section, text)
    reader = _Reader(side, language, text, scope, until)
    reader.run()
    partial = _open_list(language, side, section)
    return [partial, *reader.found] if partial is not None else reader.found


# -- the reader ----------------------------------------------------------------------------------


@dataclass
class _Reader:
    side: Side
    language: Language
    text: Text
    section: Scope | None  # the class-like scope the hunk header names, if any
    section_until: int = 0  # the line closing it (a `}` in column 0)
    found: list[Definition] = field(default_factory=list)
    scopes: list[Scope] = field(default_factory=list)
    closes: dict[int, int] = field(default_factory=dict)

    def run(self) -> None:
        self.closes = brace_pairs(self.text.shape)
        for index, line in enumerate(self.text.lines):
            if not line.strip():
                continue
            for head in self.language.heads(self.text, index, self.text.shape_line(index)):
                self._head(head)

    def _head(self, head: Head) -> None:
        text = self.text
        while self.scopes and self.scopes[-1].close_brace < head.start:
            self.scopes.pop()
        enclosing = self.scopes[-1] if self.scopes else None
        depth = text.depth[head.line]
        owner: Scope | None = None  # the scope this head is a direct member of
        nested = False  # inside a body, not a member
        if enclosing is not None:
            if depth == enclosing.depth:
                owner = enclosing
            elif not head.keyword:
                return  # method-shaped, but inside a body: a call or an object literal
            else:
                nested = True
        elif (not head.keyword or self.language.keyword_members) and self._in_section(head):
            owner = self.section
        elif not head.keyword and head.scope is None and not self.language.stands_alone(head):
            return  # method-shaped with no class around it
        elif self.language.blocks_hold_locals:
            nested = depth > 0  # in a block the fragment opens that is no class: a local
        if not head.keyword and head.scope is None and not self.language.member_name(head, owner):
            return
        close: int | None = None
        end, mark = line_end(text, head.line), ""
        if head.open_paren is not None:
            close = close_paren(text, head.open_paren)
            if close is not None:
                end, mark = self.language.signature_end(text, head, close)
                if head.arrow and mark != "=>":
                    return  # `const x = (a + b) * 2`: not a function
                if not head.keyword:
                    between = text.shape[close + 1 : end]
                    if not self.language.plausible(head, between, mark, owner):
                        return
            elif head.arrow and not _ARROW_PARAMS_RE.match(text.shape, head.open_paren + 1):
                return  # `(() => {` or `(a + b`: an expression, not a parameter list
            elif not head.keyword and (owner is None or owner.open_brace < 0):
                return  # a cut `name(a,` outside a visible class body may be a call
        elif head.kind == "class" or head.scope is not None:
            end, mark = find_end(text, head.start, ("{", ";"))
        elif head.kind == "type":
            semicolon = text.shape.find(";", head.start, end)
            end, mark = (semicolon, ";") if semicolon >= 0 else (end, "")
        if head.scope is not None and mark == "{":
            self._open_scope(head, end, owner)
        if head.keyword or head.scope is None:  # `impl` blocks own definitions, are none
            self._emit(head, close, end, mark, owner=owner, nested=nested)

    def _in_section(self, head: Head) -> bool:
        if self.section is None or head.line >= self.section_until:
            return False
        if self.text.depth[head.line] > self.section.depth:
            return False
        return self.text.lines[head.line][:1].isspace()

    def _open_scope(self, head: Head, brace: int, owner: Scope | None) -> None:
        separator = self.language.separator
        parent = owner.name if owner is not None else None
        if head.transparent:
            name = parent
        elif parent and head.scope:
            name = parent + separator + head.scope
        else:
            name = head.scope or None
        opened = self.text.shape[head.start : brace]
        depth = self.text.depth[head.line] + opened.count("{") - opened.count("}") + 1
        public = head.scope_public
        if head.transparent and owner is not None:
            public = owner.public
        self.scopes.append(
            Scope(
                name=name,
                open_brace=brace,
                close_brace=self.closes.get(brace, len(self.text.shape)),
                depth=depth,
                public=public,
                kind=head.kind,
                members_public=head.member_public,
            )
        )

    def _emit(
        self,
        head: Head,
        close: int | None,
        end: int,
        mark: str,
        *,
        owner: Scope | None,
        nested: bool,
    ) -> None:
        text = self.text
        language = self.language
        prefix = head.extension or (owner.name if owner is not None else None)
        name = f"{prefix}{language.separator}{head.name}" if prefix else head.name
        kind = head.kind
        if kind == "function" and owner is not None:
            kind = "method"
        first = self._first_line(head.line)
        params: tuple[Param, ...] | None = None
        if head.open_paren is not None and close is None:
            last = len(text.lines) - 1  # the list runs past the hunk
            end = len(text.code)
        else:
            last = self._last_line(head, close, end, mark)
            if head.open_paren is not None and close is not None:
                inner = slice(head.open_paren + 1, close)
                params = language.params(text.code[inner], text.shape[inner])
            elif head.single_param:
                params = (Param(head.single_param),)
        if kind == "function" and params and params[0].name == "self" and language.self_receiver:
            kind = "method"  # in an `impl` block the hunk does not show
        public = False if nested else self._public(head, owner)
        self.found.append(
            Definition(
                name,
                kind,
                params,
                fold(text.code[head.start : end]),
                public,
                self.side.touches(first, last),
            )
        )

    def _public(self, head: Head, owner: Scope | None) -> bool:
        if owner is None:
            return head.public
        if owner.members_public is not None:  # Rust traits and trait impls, Java interfaces
            return self.language.inherited_public(owner, self.text.lines[head.line])
        return head.public and owner.public

    def _first_line(self, line: int) -> int:
        decorator = self.language.decorator
        first = line
        while first > 0 and decorator.match(self.text.shape_line(first - 1)):
            first -= 1
        return first

    def _last_line(self, head: Head, close: int | None, end: int, mark: str) -> int:
        """The signature's last line: the list's end, or the line before the body's brace."""
        text = self.text
        last = text.line_of(close) if close is not None else head.line
        if mark and text.shape:
            mark_line = text.line_of(min(end, len(text.shape) - 1))
            before = text.shape[text.starts[mark_line] : end]
            last = max(last, mark_line if before.strip() else mark_line - 1)
        elif text.shape:
            last = max(last, text.line_of(min(max(end - 1, 0), len(text.shape) - 1)))
        return max(head.line, min(last, len(text.lines) - 1))


def _section_scope(language: Language, section: str, text: Text) -> tuple[Scope | None, int]:
    """The scope the hunk header names, and the line where the fragment leaves it."""
    found = language.section_scope(section)
    if found is None:
        return None, 0
    name, public, kind = found
    members_public = language.section_members_public(kind, public)
    depth = 0
    if "{" not in mask(section, language.mask)[1]:
        # The header's body brace is in the fragment (after `where` lines, or on a line of
        # its own): the members sit one level deeper.
        brace = text.shape.find("{")
        if brace >= 0 and not re.search(r"[;}]", text.shape[:brace]):
            depth = 1
    until = len(text.lines)
    for index in range(len(text.lines)):
        if text.shape_line(index).startswith("}") and text.depth[index] <= depth:
            until = index
            break
    scope = Scope(name, -1, len(text.shape), depth, public, kind, members_public)
    return scope, until


# -- a parameter list the hunk header opens ------------------------------------------------------

_PARAM_SHAPE_BAD_RE = re.compile(r"&&|\|\||==|!=|[+!%]|\?\.|\w\s*\(\s*[\w.]*\s*\)\s*$")
_LIST_END_RE = re.compile(
    r"\s*(?:$|\{|:|throws\b|where\b|[\w*\[\]<>(). ,&']*\{?\s*$)"  # `->`, `=>` are blanked
)


def _open_list(language: Language, side: Side, section: str) -> Definition | None:
    """The tail of a parameter list whose declaration is only in the hunk header.

    When the list closes in the fragment, the parameters before the `)` are its tail; when
    it does not, a short fragment made only of typed parameters, ending with a comma, is
    taken as its middle. Pieces that read as expressions (operators, calls) reject both."""
    opened = language.open_head(section)
    if opened is None:
        return None
    section_shape = mask(section, language.mask)[1]
    depth = open_depth = section_shape.count("(") - section_shape.count(")")
    if depth <= 0:
        return None
    lines = side.lines[:_OPEN_LIST_LINES]
    code, shape = mask("\n".join(lines), language.mask)
    close = -1
    for position, char in enumerate(shape):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                close = position
                break
        elif char in ";{}":
            return None  # a statement or a body: the hunk does not start in the list
    open_end = close < 0
    if open_end:
        if len(side.lines) > _OPEN_LIST_LINES or depth != open_depth:
            return None
        close = shape.rstrip().rfind(",")
        if close < 0 or shape[close + 1 :].strip():
            return None  # the fragment does not end with a whole parameter
    elif not _LIST_END_RE.match(shape[close + 1 :].split("\n", 1)[0]):
        return None
    shown: list[str] = []
    heads: list[str] = []
    for start, end in split_top_level(shape[:close], language.angles):
        piece_shape = shape[start:end]
        if not piece_shape.strip():
            continue
        heads.append(piece_shape.split("=", 1)[0])
        if _PARAM_SHAPE_BAD_RE.search(heads[-1]):
            return None  # an expression: the tail of a condition or a call, not parameters
        shown.append(fold(code[start:end]))
    if open_end and not (heads and language.typed(heads)):
        return None  # `a, b,` could be any argument list
    params = language.params(code[:close], shape[:close])
    if not params:
        return None
    name, kind, public = opened
    head = section[: _list_start(section_shape)].strip()
    listed = ", ".join(shown)
    return Definition(
        name=name,
        kind=kind,
        params=params,
        signature=fold(f"{head}(…, {listed}, …)" if open_end else f"{head}(…, {listed})"),
        public=public,
        touched=side.touches(0, shape[:close].count("\n")),
        partial=True,
    )


def _list_start(shape: str) -> int:
    """The offset of the first `(` left open in `shape` (the parameter list's)."""
    opened: list[int] = []
    for position, char in enumerate(shape):
        if char == "(":
            opened.append(position)
        elif char == ")" and opened:
            opened.pop()
    return opened[0] if opened else len(shape)
