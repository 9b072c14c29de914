"""Behaviour facts from the changed lines of any language: environment variables and errors.

Patterns, not parsers: an environment variable is a SCREAMING_CASE string read through a call
or subscript whose name says "env" (`os.getenv`, `os.environ[...]`, `std::getenv`,
`get_bool_env_var`, `envs.X`, `X = EnvBool(...)`); an error is a `raise`/`throw`, a check macro
(`TORCH_CHECK`, `FLASHINFER_CHECK`, `CHECK_EQ`, `assert`, `static_assert`), or Go/Rust/JS
error constructors (`errors.New`, `fmt.Errorf`, `panic!`, `bail!`, `throw new`).
"""

from __future__ import annotations

import ast
import bisect
import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.analysis.diff import Side
from bot.analysis.facts.definitions import MAX_DEFAULT_CHARS, fold

MAX_ERROR_CHARS = 120
CHECK_CONTINUATION_LINES = 6  # a check macro's arguments are read across this many lines

_ENV_CALL_RE = re.compile(
    r"(?P<call>\b[\w.:]*(?:env|environ|Env|ENV)[\w]*)\s*(?:\.get\s*)?[\(\[]\s*"
    r"[\"'](?P<name>[A-Z][A-Z0-9_]{2,})[\"']\s*(?P<comma>,)?"
)
_ENV_ATTR_RE = re.compile(r"\benvs?\.(?P<name>[A-Z][A-Z0-9_]{2,})\b")
_ENV_DECL_RE = re.compile(
    r"^\s*(?P<name>[A-Z][A-Z0-9_]{3,})\s*(?::\s*\w+)?\s*=\s*Env\w*\((?P<default>[^)]{0,80})\)"
)
_STRING_RE = re.compile(
    r"[fbru]{0,2}\"((?:[^\"\\]|\\.){0,300})\"|[fbru]{0,2}'((?:[^'\\]|\\.){0,300})'"
)
_RAISE_RE = re.compile(r"^\s*(?:raise|throw)\s+(?:new\s+)?(?P<type>[A-Za-z_][\w.:]*)")
_CHECK_RE = re.compile(
    r"\b(?P<macro>[A-Z][A-Z0-9_]*(?:CHECK|ASSERT|EXPECT|ENSURE|REQUIRE)[A-Z0-9_]*|static_assert"
    r"|assert)\s*\("
)
_PY_ASSERT_RE = re.compile(r"^\s*assert\b(?!\s*\()")  # `assert(...)` is read as a call
_OTHER_ERROR_RE = re.compile(
    r"\b(?P<kind>errors\.New|fmt\.Errorf|panic!?|bail!|anyhow!|unreachable!|todo!|"
    r"unimplemented!)\s*\("
)


@dataclass(frozen=True)
class EnvUse:
    name: str
    default: str | None


def read_env(side: Side) -> tuple[dict[str, EnvUse], set[str]]:
    """(every variable the side reads, with a default where given; the changed-line ones)."""
    uses: dict[str, EnvUse] = {}
    changed: set[str] = set()
    for index, line in enumerate(side.lines):
        if "env" not in line and "Env" not in line and "ENV" not in line:
            continue  # every pattern below needs one of these: skip the regexes (most lines)
        found: list[EnvUse] = []
        for match in _ENV_CALL_RE.finditer(line):
            default = _argument(line, match.end()) if match.group("comma") else None
            found.append(EnvUse(match.group("name"), _clean_default(default)))
        declared = _ENV_DECL_RE.match(line)
        if declared:
            found.append(EnvUse(declared.group("name"), _clean_default(declared.group("default"))))
        found.extend(EnvUse(m.group("name"), None) for m in _ENV_ATTR_RE.finditer(line))
        for use in found:
            known = uses.get(use.name)
            if known is None or (known.default is None and use.default is not None):
                uses[use.name] = use
            if index in side.changed:
                changed.add(use.name)
    return uses, changed


def _argument(line: str, start: int) -> str:
    """The call argument starting at `start`: up to a top-level `,` or the closing bracket."""
    depth = 0
    quote = ""
    for index in range(start, min(len(line), start + 200)):
        char = line[index]
        if quote:
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char in "([{":
            depth += 1
        elif char in ")]}":
            if depth == 0:
                return line[start:index]
            depth -= 1
        elif char == "," and depth == 0:
            return line[start:index]
    return line[start : start + 200]


def _clean_default(text: str | None) -> str | None:
    if text is None:
        return None
    text = text.strip()
    return fold(text, MAX_DEFAULT_CHARS) if text else None


def _first_string(text: str) -> str:
    match = _STRING_RE.search(text)
    if not match:
        return ""
    return match.group(1) if match.group(1) is not None else match.group(2) or ""


def _error_text(label: str, line: str, start: int) -> str:
    message = _first_string(line[start:])
    text = f"{label} {message!r}" if message else label
    return fold(text, MAX_ERROR_CHARS)


_FUNCTION_RE = re.compile(
    r"^\s*(?:async\s+)?def\s+(?P<py>[A-Za-z_]\w*)\s*\("
    r"|^(?:[\w:<>,*&]+\s+)+(?P<c>[A-Za-z_~][\w:]*)\s*\([^;]*$"
    r"|^\s*(?:pub\s+)?fn\s+(?P<rs>\w+)|^func\s+(?:\([^)]*\)\s*)?(?P<go>\w+)"
)
_KEYWORDS = frozenset({"if", "for", "while", "switch", "return", "else", "catch", "sizeof"})


