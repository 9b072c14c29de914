"""`digestbot doctor` for Slack: the tokens, the workspace and the granted scopes."""

from __future__ import annotations

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.doctor import Check
from bot.errors import ConfigError
from handlers.slack.settings import SlackConfig, SlackSettings

# The bot scopes slack_manifest.yaml asks for; auth.test reports the granted ones in the
# x-oauth-scopes header (https://api.slack.com/methods/auth.test).
REQUIRED_SCOPES = frozenset(
    {
        "commands",
        "chat:write",
        "chat:write.public",
        "app_mentions:read",
        "channels:history",
        "groups:history",
        "files:write",  # the week's chart of a weekly subscription (files.uploadV2 flow)
    }
)
_REINSTALL = "reinstall the app (Settings → Install App) and copy the Bot User OAuth Token (xoxb-…)"
_AUTH_FIXES = {
    "invalid_auth": f"Slack said invalid_auth: the bot token is wrong or revoked; {_REINSTALL} "
    "into SLACK_BOT_TOKEN.",
    "not_authed": "Slack got no token: set SLACK_BOT_TOKEN (xoxb-…).",
    "token_revoked": f"The bot token was revoked: {_REINSTALL} into SLACK_BOT_TOKEN.",
    "account_inactive": f"The app was uninstalled or its user deactivated: {_REINSTALL}.",
    "token_expired": "The token expired (token rotation is on): turn rotation off in OAuth & "
    f"Permissions, or {_REINSTALL}.",
}
_APP_TOKEN_FIX = (
    "Slack refused SLACK_APP_TOKEN: Basic Information → App-Level Tokens → generate a token "
    "with the connections:write scope (xapp-…), and enable Socket Mode."
)


async def doctor_check(settings: SlackSettings) -> Check | None:
    """`auth.test` with the bot token (and, in Socket Mode, `apps.connections.open` with the app
    token); None when Slack is not configured."""
    try:
        config = SlackConfig.from_settings(settings)
    except ConfigError as exc:
        return Check.failed("slack", "incomplete settings", exc.user_message)
    if config is None:
        return None
    base = config.api_url or AsyncWebClient.BASE_URL
    client = AsyncWebClient(token=config.bot_token, base_url=base, timeout=15)
    try:
        found = await client.auth_test()
        if config.mode == "socket" and config.app_token:
            try:
                await AsyncWebClient(base_url=base, timeout=15).apps_connections_open(
                    app_token=config.app_token
                )
            except SlackApiError as exc:
                return Check.failed(
                    "slack", f"apps.connections.open: {_slack_error(exc)}", _APP_TOKEN_FIX
                )
    except SlackApiError as exc:
        error = _slack_error(exc)
        fix = _AUTH_FIXES.get(
            error, f"Slack said {error}: see https://api.slack.com/methods/auth.test#errors."
        )
        return Check.failed("slack", f"auth.test: {error}", fix)
    except (aiohttp.ClientError, TimeoutError) as exc:
        return Check.failed(
            "slack",
            f"Slack could not be reached ({type(exc).__name__})",
            "Check the network and proxy (and SLACK_API_URL if set).",
        )
    missing = missing_scopes(found.headers.get("x-oauth-scopes"))
    if missing:
        return Check.failed(
            "slack",
            f"missing scopes: {', '.join(missing)}",
            "Add them under OAuth & Permissions → Bot Token Scopes (or paste "
            "slack_manifest.yaml again), then reinstall the app.",
        )
    team, user = found.get("team") or "?", found.get("user") or "?"
    return Check.passed("slack", f"workspace {team} as @{user} ({config.mode} mode)")


def missing_scopes(granted: str | None) -> list[str]:
    """The required scopes absent from an x-oauth-scopes header (none known: nothing missing)."""
    if not granted:
        return []
    have = {s.strip() for s in granted.split(",")}
    return sorted(REQUIRED_SCOPES - have)


def _slack_error(exc: SlackApiError) -> str:
    response = exc.response
    error = response.get("error") if response is not None else None
    return str(error or "unknown_error")
