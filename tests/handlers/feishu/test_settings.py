"""Feishu's settings: the FEISHU_* variables, and `FeishuConfig.from_settings`, which refuses a
half-configured app and picks the domain and the digest language."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from bot.errors import ConfigError
from handlers.feishu import FEISHU
from handlers.feishu.settings import (
    FEISHU_DOMAIN,
    LARK_DOMAIN,
    FeishuConfig,
    FeishuSettings,
    feishu_domain,
)

FEISHU_VARIABLES = (
    "FEISHU_APP_ID",
    "FEISHU_APP_SECRET",
    "FEISHU_DOMAIN",
    "FEISHU_MODE",
    "FEISHU_ENCRYPT_KEY",
    "FEISHU_VERIFICATION_TOKEN",
)


def settings(**values: Any) -> FeishuSettings:
    return FeishuSettings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No FEISHU_* variables, and no .env (the settings read ./.env)."""
    for name in FEISHU_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def test_not_configured_at_all_is_none() -> None:
    assert FeishuConfig.from_settings(settings()) is None
    assert FeishuConfig.from_settings(settings(app_id="  ", app_secret=" ")) is None


def test_half_configured_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="FEISHU_APP_SECRET"):
        FeishuConfig.from_settings(settings(app_id="cli_x"))
    with pytest.raises(ConfigError, match="FEISHU_APP_ID"):
        FeishuConfig.from_settings(settings(app_secret="s"))
    with pytest.raises(ConfigError, match="useless"):
        FeishuConfig.from_settings(settings(verification_token="t"))
    with pytest.raises(ConfigError, match="useless"):
        FeishuConfig.from_settings(settings(encrypt_key="k"))


def test_http_mode_needs_the_verification_token() -> None:
    with pytest.raises(ConfigError, match="FEISHU_VERIFICATION_TOKEN"):
        FeishuConfig.from_settings(settings(app_id="cli_x", app_secret="s", mode="http"))
    config = FeishuConfig.from_settings(
        settings(app_id="cli_x", app_secret="s", mode="http", verification_token=" t ")
    )
    assert config is not None
    assert (config.mode, config.verification_token, config.encrypt_key) == ("http", "t", None)


def test_values_are_trimmed_and_the_domain_named() -> None:
    config = FeishuConfig.from_settings(
        settings(app_id=" cli_x ", app_secret=" s ", domain="lark", encrypt_key=" k ")
    )
    assert config is not None
    assert (config.app_id, config.app_secret, config.domain, config.mode) == (
        "cli_x",
        "s",
        LARK_DOMAIN,
        "ws",
    )
    assert config.encrypt_key == "k" and config.verification_token is None


@pytest.mark.parametrize(
    ("given", "domain"),
    [
        ("feishu", FEISHU_DOMAIN),
        ("Lark", LARK_DOMAIN),
        ("larksuite", LARK_DOMAIN),
        (" https://open.larksuite.com/ ", LARK_DOMAIN),
        ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),  # a test double, as given
    ],
)
def test_domain_words_and_urls(given: str, domain: str) -> None:
    assert feishu_domain(given) == domain


def test_chinese_is_the_default_on_feishu_unless_a_language_was_chosen() -> None:
    """The root passes the explicitly chosen language (DIGESTBOT_LANG, or `[defaults] language`
    written in the config file), else None; `lang en` in a command still wins later."""
    configured = settings(app_id="cli_x", app_secret="s")
    default = FeishuConfig.from_settings(configured)
    assert default is not None and default.language == "zh"
    unchosen = FeishuConfig.from_settings(configured, None)
    assert unchosen is not None and unchosen.language == "zh"
    chosen = FeishuConfig.from_settings(configured, "en")
    assert chosen is not None and chosen.language == "en"


def test_secrets_are_not_shown(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("FEISHU_APP_SECRET", "very-secret-value")
    clean_env.setenv("FEISHU_ENCRYPT_KEY", "very-secret-key")
    loaded = FeishuSettings(_env_file=None)  # type: ignore[call-arg]
    assert "very-secret" not in repr(loaded) and "very-secret" not in str(loaded)


def test_the_registry_reads_the_feishu_environment(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("FEISHU_APP_ID", "cli_env")
    clean_env.setenv("FEISHU_APP_SECRET", "from-env")
    clean_env.setenv("FEISHU_MODE", "http")
    clean_env.setenv("FEISHU_VERIFICATION_TOKEN", "token")
    clean_env.setenv("FEISHU_DOMAIN", "lark")
    clean_env.setenv("SLACK_BOT_TOKEN", "xoxb-not-ours")  # another prefix is ignored
    loaded = FEISHU.load_settings()
    assert isinstance(loaded, FeishuSettings)
    config = FeishuConfig.from_settings(loaded)
    assert config is not None
    assert (config.app_id, config.app_secret, config.mode, config.domain) == (
        "cli_env",
        "from-env",
        "http",
        LARK_DOMAIN,
    )


def test_an_unknown_mode_is_refused(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("FEISHU_MODE", "socket")
    with pytest.raises(ValidationError) as caught:
        FEISHU.load_settings()
    assert caught.value.errors()[0]["loc"] == ("mode",)


def test_a_dot_env_file_is_read_too(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("FEISHU_APP_ID=cli_dotenv\nFEISHU_APP_SECRET=s\n")
    clean_env.setenv("FEISHU_APP_SECRET", "from-env")  # the environment wins over .env
    config = FeishuConfig.from_settings(FEISHU.load_settings())
    assert config is not None and (config.app_id, config.app_secret) == ("cli_dotenv", "from-env")
