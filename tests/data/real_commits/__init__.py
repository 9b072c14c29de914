"""Excerpts of real commits (flashinfer-ai/flashinfer), loaded as neutral `Commit`s.

Each file is one commit as the local git source reads it: full message, every changed file
with its line counts, and the patches of a few files, each cut to a few KB (the other files keep
`patch: null`, as GitHub sends for large files). See NOTICE for the licence.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from bot.models import Commit

HERE = Path(__file__).parent


@cache
def load(sha: str) -> Commit:
    """The excerpt whose file name starts with `sha` (7-12 hex digits)."""
    (path,) = HERE.glob(f"{sha[:12]}*.json")
    return Commit.model_validate(json.loads(path.read_text(encoding="utf-8")))


def message_of(sha: str) -> str:
    return load(sha).message


def shas() -> list[str]:
    return sorted(path.stem for path in HERE.glob("*.json"))
