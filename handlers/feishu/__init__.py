"""Feishu/Lark: messages and card clicks in (long connection or HTTP), cards out (lark-oapi)."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from bot.errors import ConfigError
from formatters.feishu_card import render_feishu
from formatters.feishu_details import render_feishu_details
from handlers.feishu.settings import FeishuConfig, FeishuSettings
from handlers.platform import Platform, PlatformContext, PlatformService

if TYPE_CHECKING:  # bot.doctor loads SQLAlchemy: not for naming a platform
    from bot.doctor import Check


def _configured(settings: FeishuSettings) -> bool:
    return FeishuConfig.from_settings(settings) is not None


def _build(settings: FeishuSettings, context: PlatformContext) -> PlatformService | None:
    if not _configured(settings):
        return None  # not configured: lark-oapi is never loaded
    from handlers.feishu.service import build

    return build(settings, context)


async def _doctor(settings: FeishuSettings) -> Check | None:
    with contextlib.suppress(ConfigError):  # half configured: its check says what is missing
        if not _configured(settings):
            return None  # not configured: nothing to check, and no SDK to load
    from handlers.feishu.doctor import doctor_check

    return await doctor_check(settings)


FEISHU = Platform(
    name="feishu",
    settings=FeishuSettings,
    enable_hint="FEISHU_APP_ID and FEISHU_APP_SECRET (README: Run on Feishu / Lark)",
    configured=_configured,
    build=_build,
    doctor=_doctor,
    render_digest=render_feishu,
    render_details=render_feishu_details,
)
