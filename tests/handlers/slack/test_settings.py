"""Slack's settings: SLACK_* from the environment, and the combinations SlackConfig refuses."""

from __future__ import annotations

from typing import Any

import pytest

from bot.errors import ConfigError
from handlers.slack.settings import SlackConfig, SlackSettings

_VARIABLES = ("BOT_TOKEN", "APP_TOKEN", "SIGNING_SECRET", "MODE", "API_URL", "DETAILS_VIEW")


@pytest.fixture(autouse=True)
def no_slack_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _VARIABLES:
        monkeypatch.delenv(f"SLACK_{name}", raising=False)


def settings(**values: Any) -> SlackSettings:
    return SlackSettings(_env_file=None, **values)  # type: ignore[call-arg]


def test_config_refuses_incomplete_settings() -> None:
    assert SlackConfig.from_settings(settings()) is None
    with pytest.raises(ConfigError, match="SLACK_APP_TOKEN is missing"):
        SlackConfig.from_settings(settings(bot_token="xoxb-1"))
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET"):
        SlackConfig.from_settings(settings(bot_token="xoxb-1", mode="http"))
    with pytest.raises(ConfigError, match="SLACK_BOT_TOKEN"):
        SlackConfig.from_settings(settings(app_token="xapp-1"))
    with pytest.raises(ConfigError, match="xoxb-"):
        SlackConfig.from_settings(settings(bot_token="xapp-1", app_token="xapp-2"))
    with pytest.raises(ConfigError, match="xapp-"):
        SlackConfig.from_settings(settings(bot_token="xoxb-1", app_token="xoxb-2"))
    config = SlackConfig.from_settings(settings(bot_token="xoxb-1", app_token="xapp-1"))
    assert config is not None and config.mode == "socket"


def test_the_environment_is_read_under_the_slack_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", " xoxb-env ")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "shh")
    monkeypatch.setenv("SLACK_MODE", "http")
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api/")
    monkeypatch.setenv("SLACK_DETAILS_VIEW", "modal")
    config = SlackConfig.from_settings(settings())
    assert config == SlackConfig(
        bot_token="xoxb-env",  # surrounding blanks of a pasted token are dropped
        mode="http",
        signing_secret="shh",
        api_url="http://127.0.0.1:9/api/",
        details_view="modal",
    )


def test_blank_secrets_count_as_unset() -> None:
    assert SlackConfig.from_settings(settings(bot_token=" ", app_token="")) is None
