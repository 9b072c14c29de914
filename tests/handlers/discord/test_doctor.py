"""Discord's doctor check against the fake Discord API (discord.py's own HTTP client), and the
invite URL it prints."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import discord
import pytest
from discord.http import Route
from pydantic import SecretStr

from handlers.discord.doctor import INTENTS_HELP, INVITE_PERMISSIONS, doctor_check, invite_url
from handlers.discord.settings import DiscordSettings
from tests.fakes.discord_api import DiscordFailure, FakeDiscordApi
from tests.fakes.discord_payloads import API_PREFIX, APPLICATION_ID, BOT_TOKEN, BOT_USER_ID


def settings(token: str | None = BOT_TOKEN, *, message_content: bool = False) -> DiscordSettings:
    return DiscordSettings(
        _env_file=None,  # type: ignore[call-arg]
        bot_token=SecretStr(token) if token is not None else None,
        message_content=message_content,
    )


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeDiscordApi]:
    with FakeDiscordApi() as api:
        monkeypatch.setattr(Route, "BASE", api.base_url)
        yield api


async def test_not_configured_is_no_check() -> None:
    assert await doctor_check(settings(None)) is None
    assert await doctor_check(settings("   ")) is None


async def test_a_good_token_passes_with_the_invite(fake: FakeDiscordApi) -> None:
    check = await doctor_check(settings())
    assert check is not None and check.ok and not check.skipped
    assert check.name == "discord" and f"digestbot (id {BOT_USER_ID})" in check.detail
    assert invite_url(int(BOT_USER_ID)) in check.detail
    assert [c.path for c in fake.calls] == ["/users/@me"]


async def test_a_refused_token_says_how_to_get_a_new_one(fake: FakeDiscordApi) -> None:
    check = await doctor_check(settings("not-the-token"))
    assert check is not None and not check.ok
    assert "401" in check.detail and check.fix is not None and "Reset Token" in check.fix
    assert "not-the-token" not in check.detail + check.fix


async def test_message_content_needs_the_intent_enabled(fake: FakeDiscordApi) -> None:
    off = await doctor_check(settings(message_content=True))  # the fake app's flags are 0
    assert off is not None and not off.ok and off.fix == INTENTS_HELP
    assert [c.path for c in fake.calls] == ["/users/@me", "/oauth2/applications/@me"]
    fake.world.application_flags = 1 << 19  # GATEWAY_MESSAGE_CONTENT_LIMITED
    on = await doctor_check(settings(message_content=True))
    assert on is not None and on.ok


async def test_other_http_errors_and_no_network(
    fake: FakeDiscordApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake.fail_next("GET", "/users/@me", DiscordFailure(403, 40002, "Verify your account"))
    check = await doctor_check(settings())
    assert check is not None and not check.ok
    assert check.detail == "Discord answered HTTP 403 (code 40002)"
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    monkeypatch.setattr(Route, "BASE", f"http://127.0.0.1:{port}{API_PREFIX}")
    check = await doctor_check(settings())
    assert check is not None and not check.ok and "could not be reached" in check.detail


def test_invite_asks_for_exactly_the_documented_permissions() -> None:
    wanted = discord.Permissions(
        view_channel=True,
        send_messages=True,
        send_messages_in_threads=True,
        create_public_threads=True,
        embed_links=True,
        attach_files=True,
        read_message_history=True,
    )
    assert wanted.value == INVITE_PERMISSIONS
    url = invite_url(42)
    assert "client_id=42" in url and "scope=bot+applications.commands" in url
    assert f"permissions={wanted.value}" in url
    assert "client_id=APPLICATION_ID" in invite_url(None)
    assert APPLICATION_ID == BOT_USER_ID  # so the doctor's invite names the application
    readme = (Path(__file__).parents[3] / "README.md").read_text(encoding="utf-8")
    assert f"`{wanted.value}`" in readme
