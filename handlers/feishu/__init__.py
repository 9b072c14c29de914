"""Feishu/Lark: messages and card clicks in (long connection or HTTP), cards out (lark-oapi)."""

from __future__ import annotations

from bot.doctor import Check
from formatters.feishu_card import render_feishu
from formatters.feishu_details import render_feishu_details
from handlers.feishu.settings import FeishuConfig, FeishuSettings
from handlers.platform import Platform, PlatformContext, PlatformService


def _build(settings: FeishuSettings, context: PlatformContext) -> PlatformService | None:
    if FeishuConfig.from_settings(settings, context.language) is None:
        return None  # not configured: lark-oapi is never loaded
    from handlers.feishu.service import build

    return build(settings, context)


async def _doctor(settings: FeishuSettings) -> Check | None:
    from handlers.feishu.doctor import doctor_check

    return await doctor_check(settings)


FEISHU = Platform(
    name="feishu",
    settings=FeishuSettings,
    enable_hint="FEISHU_APP_ID and FEISHU_APP_SECRET (README: Run on Feishu / Lark)",
    build=_build,
    doctor=_doctor,
    render_digest=render_feishu,
    render_details=render_feishu_details,
)
