"""Slack: slash command, mentions and thread replies in, Block Kit messages out (slack-bolt)."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from bot.errors import ConfigError
from formatters.slack_blocks import render_slack
from formatters.slack_details import render_slack_details
from handlers.platform import Platform, PlatformContext, PlatformService
from handlers.slack.settings import SlackConfig, SlackSettings

if TYPE_CHECKING:  # bot.doctor loads SQLAlchemy: not for naming a platform
    from bot.doctor import Check


def _configured(settings: SlackSettings) -> bool:
    return SlackConfig.from_settings(settings) is not None


def _build(settings: SlackSettings, context: PlatformContext) -> PlatformService | None:
    if not _configured(settings):
        return None  # not configured: slack-bolt is never loaded
    from handlers.slack.service import build

    return build(settings, context)


async def _doctor(settings: SlackSettings) -> Check | None:
    with contextlib.suppress(ConfigError):  # half configured: its check says what is missing
        if not _configured(settings):
            return None  # not configured: nothing to check, and no SDK to load
    from handlers.slack.doctor import doctor_check

    return await doctor_check(settings)


SLACK = Platform(
    name="slack",
    settings=SlackSettings,
    enable_hint="SLACK_BOT_TOKEN and SLACK_APP_TOKEN (README: Run on Slack)",
    configured=_configured,
    build=_build,
    doctor=_doctor,
    render_digest=render_slack,
    render_details=render_slack_details,  # the thread-reply variant
)
