"""Feishu/Lark's settings: the FEISHU_* environment variables (or .env)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from bot.errors import ConfigError
from bot.models import Language
from handlers.platform import PlatformSettings, secret_text

FEISHU_DOMAIN = "https://open.feishu.cn"
LARK_DOMAIN = "https://open.larksuite.com"


class FeishuSettings(PlatformSettings):
    """FEISHU_APP_ID and FEISHU_APP_SECRET; the long connection (default) or HTTP callbacks."""

    model_config = SettingsConfigDict(env_prefix="FEISHU_")

    app_id: str | None = None
    app_secret: SecretStr | None = None
    domain: str = FEISHU_DOMAIN  # or LARK_DOMAIN, or the words "feishu" / "lark"
    mode: Literal["ws", "http"] = "ws"
    encrypt_key: SecretStr | None = None
    verification_token: SecretStr | None = None


@dataclass(frozen=True)
class FeishuConfig:
    """What the Feishu bot needs; `from_settings` refuses incomplete combinations."""

    app_id: str
    app_secret: str
    domain: str = FEISHU_DOMAIN
    mode: Literal["ws", "http"] = "ws"
    encrypt_key: str | None = None
    verification_token: str | None = None
    language: Language = "zh"

    @classmethod
    def from_settings(
        cls, settings: FeishuSettings, language: Language | None = None
    ) -> FeishuConfig | None:
        """None when Feishu is not configured at all; ConfigError when half configured."""
        app_id = (settings.app_id or "").strip() or None
        secret = secret_text(settings.app_secret)
        encrypt = secret_text(settings.encrypt_key)
        token = secret_text(settings.verification_token)
        if not app_id and not secret:
            if encrypt or token:
                raise ConfigError(
                    "FEISHU_APP_ID and FEISHU_APP_SECRET are missing; the other "
                    "FEISHU_* settings are useless without them."
                )
            return None
        if not app_id or not secret:
            raise ConfigError(
                "Set both FEISHU_APP_ID (cli_…) and FEISHU_APP_SECRET, from the "
                "app's Credentials & Basic Info page."
            )
        if settings.mode == "http" and not token:
            raise ConfigError(
                "FEISHU_MODE=http needs FEISHU_VERIFICATION_TOKEN (and, recommended, "
                "FEISHU_ENCRYPT_KEY) from the app's Events & Callbacks > Encryption page."
            )
        return cls(
            app_id=app_id,
            app_secret=secret,
            domain=feishu_domain(settings.domain),
            mode=settings.mode,
            encrypt_key=encrypt,
            verification_token=token,
            language=language or "zh",  # Feishu is read in Chinese unless chosen
        )


def feishu_domain(value: str) -> str:
    """`https://open.feishu.cn` (Feishu) or `https://open.larksuite.com` (Lark); the words
    `feishu` and `lark` are accepted too."""
    text = value.strip().rstrip("/")
    named = {"feishu": FEISHU_DOMAIN, "lark": LARK_DOMAIN, "larksuite": LARK_DOMAIN}
    return named.get(text.lower(), text)
