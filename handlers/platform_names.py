"""The chat platforms' names in start order, importable without loading any platform (the
command line's `--format` choices); handlers/registry.py checks its entries against it."""

from __future__ import annotations

PLATFORM_NAMES: tuple[str, ...] = ("slack", "feishu", "discord")