def _declaration(line: str) -> tuple[str, bool] | None:
    """(function name, module-level?) when `line` declares a function, else None."""
    match = _FUNCTION_RE.match(line)
    if not match:
        return None
    name = match.group("py") or match.group("c") or match.group("rs") or match.group("go")
    if not name or name.rsplit("::", 1)[-1] in _KEYWORDS:
        return None
    return name[:80], not line[:1].isspace()


def _private(name: str) -> bool:
    return name.rsplit("::", 1)[-1].startswith("_")


def enclosing_functions(side: Side, indices: Sequence[int], section: str) -> dict[int, str | None]:
    """The function each line of `indices` sits in: the nearest declaration above it in the
    hunk, else the one git names in the hunk header. A nested private helper is reached
    through its owner, so the nearest public or module-level one above it wins.

    The side's declarations are found once (a hunk with thousands of raises stays linear)."""
    header = _declaration(section)
    header_name = header[0] if header is not None else None
    public_header = header_name if header_name and not _private(header_name) else None
    starts: list[int] = []
    answers: list[str] = []  # the function reached from a line just below each declaration
    nearest_public: str | None = None
    for index, line in enumerate(side.lines):
        found = _declaration(line)
        if found is None:
            continue
        name, top = found
        if top or not _private(name):
            answers.append(name)
        else:
            answers.append(nearest_public or public_header or name)
        starts.append(index)
        if not _private(name):
            nearest_public = name
    out: dict[int, str | None] = {}
    for index in indices:
        position = bisect.bisect_right(starts, index) - 1
        out[index] = answers[position] if position >= 0 else header_name
    return out


@dataclass(frozen=True)
class ErrorSite:
    """A raise or check on one changed line: its kind, display text and comparison key."""

    kind: str  # "raise" or "check"
    text: str  # bounded, for people
    index: int  # the line in its side
    key: str  # a raise's text; a check's whole condition (see condition_key)


def read_errors(side: Side, *, changed_only: bool = True) -> list[ErrorSite]:
    """Each raise/throw or check on the side's changed lines."""
    out: list[ErrorSite] = []
    indices = sorted(side.changed) if changed_only else range(len(side.lines))
    for index in indices:
        line = side.lines[index]
        stripped = line.strip()
        if stripped.startswith(("#", "//", "*", "/*")):
            continue
        raised = _RAISE_RE.match(line)
        if raised:
            text = _error_text(raised.group("type"), line, raised.end())
            out.append(ErrorSite("raise", text, index, text))
            continue
        if _PY_ASSERT_RE.match(line):
            text = _assert_text(stripped)
            out.append(ErrorSite("check", text, index, _assert_key(text)))
            continue
        if "(" not in line:
            continue  # a check macro and every other error constructor is a call
        check = _CHECK_RE.search(line)
        if check:
            # A call wrapped over lines (`TORCH_CHECK(\n    cond,\n    "msg")`) is read whole.
            call = " ".join(side.lines[index : index + CHECK_CONTINUATION_LINES])
            condition, message = _call_parts(call, check.end())
            text = f"{check.group('macro')}({condition})" + (f" {message!r}" if message else "")
            key = condition_key(condition)
            out.append(ErrorSite("check", fold(text, MAX_ERROR_CHARS), index, key))
            continue
        other = _OTHER_ERROR_RE.search(line)
        if other:
            text = _error_text(other.group("kind"), line, other.end())
            out.append(ErrorSite("raise", text, index, text))
    return out


_ASSERT_WORD_RE = re.compile(r"^\s*assert\b")
_MESSAGE_RE = re.compile(r"\s'(?:[^'\\]|\\.)*'\s*$")
_TRAILING_COMMENT_RE = re.compile(r"\s(?://|#).*$")
_KEY_NOISE_RE = re.compile(r"[\s();]")


def condition_key(condition: str) -> str:
    """A check's condition without comments, brackets or spaces: `assert(a && b)` rewritten
    as `TORCH_CHECK(a && b, "…")` keeps its key, so it is no new validation."""
    return _KEY_NOISE_RE.sub("", _TRAILING_COMMENT_RE.sub("", condition))


def _assert_key(text: str) -> str:
    """The condition key of an "assert cond 'message'" text."""
    return condition_key(_MESSAGE_RE.sub("", _ASSERT_WORD_RE.sub("", text, count=1)))


def _assert_text(statement: str) -> str:
    """`assert cond, "msg"` as "assert cond 'msg'", parsed when the statement is one line."""
    try:
        node = ast.parse(statement).body[0]
    except (SyntaxError, ValueError, RecursionError, MemoryError, IndexError):
        return fold("assert " + _argument(statement, len("assert")).strip(), MAX_ERROR_CHARS)
    if not isinstance(node, ast.Assert):
        return fold(statement, MAX_ERROR_CHARS)
    text = f"assert {ast.unparse(node.test)}"
    if isinstance(node.msg, ast.Constant) and isinstance(node.msg.value, str):
        text += f" {node.msg.value!r}"
    return fold(text, MAX_ERROR_CHARS)


def _call_parts(line: str, start: int) -> tuple[str, str]:
    """`MACRO(condition, "message", …)` from just after its `(`: the condition and message."""
    depth = 1
    end = start
    while end < len(line) and depth:
        if line[end] == "(":
            depth += 1
        elif line[end] == ")":
            depth -= 1
        end += 1
    inner = line[start : end - 1 if depth == 0 else end]
    return " ".join(inner.split(",", 1)[0].split()), _first_string(inner)
