"""Platform settings for `serve` in tests: the given platforms, every other one unconfigured."""

from __future__ import annotations

from handlers.platform import PlatformSettings
from handlers.registry import PLATFORMS


def platform_settings(**given: PlatformSettings) -> dict[str, PlatformSettings]:
    """`slack=SlackSettings(...)` and so on; the rest get empty settings (no .env, no env)."""
    unknown = set(given) - {p.name for p in PLATFORMS}
    if unknown:
        raise ValueError(f"no such platform: {sorted(unknown)}")
    return {p.name: given.get(p.name) or p.settings.model_construct() for p in PLATFORMS}


def slack_http(api_url: str, signing_secret: str, token: str = "xoxb-test") -> PlatformSettings:
    """Slack in HTTP mode against a fake Web API."""
    from pydantic import SecretStr

    from handlers.slack.settings import SlackSettings

    return SlackSettings(  # type: ignore[call-arg]
        _env_file=None,
        bot_token=SecretStr(token),
        signing_secret=SecretStr(signing_secret),
        mode="http",
        api_url=api_url,
    )
