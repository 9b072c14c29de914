"""Reading a patch's hunks with the pattern definition reader, and checking what it returns."""

from __future__ import annotations

from dataclasses import dataclass

from bot.analysis.diff import hunk_spans, sides
from bot.analysis.facts.definitions import Definition
from bot.analysis.facts.pattern_languages import read_definitions
from tests.bot.analysis.facts.definition_checks import assert_well_formed, named, names

__all__ = ["Hunk", "assert_well_formed", "named", "names", "read"]


@dataclass
class Hunk:
    section: str
    old: dict[str, Definition]
    new: dict[str, Definition]


def read(path: str, patch: str) -> list[Hunk]:
    hunks = []
    for span in hunk_spans(patch):
        old, new = sides(patch, span)
        hunks.append(
            Hunk(
                span.section,
                named(read_definitions(old, span.section, path)),
                named(read_definitions(new, span.section, path)),
            )
        )
    return hunks
