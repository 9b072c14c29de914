"""Slack: slash command, mentions and thread replies in, Block Kit messages out (slack-bolt)."""

from __future__ import annotations

from formatters.slack_blocks import render_slack
from formatters.slack_details import render_slack_details
from handlers.platform import Platform
from handlers.slack.settings import SlackConfig, SlackSettings


def _configured(settings: SlackSettings) -> bool:
    """No SDK import: ConfigError when half configured."""
    return SlackConfig.from_settings(settings) is not None


SLACK = Platform(
    name="slack",
    settings=SlackSettings,
    enable_hint="SLACK_BOT_TOKEN and SLACK_APP_TOKEN (README: Run on Slack)",
    configured=_configured,
    package=__name__,
    render_digest=render_slack,
    render_details=render_slack_details,  # the thread-reply variant
)
