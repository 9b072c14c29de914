"""Every chat platform the bot speaks, in start order: `serve`, `doctor`, `--format` and the
health report loop over this list. Adding a platform is one package, one line here and its name
in handlers/platform_names.py."""

from __future__ import annotations

from typing import Any

from handlers.discord import DISCORD
from handlers.feishu import FEISHU
from handlers.platform import Platform
from handlers.platform_names import PLATFORM_NAMES
from handlers.slack import SLACK

PLATFORMS: tuple[Platform[Any], ...] = (SLACK, FEISHU, DISCORD)
if tuple(platform.name for platform in PLATFORMS) != PLATFORM_NAMES:
    # The CLI lists the names without loading the platforms; a new one goes in both places.
    raise RuntimeError("handlers/platform_names.py must list the registry's platforms in order")


def platform_named(name: str) -> Platform[Any]:
    """The registry entry called `name` (ValueError for an unknown one)."""
    for platform in PLATFORMS:
        if platform.name == name.strip().lower():
            return platform
    known = ", ".join(p.name for p in PLATFORMS)
    raise ValueError(f"unknown platform {name!r}; choose one of {known}")
