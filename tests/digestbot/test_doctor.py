"""`digestbot doctor` end to end: the CLI against fake GitHub, OpenAI, Slack, Feishu and Discord
servers (the real SDKs), one failing dependency at a time."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from discord.http import Route

from digestbot.cli import main
from tests.fakes.chat import preserved_logging
from tests.fakes.discord_api import FakeDiscordApi
from tests.fakes.discord_payloads import BOT_TOKEN as DISCORD_TOKEN
from tests.fakes.feishu_api import APP_ID, APP_SECRET, FakeFeishuApi
from tests.fakes.github_server import FakeGitHub
from tests.fakes.openai_server import FakeOpenAI, http_error, text
from tests.fakes.slack_api import FakeSlackApi

GITHUB_TOKEN = "ghp_doctorcanarydoctorcanary0000"
OPENAI_KEY = "sk-doctor-canary-0123456789abcdef"
SLACK_BOT = "xoxb-1111-2222-doctorcanary"
SLACK_APP = "xapp-1-A111-2222-doctorcanary"
SECRETS = (GITHUB_TOKEN, OPENAI_KEY, SLACK_BOT, SLACK_APP, APP_SECRET, DISCORD_TOKEN)
PLATFORM_VARS = (
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_MODE",
    "SLACK_API_URL",
    "FEISHU_APP_ID",
    "FEISHU_APP_SECRET",
    "FEISHU_DOMAIN",
    "FEISHU_ENCRYPT_KEY",
    "FEISHU_VERIFICATION_TOKEN",
    "DISCORD_BOT_TOKEN",
    "DISCORD_MESSAGE_CONTENT",
)


@dataclass
class World:
    github: FakeGitHub
    llm: FakeOpenAI
    slack: FakeSlackApi
    feishu: FakeFeishuApi
    discord: FakeDiscordApi
    monkeypatch: pytest.MonkeyPatch


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    """Every dependency configured and healthy."""
    for name in ("GITHUB_TOKEN", "OPENAI_API_KEY", "DATABASE_URL", "DIGESTBOT_TZ", *PLATFORM_VARS):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "digestbot.toml"
    config.write_text('[[repos]]\nname = "acme/widget"\n', encoding="utf-8")
    monkeypatch.setenv("DIGESTBOT_CONFIG", str(config))
    monkeypatch.setenv("DIGESTBOT_DATA_DIR", str(tmp_path / "data"))
    with (
        FakeGitHub() as github,
        FakeOpenAI() as llm,
        FakeSlackApi() as slack,
        FakeFeishuApi() as feishu,
        FakeDiscordApi() as discord_api,
        preserved_logging(),
    ):
        github.add_repo("acme/widget")
        github.add_commit("acme/widget", "init", committed_at=datetime(2026, 2, 8, tzinfo=UTC))
        llm.default = lambda _body: text("OK")
        slack.socket_url = "ws://127.0.0.1:9/link"  # what apps.connections.open hands out
        monkeypatch.setattr(Route, "BASE", discord_api.base_url)
        env = {
            "GITHUB_API_URL": github.url,
            "GITHUB_TOKEN": GITHUB_TOKEN,
            "OPENAI_API_KEY": OPENAI_KEY,
            "OPENAI_BASE_URL": llm.base_url,
            "LLM_MODEL": "fake-model",
            "SLACK_BOT_TOKEN": SLACK_BOT,
            "SLACK_APP_TOKEN": SLACK_APP,
            "SLACK_API_URL": slack.base_url,
            "FEISHU_APP_ID": APP_ID,
            "FEISHU_APP_SECRET": APP_SECRET,
            "FEISHU_DOMAIN": feishu.base_url,
            "DISCORD_BOT_TOKEN": DISCORD_TOKEN,
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        yield World(github, llm, slack, feishu, discord_api, monkeypatch)


def doctor(capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, tuple[str, str, str]]]:
    """Run `digestbot doctor`; (exit code, name -> (mark, detail, fix))."""
    code = main(["doctor"])
    out, err = capsys.readouterr()
    for secret in SECRETS:
        assert secret not in out and secret not in err
    rows: dict[str, tuple[str, str, str]] = {}
    last = ""
    for line in out.splitlines():
        if line[:1] in {"✓", "✗", "–"}:
            mark, rest = line[0], line[2:]
            name, _, detail = rest.partition("  ")
            last = name.strip()
            rows[last] = (mark, detail.strip(), "")
        elif line.strip().startswith("fix:"):
            mark, detail, _ = rows[last]
            rows[last] = (mark, detail, line.strip().removeprefix("fix: "))
    return code, rows


def test_all_green_is_exit_0_and_a_table_of_ticks(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    code, rows = doctor(capsys)
    assert code == 0, rows
    assert list(rows) == [
        "settings",
        "config",
        "time zones",
        "alerts webhook",
        "alerts polling",
        "database",
        "github",
        "repo acme/widget",
        "llm",
        "slack",
        "feishu",
        "discord",
    ]
    alerts = {"alerts webhook", "alerts polling"}  # not configured: skipped, not failed
    assert {mark for name, (mark, _, _) in rows.items() if name not in alerts} == {"✓"}
    assert {rows[name][0] for name in alerts} == {"–"}
    assert "Fake Team" in rows["slack"][1] and "socket mode" in rows["slack"][1]
    assert APP_ID in rows["feishu"][1]
    assert "digestbot" in rows["discord"][1]
    # one cheap call each
    assert [c.method for c in world.slack.calls] == ["auth.test", "apps.connections.open"]
    assert len(world.llm.requests) == 1 and world.llm.requests[0]["max_tokens"] == 1
    assert [c.kind for c in world.feishu.calls] == ["token"]
    assert [c.path for c in world.discord.calls] == ["/users/@me"]


def test_unconfigured_platforms_are_skipped_not_failed(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in PLATFORM_VARS:
        world.monkeypatch.delenv(name, raising=False)
    world.monkeypatch.delenv("OPENAI_API_KEY")
    code, rows = doctor(capsys)
    assert code == 0
    for name in ("slack", "feishu", "discord", "llm"):
        assert rows[name][0] == "–", rows[name]
    assert "SLACK_BOT_TOKEN" in rows["slack"][1]
    assert not world.slack.calls and not world.feishu.calls and not world.discord.calls


def test_bad_github_token(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    world.github.fail_next("401", path_contains="/rate_limit")
    code, rows = doctor(capsys)
    assert code == 1
    assert rows["github"][0] == "✗" and "401" in rows["github"][1]
    assert "Set GITHUB_TOKEN" in rows["github"][2] and "Contents: read" in rows["github"][2]
    assert rows["repo acme/widget"][0] == "–"
    assert rows["slack"][0] == "✓"  # one failure does not hide the rest


def test_missing_repo(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    del world.github.repos["acme/widget"]
    code, rows = doctor(capsys)
    assert code == 1
    mark, detail, fix = rows["repo acme/widget"]
    assert mark == "✗" and "not found" in detail and "acme/widget" in fix


@pytest.mark.parametrize(("status", "words"), [(401, "OPENAI_API_KEY"), (500, "HTTP 500")])
def test_llm_failures(
    world: World, capsys: pytest.CaptureFixture[str], status: int, words: str
) -> None:
    world.llm.default = lambda _body: http_error(status)
    code, rows = doctor(capsys)
    assert code == 1
    mark, detail, fix = rows["llm"]
    assert mark == "✗" and words in detail and "heuristic" in fix


def test_slack_half_configured(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    world.monkeypatch.delenv("SLACK_APP_TOKEN")
    code, rows = doctor(capsys)
    assert code == 1 and rows["slack"][0] == "✗" and "SLACK_APP_TOKEN" in rows["slack"][2]
    assert not world.slack.calls


def test_feishu_bad_secret(world: World, capsys: pytest.CaptureFixture[str]) -> None:
    world.monkeypatch.setenv("FEISHU_APP_SECRET", "wrong-secret-value")
    code, rows = doctor(capsys)
    assert code == 1
    mark, detail, fix = rows["feishu"]
    assert mark == "✗" and "10014" in detail and "FEISHU_APP_SECRET" in fix
    assert "wrong-secret-value" not in detail + fix


def test_a_malformed_platform_setting_is_that_platforms_line(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world.monkeypatch.setenv("SLACK_MODE", "carrier-pigeon")
    code, rows = doctor(capsys)
    assert code == 1
    assert rows["slack"][0] == "✗" and "invalid setting SLACK_MODE" in rows["slack"][1]
    assert rows["feishu"][0] == "✓" and rows["discord"][0] == "✓"  # the others still checked
    assert not world.slack.calls


def test_bad_setting_reports_and_skips_the_rest(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    world.monkeypatch.setenv("HTTP_PORT", "99999")
    code, rows = doctor(capsys)
    assert code == 1
    assert rows["settings"][0] == "✗" and "HTTP_PORT" in rows["settings"][1]
    assert all(mark == "–" for name, (mark, _, _) in rows.items() if name != "settings")
    assert not world.github.requests and not world.slack.calls


def test_alert_settings_are_checked(
    world: World, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "digestbot.toml").write_text(
        '[[repos]]\nname = "acme/widget"\n\n[[subscriptions]]\nrepo = "acme/widget"\n'
        'platform = "slack"\nchannel = "C1"\nalerts = "high"\n\n'
        "[alerts]\nwebhook = true\npoll_minutes = 5\n",
        encoding="utf-8",
    )
    code, rows = doctor(capsys)
    assert code == 1 and rows["alerts webhook"][0] == "✗"
    assert "GITHUB_WEBHOOK_SECRET" in rows["alerts webhook"][1]
    assert (
        rows["alerts polling"][0] == "✓" and "12 requests/h of 5000/h" in rows["alerts polling"][1]
    )
    world.monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", "f" * 40)
    code, rows = doctor(capsys)
    assert rows["alerts webhook"][0] == "✓" and code == 0


def test_bad_config_and_time_zone(
    world: World, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    world.monkeypatch.setenv("DIGESTBOT_TZ", "Mars/Olympus")
    code, rows = doctor(capsys)
    assert code == 1 and rows["time zones"][0] == "✗" and "IANA" in rows["time zones"][2]
    (tmp_path / "digestbot.toml").write_text("[[repos]]\nname = \n", encoding="utf-8")
    code, rows = doctor(capsys)
    assert code == 1 and rows["config"][0] == "✗"
    assert rows["github"][0] == "–"  # which repos to check is unknown
