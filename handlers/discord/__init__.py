"""Discord: `/digest`, Details buttons and mentions in, embeds out (discord.py gateway)."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from bot.errors import ConfigError
from formatters.discord_details import render_discord_details
from formatters.discord_embeds import render_discord
from handlers.discord.settings import DiscordConfig, DiscordSettings
from handlers.platform import Platform, PlatformContext, PlatformService

if TYPE_CHECKING:  # bot.doctor loads SQLAlchemy: not for naming a platform
    from bot.doctor import Check


def _configured(settings: DiscordSettings) -> bool:
    return DiscordConfig.from_settings(settings) is not None


def _build(settings: DiscordSettings, context: PlatformContext) -> PlatformService | None:
    if not _configured(settings):
        return None  # not configured: discord.py is never loaded
    from handlers.discord.service import build

    return build(settings, context)


async def _doctor(settings: DiscordSettings) -> Check | None:
    with contextlib.suppress(ConfigError):  # half configured: its check says what is missing
        if not _configured(settings):
            return None  # not configured: nothing to check, and no SDK to load
    from handlers.discord.doctor import doctor_check

    return await doctor_check(settings)


DISCORD = Platform(
    name="discord",
    settings=DiscordSettings,
    enable_hint="DISCORD_BOT_TOKEN (README: Run on Discord)",
    configured=_configured,
    build=_build,
    doctor=_doctor,
    render_digest=render_discord,
    render_details=render_discord_details,
)
