"""The `/digest` application command (options, choices, autocomplete) and `digestbot discord-sync`.

Commands are registered with Discord only on demand (`sync_commands`), never on every start:
global sync (every server; may take a while to show up) or per guild (instant, for testing).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import discord
from discord import app_commands

from bot.errors import ConfigError, PlatformError
from bot.models import Importance

log = logging.getLogger(__name__)

COMMAND_NAME = "digest"
# https://discord.com/developers/docs/interactions/application-commands#autocomplete :
# at most 25 choices, names and values ≤ 100 characters.
MAX_CHOICES = 25
CHOICE_TEXT_MAX = 100
WHEN_SUGGESTIONS = ("today", "yesterday", "week", "7d", "14d", "30d")


@runtime_checkable
class CommandHandler(Protocol):
    """What the client behind an application command offers (the Discord bot)."""

    async def on_digest_command(self, interaction: discord.Interaction[Any], text: str) -> None:
        """Called with the options joined as the text a user would type after `/digest`."""
        ...

    def repo_names(self) -> list[str]: ...


def command_text(repo: str, when: str | None, lang: str | None, min_importance: str | None) -> str:
    """The options as one `/digest` argument text for the command grammar."""
    words = [repo.strip(), (when or "").strip()]
    if lang:
        words += ["lang", lang]
    if min_importance:
        words += ["min", min_importance]
    return " ".join(w for w in words if w)


def _handler(interaction: discord.Interaction[Any]) -> CommandHandler | None:
    handler = getattr(interaction.client, "command_handler", None)
    return handler if isinstance(handler, CommandHandler) else None


async def _repo_choices(
    interaction: discord.Interaction[Any], current: str
) -> list[app_commands.Choice[str]]:
    handler = _handler(interaction)
    names = handler.repo_names() if handler is not None else []
    return suggest(names, current)


async def _when_choices(
    interaction: discord.Interaction[Any], current: str
) -> list[app_commands.Choice[str]]:
    return suggest(list(WHEN_SUGGESTIONS), current, keep_typed=True)


def suggest(
    options: Sequence[str], current: str, *, keep_typed: bool = False
) -> list[app_commands.Choice[str]]:
    """Options containing what was typed (case-insensitive), prefix matches first, ≤ 25."""
    typed = current.strip().lower()
    matches = [o for o in options if typed in o.lower() and len(o) <= CHOICE_TEXT_MAX]
    matches.sort(key=lambda o: (not o.lower().startswith(typed), o.lower()))
    if keep_typed and typed and current.strip() not in matches and len(current) <= CHOICE_TEXT_MAX:
        matches.insert(0, current.strip())  # free text (a date, a range) stays possible
    return [app_commands.Choice(name=o, value=o) for o in matches[:MAX_CHOICES]]


@app_commands.guild_only()
@app_commands.describe(
    repo="Repository: a configured name or alias, or owner/name",
    when="today, yesterday, week, 7d, YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD",
    lang="Language of the digest",
    min_importance="Lowest importance shown",
)
@app_commands.rename(min_importance="min")
@app_commands.choices(
    lang=[
        app_commands.Choice(name="English", value="en"),
        app_commands.Choice(name="中文", value="zh"),
    ],
    min_importance=[app_commands.Choice(name=i.value, value=i.value) for i in Importance],
)
@app_commands.autocomplete(repo=_repo_choices, when=_when_choices)
async def _digest(
    interaction: discord.Interaction[Any],
    repo: str,
    when: str = "today",
    lang: app_commands.Choice[str] | None = None,
    min_importance: app_commands.Choice[str] | None = None,
) -> None:
    handler = _handler(interaction)
    if handler is None:  # a client built only to sync commands
        log.warning("/digest on a client without a handler; ignored")
        return
    text = command_text(
        repo,
        when,
        lang.value if lang is not None else None,
        min_importance.value if min_importance is not None else None,
    )
    await handler.on_digest_command(interaction, text)


def build_command_tree(client: discord.Client) -> app_commands.CommandTree[discord.Client]:
    """A tree with `/digest` for `client`; calls go to `client.command_handler`."""
    tree: app_commands.CommandTree[discord.Client] = app_commands.CommandTree(client)
    tree.add_command(
        app_commands.Command(
            name=COMMAND_NAME,
            description="Digest of a repository's commits, ranked by importance",
            callback=_digest,
        )
    )
    return tree


async def sync_commands(
    token: str, guild_ids: Sequence[int] = (), *, clear: bool = False
) -> list[str]:
    """Register `/digest` with Discord: in each guild of `guild_ids` (instant), else globally;
    `clear` removes our commands from that scope instead. One line per scope comes back."""
    client = discord.Client(intents=discord.Intents.none())
    tree = build_command_tree(client)
    if clear:
        tree.clear_commands(guild=None)
    lines: list[str] = []
    try:
        await client.login(token)
        scopes: list[discord.Object | None] = [discord.Object(id=g) for g in guild_ids] or [None]
        for guild in scopes:
            if guild is not None and not clear:
                tree.copy_global_to(guild=guild)
            synced = await tree.sync(guild=guild)
            names = ", ".join(f"/{c.name}" for c in synced) or "no commands (removed)"
            where = f"guild {guild.id}" if guild is not None else "global"
            when = "available now" if guild is not None else "may take a few minutes to appear"
            lines.append(f"{where}: {names}" + ("" if clear else f" ({when})"))
    except discord.LoginFailure as exc:
        raise ConfigError("Discord refused DISCORD_BOT_TOKEN; copy the bot token again.") from exc
    except discord.Forbidden as exc:
        raise PlatformError(
            "Discord refused the sync: is the bot in that server, invited with the "
            "applications.commands scope?",
            detail=f"{exc.status} {exc.code} {exc.text}",
        ) from exc
    except discord.HTTPException as exc:
        raise PlatformError(
            "Discord refused the command sync.", detail=f"{exc.status} {exc.code} {exc.text}"
        ) from exc
    finally:
        await client.close()
    for line in lines:
        log.info("synced application commands: %s", line)
    return lines
