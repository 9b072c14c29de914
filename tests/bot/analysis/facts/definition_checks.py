"""Checks shared by the definition-reader tests: index by name, and well-formedness."""

from __future__ import annotations

from bot.analysis.diff import Side
from bot.analysis.facts.definitions import (
    MAX_DEFAULT_CHARS,
    MAX_SIGNATURE_CHARS,
    Definition,
    Param,
)

KINDS = {"function", "method", "class", "kernel", "type"}


def named(definitions: list[Definition]) -> dict[str, Definition]:
    found = {d.name: d for d in definitions}
    assert len(found) == len(definitions), [d.name for d in definitions]
    return found


def names(definition: Definition) -> list[str]:
    assert definition.params is not None
    return [param.name for param in definition.params]


def assert_well_formed(definitions: list[Definition], side: Side) -> None:
    for definition in definitions:
        assert isinstance(definition, Definition)
        assert definition.name and "\n" not in definition.name
        assert definition.kind in KINDS
        assert isinstance(definition.public, bool) and isinstance(definition.touched, bool)
        assert "\n" not in definition.signature
        assert len(definition.signature) <= MAX_SIGNATURE_CHARS
        if not side.changed:
            assert not definition.touched
        if definition.params is not None:
            assert isinstance(definition.params, tuple)
            for param in definition.params:
                assert isinstance(param, Param) and param.name
                assert param.default is None or len(param.default) <= MAX_DEFAULT_CHARS
                assert param.annotation is None or len(param.annotation) <= MAX_DEFAULT_CHARS
