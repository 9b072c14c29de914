"""Every chat platform the bot speaks, in start order: `serve`, `doctor`, `--format` and the
health report loop over this list. Adding a platform is one package and one line here."""

from __future__ import annotations

from typing import Any

from handlers.discord import DISCORD
from handlers.feishu import FEISHU
from handlers.platform import Platform
from handlers.slack import SLACK

PLATFORMS: tuple[Platform[Any], ...] = (SLACK, FEISHU, DISCORD)


def platform_named(name: str) -> Platform[Any]:
    """The registry entry called `name` (ValueError for an unknown one)."""
    for platform in PLATFORMS:
        if platform.name == name.strip().lower():
            return platform
    known = ", ".join(p.name for p in PLATFORMS)
    raise ValueError(f"unknown platform {name!r}; choose one of {known}")
