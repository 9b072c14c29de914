"""Slack's doctor check against the fake Web API: tokens, workspace, granted scopes, failures.

The CLI's table (one row per platform, exit codes) is tested in tests/digestbot/test_doctor.py.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from handlers.slack.doctor import REQUIRED_SCOPES, doctor_check, missing_scopes
from handlers.slack.settings import SlackSettings
from tests.fakes.slack_api import MANIFEST_SCOPES, FakeSlackApi, SlackFailure

BOT_TOKEN = "xoxb-1111-2222-doctor"
APP_TOKEN = "xapp-1-A111-2222-doctor"
_VARIABLES = ("BOT_TOKEN", "APP_TOKEN", "SIGNING_SECRET", "MODE", "API_URL", "DETAILS_VIEW")


@pytest.fixture(autouse=True)
def no_slack_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _VARIABLES:
        monkeypatch.delenv(f"SLACK_{name}", raising=False)


@pytest.fixture
def fake() -> Iterator[FakeSlackApi]:
    with FakeSlackApi() as api:
        api.socket_url = "ws://127.0.0.1:9/link"  # what apps.connections.open hands out
        yield api


def settings(**values: Any) -> SlackSettings:
    return SlackSettings(_env_file=None, **values)  # type: ignore[call-arg]


def socket_mode(fake: FakeSlackApi) -> SlackSettings:
    return settings(bot_token=BOT_TOKEN, app_token=APP_TOKEN, api_url=fake.base_url)


async def test_unconfigured_slack_is_not_checked() -> None:
    assert await doctor_check(settings()) is None


async def test_half_configured_slack_fails_without_calling_slack(fake: FakeSlackApi) -> None:
    check = await doctor_check(settings(bot_token=BOT_TOKEN, api_url=fake.base_url))
    assert check is not None and not check.ok and check.detail == "incomplete settings"
    assert check.fix is not None and "SLACK_APP_TOKEN" in check.fix
    assert not fake.calls


async def test_socket_mode_checks_both_tokens(fake: FakeSlackApi) -> None:
    check = await doctor_check(socket_mode(fake))
    assert check is not None and check.ok, check
    assert check.detail == "workspace Fake Team as @digestbot (socket mode)"
    auth, opened = fake.calls
    assert (auth.method, auth.token) == ("auth.test", BOT_TOKEN)
    assert (opened.method, opened.token) == ("apps.connections.open", APP_TOKEN)


async def test_http_mode_checks_the_bot_token_only(fake: FakeSlackApi) -> None:
    http = settings(bot_token=BOT_TOKEN, signing_secret="s", mode="http", api_url=fake.base_url)
    check = await doctor_check(http)
    assert check is not None and check.ok and "(http mode)" in check.detail
    assert [c.method for c in fake.calls] == ["auth.test"]


async def test_missing_scopes_are_named_with_the_fix(fake: FakeSlackApi) -> None:
    fake.granted_scopes = "commands,chat:write,chat:write.public,app_mentions:read"
    check = await doctor_check(socket_mode(fake))
    assert check is not None and not check.ok
    assert check.detail == "missing scopes: channels:history, files:write, groups:history"
    assert check.fix is not None and "reinstall the app" in check.fix


async def test_no_scope_header_is_not_a_failure(fake: FakeSlackApi) -> None:
    fake.granted_scopes = None
    check = await doctor_check(socket_mode(fake))
    assert check is not None and check.ok


@pytest.mark.parametrize(
    ("error", "fix_start"),
    [
        ("token_revoked", "The bot token was revoked"),
        ("account_inactive", "The app was uninstalled"),
        ("some_new_error", "Slack said some_new_error: see https://api.slack.com/methods/auth"),
    ],
)
async def test_auth_failures_say_what_to_do(fake: FakeSlackApi, error: str, fix_start: str) -> None:
    fake.fail_next("auth.test", SlackFailure(error=error))
    check = await doctor_check(socket_mode(fake))
    assert check is not None and not check.ok and check.detail == f"auth.test: {error}"
    assert check.fix is not None and check.fix.startswith(fix_start)
    assert [c.method for c in fake.calls] == ["auth.test"]


async def test_a_refused_app_token_points_at_socket_mode(fake: FakeSlackApi) -> None:
    fake.socket_url = ""  # the fake then answers invalid_auth
    check = await doctor_check(socket_mode(fake))
    assert check is not None and not check.ok
    assert check.detail == "apps.connections.open: invalid_auth"
    assert check.fix is not None and "connections:write" in check.fix


async def test_an_unreachable_slack_is_a_network_failure() -> None:
    with socket.socket() as sock:  # a port nothing listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    unreachable = settings(
        bot_token=BOT_TOKEN, app_token=APP_TOKEN, api_url=f"http://127.0.0.1:{port}/api/"
    )
    check = await doctor_check(unreachable)
    assert check is not None and not check.ok and "could not be reached" in check.detail
    assert check.fix is not None and "SLACK_API_URL" in check.fix


def test_missing_scopes_reads_the_header() -> None:
    assert missing_scopes(None) == [] and missing_scopes("") == []  # unknown: nothing missing
    assert missing_scopes(" commands , chat:write ") == [
        "app_mentions:read",
        "channels:history",
        "chat:write.public",
        "files:write",
        "groups:history",
    ]
    assert missing_scopes(",".join(sorted(REQUIRED_SCOPES)) + ",users:read") == []


def test_the_required_scopes_are_the_manifests() -> None:
    yaml = pytest.importorskip("yaml")
    manifest = yaml.safe_load((Path(__file__).parents[3] / "slack_manifest.yaml").read_text())
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == REQUIRED_SCOPES
    assert set(MANIFEST_SCOPES) == REQUIRED_SCOPES
