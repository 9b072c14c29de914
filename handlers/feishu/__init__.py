"""Feishu/Lark: messages and card clicks in (long connection or HTTP), cards out (lark-oapi)."""

from __future__ import annotations

from formatters.feishu_card import render_feishu
from formatters.feishu_details import render_feishu_details
from handlers.feishu.settings import FeishuConfig, FeishuSettings
from handlers.platform import Platform


def _configured(settings: FeishuSettings) -> bool:
    """No SDK import: ConfigError when half configured."""
    return FeishuConfig.from_settings(settings) is not None


FEISHU = Platform(
    name="feishu",
    settings=FeishuSettings,
    enable_hint="FEISHU_APP_ID and FEISHU_APP_SECRET (README: Run on Feishu / Lark)",
    configured=_configured,
    package=__name__,
    render_digest=render_feishu,
    render_details=render_feishu_details,
)
