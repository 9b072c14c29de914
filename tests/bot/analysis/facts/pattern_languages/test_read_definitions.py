"""The pattern reader on any text, any extension, any size."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.analysis.diff import Side
from bot.analysis.facts.pattern_languages import EXTENSIONS, read_definitions
from tests.bot.analysis.facts.pattern_languages.reading import assert_well_formed

_PIECES = [
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    "<",
    ">",
    ";",
    ",",
    "=",
    "=>",
    "->",
    ":",
    "::",
    "*",
    "&",
    "'",
    '"',
    "`",
    "/*",
    "*/",
    "//",
    "\n",
    "\n    ",
    " ",
    "...",
    "#[derive(X)]\n",
    "@Ann\n",
    "fn ",
    "pub ",
    "pub(crate) ",
    "impl<T> ",
    " for ",
    "trait ",
    "struct ",
    "enum ",
    "type ",
    "func ",
    "(r *R) ",
    "interface ",
    "type (\n",
    "function ",
    "export ",
    "const ",
    "async ",
    "class ",
    "constructor",
    "get ",
    "static ",
    "#x",
    "public ",
    "private ",
    "void ",
    "throws ",
    "fun ",
    "companion object ",
    "suspend ",
    "where ",
    'r#"',
    "${",
    "a",
    "Foo",
    "_b",
    "self",
    "x: i32",
    "n int",
    "String s",
]
_SECTIONS = st.one_of(
    st.text(max_size=60),
    st.sampled_from(
        [
            "impl<T> Foo<T> {",
            "pub trait Foo {",
            "type Foo interface {",
            "type (",
            "func (s *S) Run(a int,",
            "fn f(a: i32,",
            "export class A {",
            "export function f(a: string,",
            "public class A {",
            "public interface A {",
            "class A(val x: Int) {",
            "fun f(a: Int,",
        ]
    ),
)


@pytest.mark.parametrize("extension", sorted(EXTENSIONS))
@settings(max_examples=120, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    pieces=st.lists(st.one_of(st.sampled_from(_PIECES), st.text(max_size=6)), max_size=120),
    changed=st.sets(st.integers(min_value=-3, max_value=80), max_size=20),
    section=_SECTIONS,
)
def test_arbitrary_text_never_raises_and_reads_well_formed(
    extension: str, pieces: list[str], changed: set[int], section: str
) -> None:
    side = Side("".join(pieces).split("\n"), changed)
    assert_well_formed(read_definitions(side, section, f"src/file{extension}"), side)


def test_unknown_extensions_and_oversized_sides() -> None:
    assert read_definitions(Side(["def f(a): pass"]), "", "a.py") == []
    big = Side(["func f(a int) {}"] * 30_000)
    assert read_definitions(big, "", "big.go") == []
    assert {".go", ".rs", ".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx", ".java", ".kt"} == (
        EXTENSIONS
    )
