"""Python facts from one side of a hunk: definitions, exports, CLI flags and config fields.

Signatures, imports, `__all__` lists and `add_argument(...)` calls are cut out of the fragment
as whole statements and parsed with `ast` (a fragment as a whole rarely parses). What cannot
be parsed is still reported by name, without parameters.
"""

from __future__ import annotations

import ast
import re
import textwrap
import threading
from dataclasses import dataclass
from typing import Any, Literal

from bot.analysis.diff import Side
from bot.analysis.facts.definitions import (
    MAX_DEFAULT_CHARS,
    Definition,
    DefinitionKind,
    Param,
    fold,
)

EXTENSIONS = frozenset({".py", ".pyi"})
MAX_STATEMENT_LINES = 40  # a signature or call spanning more lines than this is not parsed
MAX_SIDE_CHARS = 400_000

_DEF_RE = re.compile(r"^(?P<indent>\s*)(?:async\s+)?def\s+(?P<name>[A-Za-z_]\w*)\s*\(")
_CLASS_RE = re.compile(r"^(?P<indent>\s*)class\s+(?P<name>[A-Za-z_]\w*)\s*[(:]")
_DECORATOR_RE = re.compile(r"^\s*@")
_SECTION_RE = re.compile(
    r"^(?P<indent>\s*)(?:async\s+)?(?P<kind>def|class)\s+(?P<name>[A-Za-z_]\w*)"
)
_ARGUMENT_CALL_RE = re.compile(r"\b(?:add_argument|option|argument)\s*\(")
_FIELD_RE = re.compile(
    r"^(?P<indent>\s+)(?P<name>[A-Za-z_]\w*)\s*:\s*(?P<type>[^=#\n]+?)\s*=\s*(?P<value>[^#\n]+?)\s*(?:#.*)?$"
)

# CPython 3.11's AST constructor keeps its recursion depth in shared state: two threads
# parsing at once (commits are fetched and read in worker threads) can raise "SystemError:
# AST constructor recursion depth mismatch" (https://github.com/python/cpython/issues/106905).
_AST_LOCK = threading.Lock()


def _parse(source: str, mode: Literal["exec", "eval"] = "exec") -> Any:
    """`ast.parse`, one thread at a time (a Module, or an Expression for mode "eval")."""
    with _AST_LOCK:
        return ast.parse(source, mode=mode)


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _statement_end(lines: list[str], start: int) -> int | None:
    """The index of the line closing the statement opened at `start` (brackets balanced)."""
    depth = 0
    quote: str | None = None
    for index in range(start, min(len(lines), start + MAX_STATEMENT_LINES)):
        line = lines[index]
        position = 0
        while position < len(line):
            char = line[position]
            if quote:
                if char == "\\":
                    position += 1
                elif line.startswith(quote, position):
                    position += len(quote) - 1
                    quote = None
            elif char == "#":
                break
            elif char in "\"'":
                triple = line[position : position + 3]
                quote = triple if triple in ('"""', "'''") else char
                position += len(quote) - 1
            elif char in "([{":
                depth += 1
            elif char in ")]}":
                depth -= 1
            position += 1
        if depth <= 0 and quote is None and index >= start:
            return index
    return None


def _default_text(node: ast.expr | None) -> str | None:
    if node is None:
        return None
    try:
        return fold(ast.unparse(node), MAX_DEFAULT_CHARS)
    except (ValueError, TypeError, RecursionError):
        return None


def _param(arg: ast.arg, default: ast.expr | None, prefix: str = "") -> Param:
    return Param(prefix + arg.arg, _default_text(default), _default_text(arg.annotation))


