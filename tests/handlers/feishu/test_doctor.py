"""`digestbot doctor`'s Feishu check against the fake OpenAPI: a fresh tenant token with the app
id and secret (the CLI around it is tested in tests/digestbot/test_doctor.py)."""

from __future__ import annotations

import socket
from typing import Any

from handlers.feishu import FEISHU
from handlers.feishu.doctor import doctor_check
from handlers.feishu.settings import FeishuSettings
from tests.fakes.feishu_api import FakeFeishuApi
from tests.fakes.feishu_fixtures import fake  # noqa: F401 - fixture


def settings(**values: Any) -> FeishuSettings:
    return FeishuSettings(_env_file=None, **values)  # type: ignore[call-arg]


def for_fake(fake: FakeFeishuApi, **changes: Any) -> FeishuSettings:
    values = {"app_id": fake.app_id, "app_secret": fake.app_secret, "domain": fake.base_url}
    return settings(**{**values, **changes})


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_not_configured_is_no_check(fake: FakeFeishuApi) -> None:
    assert await doctor_check(settings()) is None
    assert fake.calls == []


async def test_good_credentials_pass(fake: FakeFeishuApi) -> None:
    check = await FEISHU.doctor(for_fake(fake))  # the registry entry's doctor is this check
    assert check is not None and check.ok and not check.skipped
    assert check.name == "feishu"
    assert fake.app_id in check.detail and "ws mode" in check.detail
    [call] = fake.calls
    assert call.kind == "token" and call.body is not None
    assert call.body["app_id"] == fake.app_id


async def test_a_wrong_secret_says_which_variables_to_copy_again(fake: FakeFeishuApi) -> None:
    check = await doctor_check(for_fake(fake, app_secret="wrong-secret-value"))
    assert check is not None and not check.ok
    assert "10014" in check.detail and "app secret invalid" in check.detail
    assert check.fix is not None and "FEISHU_APP_SECRET" in check.fix
    assert "wrong-secret-value" not in f"{check.detail} {check.fix}"


async def test_half_configured_is_incomplete_settings(fake: FakeFeishuApi) -> None:
    check = await doctor_check(settings(app_id="cli_x"))
    assert check is not None and not check.ok
    assert check.detail == "incomplete settings"
    assert check.fix is not None and "FEISHU_APP_SECRET" in check.fix
    assert fake.calls == []


async def test_a_domain_lark_refuses_is_a_failed_check(fake: FakeFeishuApi) -> None:
    domain = "http://evil.example"
    check = await doctor_check(settings(app_id="cli_x", app_secret="s", domain=domain))
    assert check is not None and not check.ok
    assert check.detail == f"unusable domain {domain}"
    assert check.fix is not None and "FEISHU_DOMAIN" in check.fix


async def test_an_unreachable_domain_says_so() -> None:
    domain = f"http://127.0.0.1:{closed_port()}"
    check = await doctor_check(settings(app_id="cli_x", app_secret="s", domain=domain))
    assert check is not None and not check.ok
    assert "could not be reached" in check.detail and domain in check.detail
    assert check.fix is not None and "FEISHU_DOMAIN" in check.fix
