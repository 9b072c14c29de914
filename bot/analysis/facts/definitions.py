"""What every language reader returns: the definitions one side of a hunk shows.

A reader looks at one side (old or new) of one hunk and reports each function, method, class
or kernel whose declaration it can see, with its parameters when the whole signature is inside
the hunk, and whether the diff changed a line of that signature. `facts.symbols` compares the
two sides of the whole commit to tell added, removed, renamed and re-signed definitions apart.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from bot.analysis.diff import Side

MAX_SIGNATURE_CHARS = 200
MAX_DEFAULT_CHARS = 60

DefinitionKind = Literal["function", "method", "class", "kernel", "type"]


@dataclass(frozen=True)
class Param:
    """One parameter: its name (`*args`, `**kwargs` kept as written) and its default's source."""

    name: str
    default: str | None = None
    annotation: str | None = None  # the declared type, where the language writes one apart


@dataclass(frozen=True)
class Definition:
    """A declaration seen on one side of a hunk."""

    name: str  # qualified where the owner is visible or named by the hunk header: "Owner.run"
    kind: DefinitionKind
    params: tuple[Param, ...] | None  # None: not callable, or the signature runs past the hunk
    signature: str  # one line, whitespace folded, at most MAX_SIGNATURE_CHARS
    public: bool
    touched: bool  # the diff changed a line of its signature (or its decorator) on this side
    # Only the tail of the parameter list is visible (the declaration is in the hunk header):
    # `params` holds the visible parameters, comparable only with another partial view.
    partial: bool = False


# (side, hunk header section, path) -> the definitions that side shows
DefinitionReader = Callable[[Side, str, str], list[Definition]]


def fold(text: str, limit: int = MAX_SIGNATURE_CHARS) -> str:
    """Whitespace folded to single spaces and cut to `limit` characters (with an ellipsis)."""
    folded = " ".join(text.split())
    return folded if len(folded) <= limit else folded[: limit - 1].rstrip() + "…"
