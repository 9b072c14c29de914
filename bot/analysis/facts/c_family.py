"""The C, C++ and CUDA definition reader: tree-sitter finds what one side of a hunk declares.

A hunk side is a fragment cut anywhere, so before parsing it is mended where that is cheap and
certain: a block comment the fragment starts inside is blanked, and brackets still open at its
end (a parameter list cut in two, a body cut short) are closed on an extra line, which lets
tree-sitter see a declaration whose parameter list runs past the hunk (its params are then
None). Everything else is left to tree-sitter's error recovery, with a few filters for what
it makes of body fragments (`CudaDevice device(dev);` parses as a prototype, `FOO(x) {` as a
definition). Owners come from the classes visible in the fragment, from `Foo::bar`
declarators, and from a class named by the hunk header when the hunk sits inside its body.
A header naming a function whose parameter list it leaves open, over a hunk inside that list,
gives a partial view of the parameters the hunk shows (`Definition.partial`).

CUDA sources (`.cu`, `.cuh`, and C/C++ headers that use CUDA qualifiers) go through the
`tree_sitter_cuda` grammar: with the plain C++ grammar `__global__ void k()` parses as a
variable of type `__global__`.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterator
from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple

from bot.analysis.diff import Side
from bot.analysis.facts.definitions import (
    MAX_DEFAULT_CHARS,
    Definition,
    DefinitionKind,
    Param,
    fold,
)
from bot.analysis.paths import extension

if TYPE_CHECKING:
    from tree_sitter import Node, Parser

log = logging.getLogger(__name__)

CUDA_EXTENSIONS = frozenset({".cu", ".cuh"})
CPP_EXTENSIONS = frozenset(
    {".c", ".cc", ".cpp", ".cxx", ".h", ".hh", ".hpp", ".hxx", ".inl", ".ipp"}
)
EXTENSIONS = CUDA_EXTENSIONS | CPP_EXTENSIONS

MAX_SIDE_BYTES = 400_000  # a bigger side (a vendored import) is skipped, not parsed
_MAX_NODES = 200_000  # walk budget per side

_PRIVATE_NAMESPACES = frozenset({"detail", "internal"})
_CLASS_TYPES = frozenset({"class_specifier", "struct_specifier", "union_specifier"})
_RECORD_TYPES = _CLASS_TYPES | {"enum_specifier"}
_DECLARATION_TYPES = frozenset({"function_definition", "declaration", "field_declaration"})
# nodes whose children are top-level items again
_CONTAINERS = frozenset(
    {
        "translation_unit",
        "ERROR",
        "declaration_list",
        "preproc_if",
        "preproc_ifdef",
        "preproc_else",
        "preproc_elif",
        "preproc_elifdef",
        "export_declaration",
    }
)
_WRAPPING_DECLARATORS = frozenset(
    {"pointer_declarator", "reference_declarator", "attributed_declarator"}
)
_FUNCTION_NAMES = frozenset(
    {
        "identifier",
        "field_identifier",
        "qualified_identifier",
        "destructor_name",
        "operator_name",
        "template_function",
        "template_method",
    }
)
_PARAM_DECLARATORS = frozenset(
    {
        "identifier",
        "field_identifier",
        "pointer_declarator",
        "reference_declarator",
        "array_declarator",
        "function_declarator",
        "parenthesized_declarator",
        "variadic_declarator",
        "attributed_declarator",
    }
)
# declarators whose inner declarator is a plain child, not a `declarator` field
_UNFIELDED_DECLARATORS = frozenset(
    {"variadic_declarator", "parenthesized_declarator", "reference_declarator"}
)
_SPECIFIERS = frozenset(
    {
        "storage_class_specifier",
        "type_qualifier",
        "virtual",
        "attribute_specifier",
        "attribute_declaration",
        "ms_declspec_modifier",
        "__global__",
        "__device__",
        "__host__",
        "__forceinline__",
        "__noinline__",
        "launch_bounds",
    }
)

_CUDA_HINT_RE = re.compile(r"__(?:global|device|host|forceinline|shared|constant)__|<<<")
_TOKEN_RE = re.compile(
    r"//[^\n]*"
    r"|/\*.*?(?:\*/|\Z)"
    r"|\"(?:\\.|[^\"\\\n])*\"?"
    r"|(?<![0-9A-Za-z_])'(?:\\.|[^'\\\n])*'?"
    r"|^[ \t]*\#(?:\\\n|[^\n])*"
    r"|[()\[\]{}]",
    re.DOTALL | re.MULTILINE,
)
_LIST_TOKEN_RE = re.compile(
    r"//[^\n]*|/\*.*?(?:\*/|\Z)|\"(?:\\.|[^\"\\\n])*\"?|^[ \t]*\#[^\n]*|[();,{}]",
    re.DOTALL | re.MULTILINE,
)
_MAX_OPEN_LIST_LINES = 40
_LIST_PUNCTUATION = frozenset({"(", ")", ",", "{", "}"})
_OPENERS = {"(": ")", "[": "]", "{": "}"}
_CLOSERS = {")": "(", "]": "[", "}": "{"}
_SEMICOLON_RE = re.compile(r"[ \t]*;")
_TEMPLATE_ARGS_RE = re.compile(r"<[^<>]*>")
# `dev`, `kSize`, `BLOCK_THREADS` in `dim3 block(BLOCK_THREADS);`: values, not parameter types
_VALUE_LIKE_RE = re.compile(r"[a-z][A-Za-z0-9_]*|[A-Z][A-Z0-9]*_[A-Z0-9_]*")
_KEYWORDS = frozenset(
    {
        "if",
        "for",
        "while",
        "switch",
        "return",
        "sizeof",
        "alignof",
        "decltype",
        "catch",
        "static_assert",
        "typeid",
        "new",
        "delete",
        "throw",
        "case",
        "do",
        "else",
        "goto",
        "co_return",
        "co_await",
        "co_yield",
        "noexcept",
        "requires",
        "defined",
    }
)
_MACRO_NAME_RE = re.compile(r"[A-Z][A-Z0-9_]*")
_SECTION_CLASS_RE = re.compile(r"\s*(?:template\s*<.*>\s*)?(?:class|struct|union)\b(?P<rest>.*)")
_SECTION_ATTRIBUTE_RE = re.compile(
    r"\[\[.*?\]\]|\b(?:alignas|__align__|__declspec|__attribute__)\s*\((?:[^()]|\([^()]*\))*\)"
)
_SECTION_NAMESPACE_RE = re.compile(r"\s*(?:inline\s+)?namespace\b\s*(?P<name>[\w:]*)\s*\{")
_IDENTIFIER_RE = re.compile(r"[A-Za-z_]\w*(?:::[A-Za-z_]\w*)*")


class _Context(NamedTuple):
    owner: tuple[str, ...] = ()  # enclosing classes visible in the fragment
    in_class: bool = False
    private_namespace: bool = False
    access_public: bool = True  # the member access in force (public for non-members)


class _Section(NamedTuple):
    """What the hunk header says about the code around the fragment."""

    owner: str | None  # a class the hunk sits inside
    owner_until: int  # line index where that class's body closes (`};` at depth -1)
    private_namespace: bool  # an anonymous, detail or internal namespace encloses the hunk
    namespace_until: int


class _Source(NamedTuple):
    data: bytes
    cut: int  # bytes past this offset were appended to close open brackets
    lines: int
    unmatched_closers: tuple[tuple[int, bool], ...]  # (line, followed by `;`) of stray `}`


def read_definitions(side: Side, section: str, path: str) -> list[Definition]:
    """The functions, methods, kernels and classes declared on one side of a hunk."""
    if not side.lines:
        return []
    text = side.text
    if len(text) > MAX_SIDE_BYTES:
        return []
    cuda = extension(path) in CUDA_EXTENSIONS or _CUDA_HINT_RE.search(text) is not None
    parser = _parser(cuda)
    if parser is None:
        return []
    source = _prepare(text)
    if source.cut > MAX_SIDE_BYTES:
        return []
    with _parse_lock(cuda):
        tree = parser.parse(source.data)
    reader = _Reader(side, source, _read_section(section, source))
    reader.walk(tree.root_node)
    partial = _open_list(side, section, cuda, parser)
    return [*partial, *reader.found]


def _open_list(side: Side, section: str, cuda: bool, parser: Parser) -> list[Definition]:
    """The tail of a parameter list whose declaration is only in the hunk header.

    Git names the enclosing function after `@@`; when that line leaves its parameter list
    open (`static void set_params(Params& params,`), the hunk may start inside the list. Then
    the header line and the fragment up to the closing parenthesis are parsed together, and
    the parameters the hunk shows are reported as a partial view. A short hunk may show only
    the middle of the list: then every line of it must be parameters, ending with a comma."""
    head = _strip_comments(section)
    if head.lstrip().startswith("#") or head.count("(") <= head.count(")"):
        return []
    depth = open_depth = head.count("(") - head.count(")")
    text = "\n".join(side.lines[:_MAX_OPEN_LIST_LINES])
    closing = ""
    end = -1
    last: tuple[str, int, int] = ("", 0, 0)  # the last token, its offset and depth
    for match in _LIST_TOKEN_RE.finditer(text):
        token = match.group()
        if token == ";":
            return []  # a statement: the hunk starts in the body, not in the list
        if token == "(":
            depth += 1
        elif token == ")":
            depth -= 1
            if depth == 0:
                end = match.end()
                break
        if token in _LIST_PUNCTUATION:
            last = (token, match.start(), depth)
    if end >= 0 and _leaves_block(text, end):
        return []  # `x, y);` then `}`: the tail of a call in the body, not of the list
    if end < 0:  # the list runs on past the hunk: only a run of whole parameters is taken
        token, offset, at_depth = last
        if len(side.lines) > _MAX_OPEN_LIST_LINES or token != "," or at_depth != open_depth:
            return []
        if "{" in text or "}" in text or _strip_comments(text[offset + 1 :]).strip():
            return []
        end, closing = offset, ")"
    combined = section + "\n" + text[:end] + closing
    source = _prepare(combined + "\n;")
    with _parse_lock(cuda):
        tree = parser.parse(source.data)
    lines = combined.split("\n")
    shifted = Side(lines, {index + 1 for index in side.changed if index + 1 < len(lines)})
    reader = _Reader(shifted, source, _Section(None, 0, False, 0), partial=True)
    reader.open_end = bool(closing)
    reader.walk(tree.root_node)
    return reader.found[:1]


def _leaves_block(text: str, start: int) -> bool:
    """Does a `}` after `start` close a statement block opened before the fragment?

    An indented `}` does; a `}` in column 0 closes a namespace or `extern "C"`, and `};` a
    class, either of which may hold prototypes."""
    depth = 0
    for match in _LIST_TOKEN_RE.finditer(text, start):
        token = match.group()
        if token == "{":
            depth += 1
        elif token == "}":
            depth -= 1
            if depth < 0:
                column = match.start() - (text.rfind("\n", 0, match.start()) + 1)
                return column > 0 and _SEMICOLON_RE.match(text, match.end()) is None
    return False


@lru_cache(maxsize=1)
def _tree_sitter_missing() -> None:
    log.info("tree-sitter is not installed: C, C++ and CUDA definitions are not read")


@lru_cache(maxsize=2)
def _parser(cuda: bool) -> Parser | None:
    """The one parser per grammar, built on first use."""
    try:
        from tree_sitter import Language, Parser

        if cuda:
            import tree_sitter_cuda

            language = tree_sitter_cuda.language()
        else:
            import tree_sitter_cpp

            language = tree_sitter_cpp.language()
    except ImportError:
        _tree_sitter_missing()
        return None
    return Parser(Language(language))


@lru_cache(maxsize=2)
def _parse_lock(cuda: bool) -> threading.Lock:
    """A tree-sitter parser is not safe to use from two threads at once."""
    return threading.Lock()


def _prepare(text: str) -> _Source:
    """The fragment as bytes, with a leading comment tail blanked and open brackets closed."""
    start = 0
    close, open_ = text.find("*/"), text.find("/*")
    if close >= 0 and (open_ < 0 or close < open_):  # the fragment starts inside a comment
        start = close + 2
        text = re.sub(r"[^\n]", " ", text[:start]) + text[start:]
    stack: list[str] = []
    open_count = dict.fromkeys(_OPENERS, 0)
    unmatched: list[tuple[int, bool]] = []
    line, counted = 0, 0
    open_comment = False
    for match in _TOKEN_RE.finditer(text, start):
        token = match.group()
        if token in _OPENERS:
            stack.append(token)
            open_count[token] += 1
        elif token in _CLOSERS:
            opener = _CLOSERS[token]
            if open_count[opener]:
                while True:  # a mismatched closer drops what it skips over
                    popped = stack.pop()
                    open_count[popped] -= 1
                    if popped == opener:
                        break
            elif token == "}":
                line += text.count("\n", counted, match.start())
                counted = match.start()
                followed = _SEMICOLON_RE.match(text, match.end()) is not None
                unmatched.append((line, followed))
        elif token.startswith("/*"):
            open_comment = len(token) < 4 or not token.endswith("*/")
    # An unterminated block comment makes tree-sitter's comment scanning quadratic.
    suffix = ["*/"] if open_comment else []
    for depth in range(len(stack) - 1, -1, -1):
        suffix.append(_OPENERS[stack[depth]])
        if stack[depth] == "(" and (depth == 0 or stack[depth - 1] == "{"):
            suffix.append(";")
    data = text.encode("utf-8", "replace")
    mended = data + b"\n" + "".join(suffix).encode() if suffix else data
    return _Source(mended, len(data), text.count("\n") + 1, tuple(unmatched))


def _read_section(section: str, source: _Source) -> _Section:
    """The class or private namespace the hunk header names, and where the fragment leaves it."""
    owner: str | None = None
    owner_until = namespace_until = source.lines
    private = False
    head = _SECTION_CLASS_RE.match(section)
    if head:
        owner = _section_class_name(head.group("rest"))
        for line, followed_by_semicolon in source.unmatched_closers:
            if followed_by_semicolon:
                owner_until = line
                break
    namespace = _SECTION_NAMESPACE_RE.match(section)
    if namespace:
        parts = namespace.group("name").split("::")
        private = parts == [""] or any(part in _PRIVATE_NAMESPACES for part in parts)
        if source.unmatched_closers:
            namespace_until = source.unmatched_closers[0][0]
    return _Section(owner, owner_until, private, namespace_until)


def _section_class_name(rest: str) -> str | None:
    """`Foo` from the rest of `class FOO_API Foo<T> final : public Bar {`, None if no class."""
    rest = _SECTION_ATTRIBUTE_RE.sub(" ", rest).split("{", 1)[0]
    if ";" in rest or "(" in rest or "=" in rest:
        return None  # a forward declaration, a variable or a function returning a struct
    rest = re.split(r"(?<!:):(?!:)", rest, maxsplit=1)[0]
    rest = _strip_template_args(rest)
    words = [word for word in rest.split() if word != "final"]
    if not words or not _IDENTIFIER_RE.fullmatch(words[-1]):
        return None
    return words[-1]


def _strip_template_args(text: str) -> str:
    for _ in range(8):
        stripped = _TEMPLATE_ARGS_RE.sub("", text)
        if stripped == text:
            break
        text = stripped
    return text


class _Reader:
    """One walk over one parsed side, collecting definitions."""

    def __init__(
        self, side: Side, source: _Source, section: _Section, partial: bool = False
    ) -> None:
        self.side = side
        self.partial = partial  # reading `header line + parameter-list tail` (see _open_list)
        self.open_end = False  # ... and the list runs on past the hunk
        self.source = source
        self.section = section
        self.found: list[Definition] = []
        self.budget = _MAX_NODES

    # -- the walk -------------------------------------------------------------------------

    def walk(self, root: Node) -> None:
        stack: list[tuple[Node, _Context]] = [(root, _Context())]
        while stack and self.budget > 0:
            node, context = stack.pop()
            self.budget -= 1
            pending = list(self._visit(node, context))
            stack.extend(reversed(pending))

    def _visit(self, node: Node, context: _Context) -> Iterator[tuple[Node, _Context]]:
        kind = node.type
        if kind in _CONTAINERS:
            for child in node.named_children:
                yield child, context
        elif kind == "namespace_definition":
            body = node.child_by_field_name("body")
            if body is not None:
                yield (
                    body,
                    context._replace(
                        private_namespace=context.private_namespace or _is_private_namespace(node)
                    ),
                )
        elif kind == "linkage_specification":
            body = node.child_by_field_name("body")
            if body is not None:
                yield body, context
        elif kind == "field_declaration_list":
            yield from self._members(node, context)
        elif kind == "template_declaration":
            yield from self._declaration(_unwrap_template(node), node, context)
        elif kind in _DECLARATION_TYPES or kind in _RECORD_TYPES:
            yield from self._declaration(node, node, context)

    def _members(self, body: Node, context: _Context) -> Iterator[tuple[Node, _Context]]:
        access = context.access_public
        for child in body.named_children:
            if child.type == "access_specifier":
                access = self._text(child).strip() == "public"
            else:
                yield child, context._replace(access_public=access)

    def _declaration(
        self, node: Node | None, start: Node, context: _Context
    ) -> Iterator[tuple[Node, _Context]]:
        if node is None:
            return
        if node.type in _RECORD_TYPES:
            yield from self._record(node, start, context)
            return
        if node.type not in _DECLARATION_TYPES:
            return
        record = node.child_by_field_name("type")
        if record is not None and record.type in _RECORD_TYPES:
            wrapped = start.type == "template_declaration"
            yield from self._record(record, start if wrapped else record, context)
        declarator = node.child_by_field_name("declarator")
        if declarator is not None:  # `int a, f(int);` is rare; macro-mangled lines are not
            self._function(node, declarator, start, context)

    # -- classes --------------------------------------------------------------------------

    def _record(
        self, node: Node, start: Node, context: _Context
    ) -> Iterator[tuple[Node, _Context]]:
        name_node = node.child_by_field_name("name")
        body = node.child_by_field_name("body")
        if name_node is None or body is None:
            return
        name = _strip_template_args(fold(self._text(name_node))).replace(" ", "")
        owner = self._owner(start, context)
        qualified = "::".join((*owner, name))
        first = start.start_point.row
        last = body.start_point.row
        if not self._text_between(self._line_start(body.start_byte), body.start_byte).strip():
            last -= 1
        last = self._clamp(max(first, last))
        signature = self._signature(start, body.start_byte) or qualified
        public = self._public(name, context, start)
        self.found.append(
            Definition(qualified, "class", None, signature, public, self.side.touches(first, last))
        )
        if node.type in _CLASS_TYPES:
            yield (
                body,
                _Context(
                    owner=(*owner, name),
                    in_class=True,
                    private_namespace=context.private_namespace or self._section_private(start),
                    access_public=node.type != "class_specifier",
                ),
            )

    # -- functions ------------------------------------------------------------------------

    def _function(self, node: Node, declarator: Node, start: Node, context: _Context) -> None:
        outer = declarator
        for _ in range(16):
            if declarator.type not in _WRAPPING_DECLARATORS:
                break
            inner = declarator.child_by_field_name("declarator")
            if inner is None:
                return
            declarator = inner
        if declarator.type == "operator_cast":
            cast_type = declarator.child_by_field_name("type")
            name = "operator " + (fold(self._text(cast_type)) if cast_type else "")
            params_node = _field_path(declarator, "declarator", "parameters")
            member_by_syntax = True  # a conversion operator: a member, with no return type
        elif declarator.type == "function_declarator":
            name_node = declarator.child_by_field_name("declarator")
            if name_node is None or name_node.type not in _FUNCTION_NAMES:
                return  # a function-pointer variable, or recovery junk
            name = _strip_template_args(fold(self._text(name_node))).replace(" ", "")
            name = name.replace("operator", "operator ", 1) if _is_cast_name(name) else name
            params_node = declarator.child_by_field_name("parameters")
            member_by_syntax = name_node.type == "qualified_identifier"
        else:
            return
        if not name or name.endswith("::"):
            return
        owner = self._owner(start, context)
        base = name.rsplit("::", 1)[-1]
        typeless = node.child_by_field_name("type") is None
        if typeless and not member_by_syntax and not _is_constructor(base, owner):
            return  # `FOO(x);` or `TEST(a, b) {`: a macro call, not a declaration
        if (_MACRO_NAME_RE.fullmatch(base) and len(base) > 1) or base in _KEYWORDS:
            return
        if node.type == "declaration" and _looks_like_construction(node, params_node, self):
            return
        kind: DefinitionKind = "function"
        if any(child.type == "__global__" for child in node.children):
            kind = "kernel"
        elif owner or member_by_syntax:
            kind = "method"
        first = start.start_point.row
        last = self._clamp(max(first, outer.end_point.row))
        static = any(
            child.type == "storage_class_specifier" and self._text(child).strip() == "static"
            for child in node.children
        )
        public = self._public(base, context, start) and not (static and not owner)
        qualified = "::".join((*owner, name))
        if self.partial:
            if first == 0 and params_node is not None:
                self._partial(qualified, kind, start, params_node, public=public, last=last)
            return
        self.found.append(
            Definition(
                qualified,
                kind,
                self._params(params_node),
                self._signature(start, outer.end_byte) or qualified,
                public,
                self.side.touches(first, last),
            )
        )

    def _partial(
        self,
        name: str,
        kind: DefinitionKind,
        start: Node,
        params: Node,
        *,
        public: bool,
        last: int,
    ) -> None:
        """The parameters a hunk shows of a list opened on its header line (row 0 here)."""
        entries = self._param_entries(params)
        if entries is None or params.has_error:
            return
        visible = [(node, param) for node, param in entries if node.start_point.row > 0]
        if not visible:
            return
        for node, _ in visible:
            if node.type == "parameter_declaration" and _value_like_parameter(node, self):
                return  # `b) {`: the tail of a condition in the body, not of a parameter list
        head = _strip_comments(self._text_between(start.start_byte, params.start_byte))
        shown = ", ".join(_strip_comments(self._text(node)) for node, _ in visible)
        self.found.append(
            Definition(
                name,
                kind,
                tuple(param for _, param in visible),
                fold(f"{head}(…, {shown}, …)" if self.open_end else f"{head}(…, {shown})"),
                public,
                self.side.touches(0, last),
                partial=True,
            )
        )

    def _params(self, node: Node | None) -> tuple[Param, ...] | None:
        entries = self._param_entries(node)
        if entries is None:
            return None
        params = tuple(param for _, param in entries)
        return () if params == (Param("void"),) else params

    def _param_entries(self, node: Node | None) -> list[tuple[Node, Param]] | None:
        """Each parameter with its node; None when the list is cut or did not parse."""
        if node is None or node.end_byte > self.source.cut:
            return None
        children = node.children
        if not children or children[-1].type != ")" or children[-1].is_missing:
            return None
        entries: list[tuple[Node, Param]] = []
        for child in children:
            kind = child.type
            if kind in ("(", ")", ",", "comment"):
                continue
            if kind == "...":
                entries.append((child, Param("...")))
            elif kind == "parameter_declaration":
                name, annotation = self._param(child)
                entries.append((child, Param(name, None, annotation)))
            elif kind == "optional_parameter_declaration":
                default = child.child_by_field_name("default_value")
                value = fold(self._text(default), MAX_DEFAULT_CHARS) if default else None
                name, annotation = self._param(child, default)
                entries.append((child, Param(name, value, annotation)))
            elif kind == "variadic_parameter_declaration":
                name, annotation = self._param(child)
                entries.append((child, Param("..." + name, None, annotation)))
            else:
                return None  # stray tokens: the list did not parse as parameters
        if any(not param.name for _, param in entries):
            return None  # a zero-width (missing) parameter
        return entries

    def _param(self, node: Node, default: Node | None = None) -> tuple[str, str | None]:
        """A parameter's name and its type (the declaration without the name); an unnamed
        parameter is named by its type."""
        end = default.start_byte if default is not None else node.end_byte
        declarator = node.child_by_field_name("declarator")
        for _ in range(16):
            if declarator is None:
                break
            if declarator.type in ("identifier", "field_identifier"):
                before = self._text_between(node.start_byte, declarator.start_byte)
                after = self._text_between(declarator.end_byte, end).rstrip().rstrip("=")
                annotation = fold(_strip_comments(before + after), MAX_DEFAULT_CHARS)
                return self._text(declarator), annotation or None
            nxt = declarator.child_by_field_name("declarator")
            if nxt is None and declarator.type in _UNFIELDED_DECLARATORS:
                nxt = next(
                    (c for c in declarator.named_children if c.type in _PARAM_DECLARATORS), None
                )
            declarator = nxt  # an abstract declarator (`int[4]`, `T&`) ends the chain unnamed
        text = self._text_between(node.start_byte, end).rstrip().rstrip("=")
        return fold(_strip_comments(text), MAX_DEFAULT_CHARS), None

    # -- shared helpers -------------------------------------------------------------------

    def _owner(self, start: Node, context: _Context) -> tuple[str, ...]:
        if context.in_class:
            return context.owner
        section = self.section
        row = start.start_point.row
        if section.owner is None or row >= section.owner_until:
            return context.owner
        line = self.side.lines[row] if row < len(self.side.lines) else ""
        if not line[:1].isspace():
            return context.owner  # a column-0 declaration is past the class's members
        return (section.owner, *context.owner)

    def _section_private(self, start: Node) -> bool:
        section = self.section
        return section.private_namespace and start.start_point.row < section.namespace_until

    def _public(self, name: str, context: _Context, start: Node) -> bool:
        if name.startswith("_") or name.startswith("~_"):
            return False
        if context.private_namespace or self._section_private(start):
            return False
        return context.access_public

    def _signature(self, start: Node, end: int) -> str:
        end = min(end, self.source.cut)
        begin = start.start_byte
        if end <= begin:
            return ""
        pieces: list[str] = []
        cursor = begin
        for comment in self._comments(start, end):
            pieces.append(self._text_between(cursor, comment.start_byte))
            pieces.append(" ")
            cursor = max(cursor, comment.end_byte)
        pieces.append(self._text_between(cursor, end))
        return fold("".join(pieces))

    def _comments(self, start: Node, end: int) -> list[Node]:
        found: list[Node] = []
        stack = [start]
        budget = 2_000
        while stack and budget > 0:
            budget -= 1
            node = stack.pop()
            if node.start_byte >= end:
                continue
            if node.type == "comment":
                found.append(node)
            else:
                stack.extend(node.children)
        found.sort(key=lambda comment: comment.start_byte)
        return found

    def _text(self, node: Node) -> str:
        return self._text_between(node.start_byte, node.end_byte)

    def _text_between(self, begin: int, end: int) -> str:
        return self.source.data[begin:end].decode("utf-8", "replace")

    def _line_start(self, offset: int) -> int:
        return self.source.data.rfind(b"\n", 0, offset) + 1

    def _clamp(self, row: int) -> int:
        return min(row, max(len(self.side.lines) - 1, 0))


def _unwrap_template(node: Node) -> Node | None:
    """The declaration inside (possibly nested) `template <...>` wrappers."""
    for _ in range(8):
        inner = next(
            (
                child
                for child in node.named_children
                if child.type in _DECLARATION_TYPES
                or child.type in _RECORD_TYPES
                or child.type == "template_declaration"
            ),
            None,
        )
        if inner is None or inner.type != "template_declaration":
            return inner
        node = inner
    return None


def _field_path(node: Node, *fields: str) -> Node | None:
    current: Node | None = node
    for name in fields:
        if current is None:
            return None
        current = current.child_by_field_name(name)
    return current


def _is_private_namespace(node: Node) -> bool:
    name = node.child_by_field_name("name")
    if name is None:
        return True
    text = (name.text or b"").decode("utf-8", "replace")
    return any(part.strip() in _PRIVATE_NAMESPACES for part in text.split("::"))


def _is_constructor(name: str, owner: tuple[str, ...]) -> bool:
    return bool(owner) and name.lstrip("~") == owner[-1].rsplit("::", 1)[-1]


def _is_cast_name(name: str) -> bool:
    return name.startswith("operator") and name[8:9].isalpha()


def _looks_like_construction(node: Node, params: Node | None, reader: _Reader) -> bool:
    """`CudaDevice device(dev);` in a body: C++'s most vexing parse, a variable, not a prototype."""
    if params is None:
        return False
    type_node = node.child_by_field_name("type")
    if type_node is None or type_node.type == "primitive_type":
        return False
    if any(child.type in _SPECIFIERS for child in node.children):
        return False
    declared = [c for c in params.named_children if c.type != "comment"]
    if not declared:
        return False
    for param in declared:
        if param.type != "parameter_declaration":
            return False
        if param.child_by_field_name("declarator") is not None:
            return False
        param_type = param.child_by_field_name("type")
        if param_type is None or param_type.type != "type_identifier":
            return False
    return any(_value_like_parameter(param, reader) for param in declared)


def _value_like_parameter(param: Node, reader: _Reader) -> bool:
    """An unnamed parameter whose "type" reads like a value: `n` or `BLOCK_THREADS`."""
    if param.child_by_field_name("declarator") is not None:
        return False
    param_type = param.child_by_field_name("type")
    if param_type is None or param_type.type != "type_identifier":
        return False
    text = reader._text(param_type)
    return _VALUE_LIKE_RE.fullmatch(text) is not None and not text.endswith("_t")


def _strip_comments(text: str) -> str:
    return re.sub(r"//[^\n]*|/\*.*?(?:\*/|\Z)", " ", text, flags=re.DOTALL)
