"""Discord: `/digest`, Details buttons and mentions in, embeds out (discord.py gateway)."""

from __future__ import annotations

from formatters.discord_details import render_discord_details
from formatters.discord_embeds import render_discord
from handlers.discord.settings import DiscordConfig, DiscordSettings
from handlers.platform import Platform


def _configured(settings: DiscordSettings) -> bool:
    """No SDK import: ConfigError when half configured."""
    return DiscordConfig.from_settings(settings) is not None


DISCORD = Platform(
    name="discord",
    settings=DiscordSettings,
    enable_hint="DISCORD_BOT_TOKEN (README: Run on Discord)",
    configured=_configured,
    package=__name__,
    render_digest=render_discord,
    render_details=render_discord_details,
)