def _params(args: ast.arguments) -> tuple[Param, ...]:
    positional = [*args.posonlyargs, *args.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
    defaults.extend(args.defaults)
    out = [_param(arg, default) for arg, default in zip(positional, defaults, strict=True)]
    if args.vararg is not None:
        out.append(_param(args.vararg, None, "*"))
    out.extend(
        _param(arg, default) for arg, default in zip(args.kwonlyargs, args.kw_defaults, strict=True)
    )
    if args.kwarg is not None:
        out.append(_param(args.kwarg, None, "**"))
    return tuple(out)


def _parse_def(text: str) -> ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | None:
    body = textwrap.dedent(text).rstrip()
    try:
        module = _parse(body + "\n    ...\n")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    node = module.body[0] if module.body else None
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return node
    return None


@dataclass(frozen=True)
class _Owner:
    name: str
    indent: int
    kind: str  # "class" | "def"


def _section_owner(section: str) -> _Owner | None:
    match = _SECTION_RE.match(section)
    if not match:
        return None
    return _Owner(match.group("name"), _indent(match.group("indent")), match.group("kind"))


def _is_public(name: str, owners: list[_Owner]) -> bool:
    if any(owner.kind == "def" for owner in owners):
        return False  # a nested function is nobody's API
    if any(owner.name.startswith("_") for owner in owners):
        return False
    if name in ("__init__", "__call__", "__new__"):
        return bool(owners)  # a public class's constructor and call are its API
    return not name.startswith("_")


_OPEN_DEF_RE = re.compile(
    r"^(?P<indent>\s*)(?:async\s+)?def\s+(?P<name>[A-Za-z_]\w*)\s*\((?P<rest>[^)]*)$"
)
_SIGNATURE_CLOSE_RE = re.compile(r"^\s*(?:[^()#]*?)\)\s*(?:->\s*[^:#]+)?:\s*(?:#.*)?$")
_PARAM_LINE_RE = re.compile(
    r"^\s*(?P<name>\*{0,2}[A-Za-z_]\w*)\s*(?::\s*(?P<type>[^=#]+?))?\s*(?:=\s*(?P<default>[^#]+?))?"
    r"\s*,?\s*(?:#.*)?$"
)


def _open_signature(side: Side, section: str) -> Definition | None:
    """The visible part of a parameter list whose `def` line is only in the hunk header.

    Git names the enclosing definition after `@@`; when that is a `def name(` with its list
    still open, the hunk's first lines are parameters, up to the line closing the signature
    or the end of the hunk (both sides of a hunk show the same stretch, so they compare)."""
    match = _OPEN_DEF_RE.match(section)
    if not match:
        return None
    params: list[Param] = []
    def_indent = len(match.group("indent"))
    name = match.group("name")
    last = -1
    closed = False
    listed = True  # every parameter line ends with a comma, as a multi-line list does
    for index, line in enumerate(side.lines[:MAX_STATEMENT_LINES]):
        if _DEF_RE.match(line) or _CLASS_RE.match(line):
            return None
        if _SIGNATURE_CLOSE_RE.match(line) and _indent(line) == def_indent:
            head = line.split(")", 1)[0]
            if head.strip():
                params.extend(p for p in map(_param_line, head.split(",")) if p is not None)
            last, closed = index, True
            break
        if _indent(line) <= def_indent and line.strip():
            return None  # left the parameter list without closing it: not a signature
        param = _param_line(line)
        if param is not None:
            params.append(param)
            listed = listed and line.split("#", 1)[0].rstrip().endswith(",")
        last = index
    # Without the closing line the hunk may sit in the body, where call arguments look like
    # parameters: only a comma-separated list with type annotations is taken as a signature.
    if not params or (not closed and not (listed and any(p.annotation for p in params))):
        return None
    return Definition(
        name=name,
        kind="method" if def_indent else "function",
        params=tuple(params),
        signature=fold(f"def {name}(…, " + ", ".join(map(_show, params)) + ", …)"),
        public=not name.startswith("_"),
        touched=side.touches(0, last),
        partial=True,
    )


def _param_line(text: str) -> Param | None:
    match = _PARAM_LINE_RE.match(text)
    if not match:
        return None
    default = match.group("default")
    annotation = match.group("type")
    return Param(
        match.group("name"),
        fold(default.rstrip(","), MAX_DEFAULT_CHARS) if default else None,
        fold(annotation.strip(), MAX_DEFAULT_CHARS) if annotation and annotation.strip() else None,
    )


def _show(param: Param) -> str:
    return f"{param.name}={param.default}" if param.default else param.name


def read_definitions(side: Side, section: str, path: str) -> list[Definition]:
    """Functions, methods and classes `side` shows, signatures parsed with `ast`."""
    lines = side.lines
    if sum(len(line) for line in lines) > MAX_SIDE_CHARS:
        return []
    stack: list[_Owner] = []
    hint = _section_owner(section)
    found: list[Definition] = []
    partial = _open_signature(side, section)
    if partial is not None:
        found.append(partial)
    for index, line in enumerate(lines):
        match = _DEF_RE.match(line) or _CLASS_RE.match(line)
        if not match:
            continue
        indent = _indent(line)
        while stack and stack[-1].indent >= indent:
            stack.pop()
        owners = list(stack)
        if not owners and indent > 0 and hint is not None and hint.indent < indent:
            owners = [hint]
        first = index
        while (
            first > 0
            and _DECORATOR_RE.match(lines[first - 1])
            and _indent(lines[first - 1]) == indent
        ):
            first -= 1
        end = _statement_end(lines, index)
        name = match.group("name")
        is_class = match.re is _CLASS_RE
        kind: DefinitionKind = (
            "class"
            if is_class
            else ("method" if owners and owners[-1].kind == "class" else "function")
        )
        params: tuple[Param, ...] | None = None
        signature = fold(line.strip().rstrip(":"))
        if end is not None:
            node = _parse_def("\n".join(lines[index : end + 1]))
            if node is not None:
                signature = fold(" ".join(lines[index : end + 1]).strip().rstrip(":"))
                if not is_class and isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    params = _params(node.args)
        qualified = ".".join([*(o.name for o in owners if o.kind == "class"), name])
        found.append(
            Definition(
                name=qualified,
                kind=kind,
                params=params,
                signature=signature,
                public=_is_public(name, owners),
                touched=side.touches(first, end if end is not None else index),
            )
        )
        stack.append(_Owner(name, indent, "class" if is_class else "def"))
    return found


# --- exports ------------------------------------------------------------------------------------

_IMPORT_START_RE = re.compile(r"^\s*(?:from\s+[\w.]+\s+import\b|import\s+[\w.])")
_ALL_START_RE = re.compile(r"^\s*__all__\s*(?:\+?=|:\s*[\w\[\], ]+=)")
_NAME_RE = re.compile(r"[A-Za-z_]\w*")
_QUOTED_RE = re.compile(r"[\"']([A-Za-z_]\w*)[\"']")


@dataclass
class ExportNames:
    """Names a side of a module's import statements and `__all__` mention."""

    all_names: set[str]
    changed: set[str]


def read_exports(side: Side, *, imports: bool) -> ExportNames:
    """Exported names: `__all__` entries, and imports when `imports` (an `__init__` module
    re-exports what it imports).

    Statements are followed across lines (parenthesized imports, multi-line lists); a name
    counts as changed when its own line is a changed line."""
    result = ExportNames(set(), set())
    lines = side.lines
    index = 0
    while index < len(lines):
        line = lines[index]
        is_import = imports and _IMPORT_START_RE.match(line) is not None
        is_all = _ALL_START_RE.match(line) is not None
        if not (is_import or is_all):
            index += 1
            continue
        end = _statement_end(lines, index)
        end = index if end is None else end
        for position in range(index, end + 1):
            text = lines[position].split("#", 1)[0]
            if is_all:
                names = set(_QUOTED_RE.findall(text))
            else:
                if position == index:
                    text = text.split(" import ", 1)[1] if " import " in text else ""
                names = {
                    name.split(" as ")[-1]
                    for name in _NAME_RE.findall(text.replace(" as ", " as_ "))
                    if name not in ("as", "as_", "import", "from")
                }
            names = {name for name in names if not name.startswith("_")}
            result.all_names |= names
            if position in side.changed:
                result.changed |= names
        index = end + 1
    return result


# --- CLI flags and config fields ----------------------------------------------------------------


@dataclass(frozen=True)
class Setting:
    """A flag or config field one side declares, with its default's source text."""

    kind: Literal["flag", "config"]
    name: str
    default: str | None
    touched: bool


def _call_text(lines: list[str], index: int, column: int) -> tuple[str, int] | None:
    """The call starting at lines[index][column:], up to its closing parenthesis."""
    depth = 0
    pieces: list[str] = []
    for position in range(index, min(len(lines), index + MAX_STATEMENT_LINES)):
        text = lines[position][column:] if position == index else lines[position]
        for offset, char in enumerate(text):
            if char == "(":
                depth += 1
            elif char == ")":
                depth -= 1
                if depth == 0:
                    pieces.append(text[: offset + 1])
                    return "\n".join(pieces), position
        pieces.append(text)
    return None


def _flag_settings(side: Side) -> list[Setting]:
    found: list[Setting] = []
    lines = side.lines
    for index, line in enumerate(lines):
        match = _ARGUMENT_CALL_RE.search(line)
        if not match:
            continue
        call = _call_text(lines, index, match.start())
        if call is None:
            continue
        text, end = call
        try:
            node = _parse(" ".join(text.split()), mode="eval").body
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        if not isinstance(node, ast.Call):
            continue
        flags = [
            arg.value
            for arg in node.args
            if isinstance(arg, ast.Constant)
            and isinstance(arg.value, str)
            and arg.value.startswith("-")
        ]
        if not flags:
            continue
        default = next((_default_text(k.value) for k in node.keywords if k.arg == "default"), None)
        name = max(flags, key=len)
        found.append(Setting("flag", name, default, side.touches(index, end)))
    return found


def _config_settings(side: Side, section: str) -> list[Setting]:
    """`name: type = default` fields of a class body (dataclasses, pydantic, attrs)."""
    found: list[Setting] = []
    owner = _section_owner(section)
    owner_name = owner.name if owner is not None and owner.kind == "class" else None
    class_indent = owner.indent if owner_name is not None and owner is not None else None
    for index, line in enumerate(side.lines):
        header = _CLASS_RE.match(line)
        if header:
            owner_name, class_indent = header.group("name"), _indent(line)
            continue
        if _DEF_RE.match(line):
            if class_indent is not None and _indent(line) <= class_indent:
                owner_name = class_indent = None
            continue
        match = _FIELD_RE.match(line)
        if not match or owner_name is None or class_indent is None:
            continue
        if _indent(line) <= class_indent or owner_name.startswith("_"):
            continue
        name = match.group("name")
        if name.startswith("_"):
            continue
        value = fold(match.group("value").rstrip(","), MAX_DEFAULT_CHARS)
        found.append(Setting("config", f"{owner_name}.{name}", value, index in side.changed))
    return found


def read_settings(side: Side, section: str) -> list[Setting]:
    """CLI flags (`add_argument`, click options) and class-body config fields of one side."""
    return [*_flag_settings(side), *_config_settings(side, section)]
