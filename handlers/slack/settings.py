"""Slack's settings: the SLACK_* environment variables (or .env)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from bot.errors import ConfigError
from handlers.platform import PlatformSettings, secret_text

DetailsView = Literal["thread", "modal"]


class SlackSettings(PlatformSettings):
    """SLACK_BOT_TOKEN, SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP mode), …"""

    model_config = SettingsConfigDict(env_prefix="SLACK_")

    bot_token: SecretStr | None = None
    app_token: SecretStr | None = None
    signing_secret: SecretStr | None = None
    mode: Literal["socket", "http"] = "socket"
    api_url: str | None = None  # a test server or a proxy of slack.com/api
    # Details button: a reply in the digest's thread, or a modal for the clicker alone.
    details_view: DetailsView = "thread"


@dataclass(frozen=True)
class SlackConfig:
    """What the Slack bot needs; `from_settings` refuses incomplete combinations."""

    bot_token: str
    mode: Literal["socket", "http"] = "socket"
    app_token: str | None = None
    signing_secret: str | None = None
    api_url: str | None = None
    details_view: DetailsView = "thread"

    @classmethod
    def from_settings(cls, settings: SlackSettings) -> SlackConfig | None:
        """None when Slack is not configured at all; ConfigError when half configured."""
        bot = secret_text(settings.bot_token)
        app = secret_text(settings.app_token)
        signing = secret_text(settings.signing_secret)
        if not bot:
            if app or signing:
                raise ConfigError(
                    "SLACK_BOT_TOKEN (xoxb-…) is missing; the other SLACK_* "
                    "settings are useless without it."
                )
            return None
        if not bot.startswith("xoxb-"):
            raise ConfigError("SLACK_BOT_TOKEN must be a bot token (it starts with xoxb-).")
        if settings.mode == "socket":
            if not app:
                raise ConfigError(
                    "SLACK_BOT_TOKEN is set but SLACK_APP_TOKEN is missing: Socket Mode needs "
                    "an app-level token (xapp-…) with connections:write. Or set SLACK_MODE=http "
                    "and SLACK_SIGNING_SECRET."
                )
            if not app.startswith("xapp-"):
                raise ConfigError("SLACK_APP_TOKEN must be an app-level token (xapp-…).")
        elif not signing:
            raise ConfigError("SLACK_MODE=http needs SLACK_SIGNING_SECRET to verify requests.")
        return cls(
            bot_token=bot,
            mode=settings.mode,
            app_token=app,
            signing_secret=signing,
            api_url=settings.api_url,
            details_view=settings.details_view,
        )
