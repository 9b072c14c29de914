"""Discord's settings: DISCORD_* variables, `DiscordConfig.from_settings` and guild id parsing."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from bot.errors import ConfigError
from handlers.discord.settings import DiscordConfig, DiscordSettings, parse_guild_ids
from tests.fakes.discord_payloads import BOT_TOKEN


def settings(**values: object) -> DiscordSettings:
    return DiscordSettings(_env_file=None, **values)  # type: ignore[call-arg, arg-type]


def test_no_token_means_discord_is_not_configured() -> None:
    assert DiscordConfig.from_settings(settings(bot_token=None)) is None
    assert DiscordConfig.from_settings(settings(bot_token=SecretStr("  "))) is None


def test_config_from_settings() -> None:
    config = DiscordConfig.from_settings(
        settings(
            bot_token=SecretStr(f" {BOT_TOKEN} "),
            guild_ids="1, 2 2",
            details_mode="thread",
            message_content=True,
        )
    )
    assert config == DiscordConfig(
        token=BOT_TOKEN, guild_ids=(1, 2), details_mode="thread", message_content=True
    )
    defaults = DiscordConfig.from_settings(settings(bot_token=SecretStr(BOT_TOKEN)))
    assert defaults == DiscordConfig(token=BOT_TOKEN)
    with pytest.raises(ConfigError):
        DiscordConfig.from_settings(settings(bot_token=SecretStr(BOT_TOKEN), guild_ids="12x"))


def test_settings_come_from_discord_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISCORD_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("DISCORD_GUILD_IDS", "7,8")
    monkeypatch.setenv("DISCORD_DETAILS_MODE", "thread")
    monkeypatch.setenv("DISCORD_MESSAGE_CONTENT", "true")
    loaded = DiscordSettings(_env_file=None)  # type: ignore[call-arg]
    assert loaded.bot_token is not None and loaded.bot_token.get_secret_value() == BOT_TOKEN
    assert BOT_TOKEN not in repr(loaded)
    assert (loaded.guild_ids, loaded.details_mode, loaded.message_content) == (
        "7,8",
        "thread",
        True,
    )
    monkeypatch.setenv("DISCORD_DETAILS_MODE", "popup")
    with pytest.raises(ValidationError):
        DiscordSettings(_env_file=None)  # type: ignore[call-arg]


def test_parse_guild_ids() -> None:
    assert parse_guild_ids(["3,4", "4"]) == [3, 4]
    assert parse_guild_ids(["5 6,,7", ""]) == [5, 6, 7]
    assert parse_guild_ids([]) == []
    with pytest.raises(ConfigError):
        parse_guild_ids(["12x"])
