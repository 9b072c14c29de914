"""Settings from the environment, the core's and every platform's, with one-line errors."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import ValidationError

from bot.errors import ConfigError
from handlers.platform import PlatformSettings
from handlers.registry import PLATFORMS


def load_platform_settings() -> dict[str, PlatformSettings]:
    """Every registered platform's settings from the environment; ConfigError names the first
    malformed variable."""
    loaded: dict[str, PlatformSettings] = {}
    for platform in PLATFORMS:
        try:
            loaded[platform.name] = platform.load_settings()
        except ValidationError as exc:
            raise ConfigError(invalid_setting(exc, prefix=f"{platform.name}_")) from None
    return loaded


def invalid_setting(exc: ValidationError, *, prefix: str = "") -> str:
    """`invalid setting NAME: why`, for the first error of a settings model."""
    first = exc.errors()[0]
    name = f"{prefix}{first['loc'][0]}".upper() if first["loc"] else prefix.rstrip("_").upper()
    return f"invalid setting {name}: {first['msg']}"


def no_platform_message() -> str:
    hints = " or ".join(p.enable_hint for p in PLATFORMS)
    return (
        f"No chat platform is configured. Set {hints}. To try the bot without a platform, "
        "run `digestbot chat`."
    )


def require_a_platform(platform_settings: Mapping[str, PlatformSettings]) -> None:
    """ConfigError unless some platform is configured (and none is half configured): `serve`
    says so before it opens the store or loads any SDK."""
    if not any(p.configured(platform_settings[p.name]) for p in PLATFORMS):
        raise ConfigError(no_platform_message())
