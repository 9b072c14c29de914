"""Settings from the environment, the core's and every platform's, with one-line errors."""

from __future__ import annotations

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
