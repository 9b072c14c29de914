"""`digestbot doctor` for Feishu/Lark: the app id and secret, by a fresh tenant token."""

from __future__ import annotations

import httpx

from bot.doctor import Check
from bot.errors import ConfigError
from handlers.feishu.service import build_client
from handlers.feishu.settings import FeishuConfig, FeishuSettings

# https://open.feishu.cn/document/server-docs/authentication-management/access-token/tenant_access_token_internal
_CREDENTIAL_CODES = {10003: "invalid app id", 10014: "app secret invalid"}


async def doctor_check(settings: FeishuSettings) -> Check | None:
    """Fetch a tenant access token with the app id and secret (a fresh request, not the
    SDK's token cache); None when Feishu is not configured."""
    from lark_oapi.api.auth.v3 import (
        InternalTenantAccessTokenRequest,
        InternalTenantAccessTokenRequestBody,
    )

    try:
        config = FeishuConfig.from_settings(settings)
    except ConfigError as exc:
        return Check.failed("feishu", "incomplete settings", exc.user_message)
    if config is None:
        return None
    try:
        client = build_client(config)
    except ConfigError as exc:  # a domain lark-oapi refuses
        return Check.failed("feishu", f"unusable domain {config.domain}", exc.user_message)
    body = (
        InternalTenantAccessTokenRequestBody.builder()
        .app_id(config.app_id)
        .app_secret(config.app_secret)
        .build()
    )
    request = InternalTenantAccessTokenRequest.builder().request_body(body).build()
    try:
        response = await client.auth.v3.tenant_access_token.ainternal(request)
    except (httpx.HTTPError, ValueError) as exc:
        return Check.failed(
            "feishu",
            f"{config.domain} could not be reached ({type(exc).__name__})",
            "Check the network and proxy, and FEISHU_DOMAIN (feishu or lark).",
        )
    code = int(response.code or 0)
    if code != 0:
        what = _CREDENTIAL_CODES.get(code, str(response.msg or "")[:80])
        return Check.failed(
            "feishu",
            f"tenant token refused: code {code} ({what})",
            "Copy FEISHU_APP_ID (cli_…) and FEISHU_APP_SECRET again from the developer console "
            "→ your app → Credentials & Basic Info; a Lark (larksuite.com) app also needs "
            "FEISHU_DOMAIN=lark.",
        )
    return Check.passed("feishu", f"app {config.app_id} at {config.domain} ({config.mode} mode)")
