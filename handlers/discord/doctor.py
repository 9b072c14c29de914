"""`digestbot doctor` for Discord (the bot token, the Message Content intent) and setup advice."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import discord

from bot.doctor import Check
from handlers.discord.settings import DiscordConfig, DiscordSettings

# Application flags: the Message Content intent is enabled (verified apps: limited)
# https://discord.com/developers/docs/resources/application#application-object-application-flags
MESSAGE_CONTENT_FLAGS = (1 << 18) | (1 << 19)
# View Channel, Send Messages, Send Messages in Threads, Create Public Threads, Embed Links,
# Attach Files, Read Message History (https://discord.com/developers/docs/topics/permissions);
# the README's "Run on Discord" says what each is for.
INVITE_PERMISSIONS = 309_237_763_072
INTENTS_HELP = (
    "Discord refused the Message Content intent. Enable it in the Developer Portal (Bot → "
    "Privileged Gateway Intents) or set DISCORD_MESSAGE_CONTENT=false."
)


def invite_url(application_id: int | None) -> str:
    """The OAuth2 URL that adds the bot with `/digest` and exactly the permissions it uses."""
    return (
        f"https://discord.com/oauth2/authorize?client_id={application_id or 'APPLICATION_ID'}"
        f"&scope=bot+applications.commands&permissions={INVITE_PERMISSIONS}"
    )


async def doctor_check(settings: DiscordSettings) -> Check | None:
    """GET /users/@me with the bot token (and, when DISCORD_MESSAGE_CONTENT is on, the
    application's intent flags); None when Discord is not configured."""
    config = DiscordConfig.from_settings(settings)
    if config is None:
        return None
    http = discord.http.HTTPClient(asyncio.get_running_loop())
    try:
        user = await http.static_login(config.token)
        if config.message_content:
            app = await http.application_info()
            if not int(app.get("flags") or 0) & MESSAGE_CONTENT_FLAGS:
                return Check.failed("discord", "the Message Content intent is off", INTENTS_HELP)
    except discord.LoginFailure:
        return Check.failed(
            "discord",
            "Discord refused DISCORD_BOT_TOKEN (401)",
            "Developer Portal → your app → Bot → Reset Token, and put the new "
            "token in DISCORD_BOT_TOKEN (the bot token, not the client "
            "secret or the public key).",
        )
    except discord.HTTPException as exc:
        return Check.failed(
            "discord",
            f"Discord answered HTTP {exc.status} (code {exc.code})",
            "Retry later; https://discordstatus.com shows outages.",
        )
    except (aiohttp.ClientError, OSError) as exc:
        return Check.failed(
            "discord",
            f"Discord could not be reached ({type(exc).__name__})",
            "Check the network and proxy.",
        )
    finally:
        await http.close()
    name = f"{user.get('username', '?')} (id {user.get('id', '?')})"
    return Check.passed("discord", f"logged in as {name}; invite: {invite_url(_int(user))}")


def _int(user: Any) -> int | None:
    try:
        return int(user.get("id"))
    except (TypeError, ValueError):
        return None
