"""Discord's settings: the DISCORD_* environment variables (or .env)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from bot.errors import ConfigError
from handlers.platform import PlatformSettings, secret_text

DetailsMode = Literal["ephemeral", "thread"]


class DiscordSettings(PlatformSettings):
    """DISCORD_BOT_TOKEN, and where `/digest` is registered and how Details answer."""

    model_config = SettingsConfigDict(env_prefix="DISCORD_")

    bot_token: SecretStr | None = None
    guild_ids: str = ""  # comma-separated server ids for instant command sync
    # Details button: an ephemeral message to the clicker, or a reply in the digest's thread.
    details_mode: DetailsMode = "ephemeral"
    # The privileged Message Content intent (enable it in the Developer Portal first): thread
    # questions without mentioning the bot. Off: only messages that @mention the bot.
    message_content: bool = False


@dataclass(frozen=True)
class DiscordConfig:
    """What the Discord bot needs; `from_settings` is None when Discord is not configured."""

    token: str
    guild_ids: tuple[int, ...] = ()
    details_mode: DetailsMode = "ephemeral"
    message_content: bool = False

    @classmethod
    def from_settings(cls, settings: DiscordSettings) -> DiscordConfig | None:
        token = secret_text(settings.bot_token)
        if token is None:
            return None
        return cls(
            token=token,
            guild_ids=tuple(parse_guild_ids([settings.guild_ids])),
            details_mode=settings.details_mode,
            message_content=settings.message_content,
        )


def parse_guild_ids(values: Sequence[str]) -> list[int]:
    """Guild ids from `--guild` values and/or DISCORD_GUILD_IDS (comma-separated)."""
    ids: list[int] = []
    for value in values:
        for part in value.replace(" ", ",").split(","):
            if not part:
                continue
            if not part.isdigit():
                raise ConfigError(f"'{part[:30]}' is not a Discord guild id (a number).")
            ids.append(int(part))
    return list(dict.fromkeys(ids))
