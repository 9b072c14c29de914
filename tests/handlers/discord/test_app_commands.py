"""`/digest` registration (`digestbot discord-sync`), its autocomplete and option handling."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from discord.http import Route
from hypothesis import given
from hypothesis import strategies as st

from bot.errors import ConfigError
from digestbot.cli import main as cli_main
from handlers.discord.app_commands import suggest, sync_commands
from tests.fakes.discord_api import FakeDiscordApi
from tests.fakes.discord_harness import (
    Env,
    discord_env,
    dispatch,
)
from tests.fakes.discord_payloads import (
    BOT_TOKEN,
    GUILD_ID,
)


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    async with discord_env(tmp_path) as environment:
        yield environment


async def test_repo_autocomplete_offers_configured_names(env: Env) -> None:
    bot = await env.bot()
    payload = env.interaction("interaction_autocomplete.json")
    await dispatch(env, bot, payload)
    (callback,) = env.fake.callbacks
    assert callback["type"] == 8
    assert callback["data"]["choices"] == [
        {"name": "widget", "value": "widget"},
        {"name": "acme/widget", "value": "acme/widget"},
    ]


async def test_sync_registers_the_command_per_guild_or_globally(env: Env) -> None:
    lines = await sync_commands(BOT_TOKEN, [int(GUILD_ID)])
    assert lines and GUILD_ID in lines[0]
    (command,) = env.fake.commands[GUILD_ID]
    assert command["name"] == "digest"
    options = {o["name"]: o for o in command["options"]}
    assert options["repo"]["autocomplete"] is True and options["repo"]["required"] is True
    assert [c["value"] for c in options["lang"]["choices"]] == ["en", "zh"]
    assert [c["value"] for c in options["min"]["choices"]] == ["high", "medium", "low"]
    await sync_commands(BOT_TOKEN)
    assert [c["name"] for c in env.fake.commands["global"]] == ["digest"]
    (removed,) = await sync_commands(BOT_TOKEN, [int(GUILD_ID)], clear=True)
    assert env.fake.commands[GUILD_ID] == [] and "removed" in removed
    assert [c["name"] for c in env.fake.commands["global"]] == ["digest"]
    with pytest.raises(ConfigError):
        await sync_commands("wrong-token")


def test_discord_sync_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeDiscordApi() as fake:
        monkeypatch.setattr(Route, "BASE", fake.base_url)
        monkeypatch.setenv("DISCORD_BOT_TOKEN", BOT_TOKEN)
        monkeypatch.setenv("DISCORD_GUILD_IDS", f"{GUILD_ID}, 1100000000000000101")
        assert cli_main(["discord-sync"]) == 0
        assert set(fake.commands) == {GUILD_ID, "1100000000000000101"}
        assert cli_main(["discord-sync", "--global"]) == 0
        assert "global" in fake.commands
        assert "synced guild" in capsys.readouterr().out
        monkeypatch.setenv("DISCORD_BOT_TOKEN", "nope")
        assert cli_main(["discord-sync", "--guild", GUILD_ID]) == ConfigError.exit_code
        monkeypatch.setenv("DISCORD_BOT_TOKEN", BOT_TOKEN)
        assert cli_main(["discord-sync", "--guild", "abc"]) == ConfigError.exit_code


@given(st.lists(st.text(min_size=1, max_size=120), max_size=60), st.text(max_size=120))
def test_suggestions_respect_discord_limits(options: list[str], typed: str) -> None:
    choices = suggest(options, typed, keep_typed=True)
    assert len(choices) <= 25
    assert all(1 <= len(c.name) <= 100 and c.name == c.value for c in choices)
