"""The Feishu bot end to end: encrypted, signed events through `EventDispatcherHandler.do`, the
conversation layer over a real git repo and SQLite, and lark-oapi posting to a fake OpenAPI."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from pathlib import Path
from typing import Any

import lark_oapi as lark
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.errors import ConfigError
from bot.models import Language
from digestbot.wiring import Core
from handlers.feishu.outbound import RetryPolicy
from handlers.feishu.service import HTTP_PATH, FeishuBot, IdentityRetry, build
from handlers.feishu.settings import FeishuConfig, FeishuSettings
from handlers.platform import PlatformContext, RequestHandler
from handlers.runtime.pacing import ChannelPacer
from tests.fakes.chat import NOW, build_chat_core, use_timed_source
from tests.fakes.conversations import conversation_of
from tests.fakes.feishu_api import BOT_OPEN_ID, FakeFeishuApi, FeishuFailure
from tests.fakes.feishu_bot import (
    CHAT,
    ENCRYPT_KEY,
    TOKEN,
    USER,
    Sleeps,
    button_values,
    cards,
    config_for,
    deliver,
    load,
    markdown_of,
    mention,
    post_digest,
    settle,
    started_bot,
    texts,
    wait_until,
)
from tests.fakes.feishu_callbacks import callback_request, signature
from tests.fakes.feishu_fixtures import core, fake, widget  # noqa: F401 - fixtures

# -- the HTTP callback: verification ----------------------------------------------------------


async def test_url_verification_answers_the_challenge(core: Core, fake: FakeFeishuApi) -> None:
    bot = await started_bot(core, fake)
    response = deliver(bot, load("url_verification"))
    assert response.status_code == 200
    assert json.loads(response.content) == {"challenge": "ajls384kdjx98XX"}


@pytest.mark.parametrize(
    "forge",
    [
        {"sign_with": "someone-elses-key"},  # encrypted with our key, signed with another
        {"key": None},  # plaintext, unsigned
        {"nonce": "replayed", "timestamp": "1"},  # headers changed after signing
    ],
)
async def test_forged_requests_are_rejected(
    core: Core, fake: FakeFeishuApi, forge: dict[str, Any]
) -> None:
    bot = await started_bot(core, fake)
    payload = mention("digest widget today")
    if "nonce" in forge:
        body, headers = callback_request(payload, ENCRYPT_KEY)
        headers["X-Lark-Request-Nonce"] = forge["nonce"]
        raw = lark.RawRequest()
        raw.uri, raw.body, raw.headers = HTTP_PATH, body, headers
        response = bot.dispatcher.do(raw)
    else:
        response = deliver(bot, payload, **forge)
    await settle(bot)
    assert response.status_code != 200
    assert fake.posted() == []


async def test_wrong_verification_token_is_rejected(core: Core, fake: FakeFeishuApi) -> None:
    bot = await started_bot(core, fake)
    payload = mention("digest widget today")
    payload["header"]["token"] = "not-our-token"
    response = deliver(bot, payload)  # properly encrypted and signed, but the wrong token
    await settle(bot)
    assert response.status_code != 200 and b"verification_token" in response.content
    assert fake.posted() == []


# -- commands, threads, buttons -----------------------------------------------------------------


async def test_command_is_acked_before_the_digest_is_built(core: Core, fake: FakeFeishuApi) -> None:
    gate = asyncio.Event()
    timed = use_timed_source(core, gate)  # holds every source call until the gate opens
    bot = await started_bot(core, fake)
    response = deliver(bot, mention("digest widget today"))
    # The dispatcher answered Feishu while nothing was fetched or posted yet.
    assert response.status_code == 200 and json.loads(response.content) == {"msg": "success"}
    assert timed.completed == 0 and fake.posted() == []
    await wait_until(lambda: texts(fake))
    notice = texts(fake)[0]
    assert "正在生成 acme/widget 的摘要（today）" in markdown_of(notice)
    assert notice.parent_id == "om_5ce6d572455d361153b7cb51da133945"  # quotes the user
    assert not notice.reply_in_thread
    assert cards(fake) == [] and timed.completed == 0
    gate.set()
    await settle(bot)
    [card] = [m for m in cards(fake) if m.parent_id is None]
    assert card.chat_id == CHAT and card.msg_type == "interactive"
    assert fake.posted().index(notice) < fake.posted().index(card)
    create = [c for c in fake.calls_to("create") if c.body and "header" in c.body["content"]]
    assert isinstance(create[0].body and create[0].body["content"], str)  # a JSON string
    assert create[0].query == {"receive_id_type": "chat_id"}
    assert create[0].body is not None and 0 < len(create[0].body["uuid"]) <= 50
    assert card.card["schema"] == "2.0" and card.card["header"]["subtitle"]["content"]


async def test_thread_reply_gets_details_in_the_thread(
    core: Core, fake: FakeFeishuApi, widget: tuple[Path, dict[str, str]]
) -> None:
    bot = await started_bot(core, fake)
    root = await post_digest(bot, fake)
    sha = widget[1]["feature"]
    payload = load("message_text_thread", SHA_PLACEHOLDER=sha[:7])
    payload = json.loads(
        json.dumps(payload).replace("om_root00000000000000000000000000", root.message_id)
    )
    assert deliver(bot, payload).status_code == 200
    await settle(bot)
    details = cards(fake)[-1]
    assert sha[:7] in details.card["header"]["subtitle"]["content"]
    assert (details.parent_id, details.root_id, details.reply_in_thread) == (
        root.message_id,
        root.message_id,
        True,
    )
    # The details message is recorded in the digest's thread: a question under it works too.
    question = load("message_post_thread", SHA_PLACEHOLDER=sha[:7])
    question = json.loads(
        json.dumps(question).replace("om_root00000000000000000000000000", root.message_id)
    )
    assert deliver(bot, question).status_code == 200
    await settle(bot)
    assert len(cards(fake)) == 3 and cards(fake)[-1].root_id == root.message_id


async def test_details_button_gives_details_in_the_thread(
    core: Core, fake: FakeFeishuApi, widget: tuple[Path, dict[str, str]]
) -> None:
    bot = await started_bot(core, fake)
    root = await post_digest(bot, fake)
    values = button_values(root.card)
    assert values, "the digest card has Details buttons"
    value = values[0]
    payload = load("card_action_trigger", SHA_PLACEHOLDER=value["sha"])
    payload["event"]["action"]["value"] = value
    payload["event"]["context"]["open_message_id"] = root.message_id
    response = deliver(bot, payload)
    # The click answers with a toast (the card.action.trigger response), in the bot's language
    # and, for Feishu clients set to the other one, in both.
    assert response.status_code == 200
    assert json.loads(response.content) == {
        "toast": {
            "type": "info",
            "content": "详情见下方",
            "i18n": {"zh_cn": "详情见下方", "en_us": "Details below ↓"},
        }
    }
    await settle(bot)
    details = cards(fake)[-1]
    assert value["sha"][:7] in details.card["header"]["subtitle"]["content"]
    assert (details.parent_id, details.reply_in_thread) == (root.message_id, True)
    assert value["sha"] in widget[1].values()


async def test_a_redelivered_event_gets_one_reply(core: Core, fake: FakeFeishuApi) -> None:
    bot = await started_bot(core, fake)
    first = mention("digest widget today")
    again = json.loads(json.dumps(first))
    again["header"]["event_id"] = "a-new-delivery-id"  # Feishu re-push of the same message
    assert deliver(bot, first).status_code == 200
    await settle(bot)
    assert deliver(bot, again).status_code == 200
    assert deliver(bot, first).status_code == 200
    await settle(bot)
    assert len(texts(fake)) == 1  # one "building" reply
    assert len([m for m in cards(fake) if m.parent_id is None]) == 1


async def test_one_to_one_help_is_a_plain_quote_reply(core: Core, fake: FakeFeishuApi) -> None:
    bot = await started_bot(core, fake)
    assert deliver(bot, load("message_text_p2p")).status_code == 200
    await settle(bot)
    [reply] = texts(fake)
    assert "digestbot commands" in markdown_of(reply)
    assert (reply.parent_id, reply.reply_in_thread) == ("om_p2p00000000000000000000000001", False)


async def test_group_owner_may_manage_subscriptions(core: Core, fake: FakeFeishuApi) -> None:
    fake.set_chat(CHAT, owner_id=USER, managers=["ou_manager"])
    bot = await started_bot(core, fake)
    deliver(bot, mention("subscriptions", message_id="om_a"))
    deliver(bot, mention("subscriptions", message_id="om_b", user="ou_passerby"))
    await settle(bot)
    replies = {m.parent_id: markdown_of(m) for m in texts(fake)}
    # Feishu reads Chinese unless another language is chosen.
    assert "这个机器人未启用订阅" in replies["om_a"]  # allowed, nothing configured
    assert "只有管理员或频道管理者" in replies["om_b"]
    assert fake.calls_to("chat")[0].query == {"user_id_type": "open_id"}


async def test_the_chat_is_looked_up_only_for_subscription_commands_that_go_on(
    core: Core, fake: FakeFeishuApi
) -> None:
    fake.set_chat(CHAT, owner_id=USER)
    bot = await started_bot(core, fake)
    deliver(bot, mention("digest widget today", message_id="om_digest"))
    deliver(bot, mention("subscribe nosuch/repo 09:00", message_id="om_refused"))
    deliver(bot, mention("subscriptions", message_id="om_list"))
    await settle(bot)
    deliver(bot, mention("subscriptions", message_id="om_list"))  # Feishu re-pushes it
    await settle(bot)
    assert len(fake.calls_to("chat")) == 1  # only the first `subscriptions`
    replies = {m.parent_id: markdown_of(m) for m in texts(fake)}
    assert "这个机器人未启用订阅" in replies["om_list"]
    assert "not on this bot's list" in replies["om_refused"]  # refused before any lookup


async def test_refused_credentials_stop_the_start(core: Core, fake: FakeFeishuApi) -> None:
    bot = FeishuBot(
        conversation_of(core), config_for(fake, app_id="cli_unknown_app", app_secret="nope")
    )
    with pytest.raises(ConfigError) as caught:
        await bot.start()
    assert "FEISHU_APP_ID" in caught.value.user_message
    assert "nope" not in str(caught.value)  # the secret never reaches a message or a log


async def test_the_bot_learns_its_open_id(core: Core, fake: FakeFeishuApi) -> None:
    bot = await started_bot(core, fake)
    assert bot.identity.open_id == BOT_OPEN_ID


# -- HTTP mode through aiohttp, and `digestbot serve` ---------------------------------------------


async def test_http_route_answers_and_works_after(core: Core, fake: FakeFeishuApi) -> None:
    bot = await started_bot(core, fake)
    app = web.Application()
    app.router.add_post(HTTP_PATH, bot.http_handler())
    async with TestClient(TestServer(app)) as client:
        body, headers = callback_request(load("url_verification"), ENCRYPT_KEY)
        challenge = await client.post(HTTP_PATH, data=body, headers=headers)
        assert challenge.status == 200
        assert (await challenge.json())["challenge"] == "ajls384kdjx98XX"
        body, headers = callback_request(mention("digest widget today"), ENCRYPT_KEY)
        headers = {key.lower(): value for key, value in headers.items()}  # any header case
        answer = await client.post(HTTP_PATH, data=body, headers=headers)
        assert answer.status == 200
        forged = await client.post(
            HTTP_PATH, data=body, headers={**headers, "x-lark-signature": "0" * 64}
        )
        assert forged.status == 401
    await settle(bot)
    assert len([m for m in cards(fake) if m.parent_id is None]) == 1


async def test_serve_runs_the_feishu_bot_in_http_mode(
    tmp_path: Path, widget: tuple[Path, dict[str, str]], fake: FakeFeishuApi
) -> None:
    from digestbot.chat_wiring import build_runtime
    from tests.fakes.platforms import platform_settings

    core = build_chat_core(tmp_path, widget[0])
    feishu = feishu_settings(
        app_id=fake.app_id,
        app_secret=fake.app_secret,
        domain=fake.base_url,
        mode="http",
        verification_token=TOKEN,
    )
    try:
        runtime = build_runtime(core, platform_settings(feishu=feishu))
        names = [service.name for service in runtime.services]
        assert "feishu (http mode)" in names
        assert "feishu" in runtime.adapters
        routes = runtime.http.app.router.routes()
        paths = {r.resource.canonical for r in routes if r.resource is not None}
        assert HTTP_PATH in paths
    finally:
        await core.aclose()


class Routes:
    """`serve`'s HTTP server as a platform sees it: what it registered."""

    def __init__(self) -> None:
        self.added: list[tuple[str, str]] = []

    def add_route(self, method: str, path: str, handler: RequestHandler) -> None:
        self.added.append((method, path))


def context_of(core: Core, routes: Routes, language: Language | None = None) -> PlatformContext:
    return PlatformContext(
        conversation=conversation_of(core),
        clock=lambda: NOW,
        routes=routes,
        repo_names=core.resolver.names,
        language=language,
    )


def feishu_settings(**values: Any) -> FeishuSettings:
    return FeishuSettings(_env_file=None, **values)  # type: ignore[call-arg]


def test_build_is_none_until_the_app_is_configured(core: Core) -> None:
    routes = Routes()
    assert build(feishu_settings(), context_of(core, routes)) is None
    with pytest.raises(ConfigError, match="FEISHU_APP_SECRET"):
        build(feishu_settings(app_id="cli_x"), context_of(core, routes))
    assert routes.added == []


def test_build_in_ws_mode_adds_no_route_and_reads_chinese_unless_chosen(core: Core) -> None:
    routes = Routes()
    settings = feishu_settings(app_id="cli_x", app_secret="s")
    bot = build(settings, context_of(core, routes))
    assert bot is not None and bot.name == "feishu (ws mode)"
    assert bot.config.language == "zh" and routes.added == []
    chosen = build(settings, context_of(core, routes, language="en"))
    assert chosen is not None and chosen.config.language == "en"


def test_build_in_http_mode_registers_the_callback_route(core: Core) -> None:
    routes = Routes()
    settings = feishu_settings(app_id="cli_x", app_secret="s", mode="http", verification_token="t")
    bot = build(settings, context_of(core, routes))
    assert bot is not None and bot.name == "feishu (http mode)"
    assert routes.added == [("POST", HTTP_PATH)]


# -- construction ------------------------------------------------------------------------------


def test_a_bad_domain_is_a_config_error(core: Core) -> None:
    config = FeishuConfig(app_id="cli_x", app_secret="s", domain="http://evil.example")
    with pytest.raises(ConfigError) as caught:
        FeishuBot(conversation_of(core), config)
    assert "FEISHU_DOMAIN" in caught.value.user_message


def test_events_before_start_are_dropped_not_run_inline(core: Core) -> None:
    """Before start() there is no loop to hand events to: they are dropped, not run inline."""
    config = FeishuConfig(app_id="cli_x", app_secret="s", domain="https://open.feishu.cn")
    bot = FeishuBot(conversation_of(core), config)
    results: list[Any] = []
    thread = threading.Thread(
        target=lambda: results.append(
            bot.dispatcher._do_without_validation(json.dumps(mention("help")).encode())
        )
    )
    thread.start()
    thread.join()
    assert results == [None] and bot.inflight.pending == 0


# -- the Details toast --------------------------------------------------------------------------


async def test_the_details_toast_speaks_the_bots_language_and_other_clicks_get_none(
    core: Core, fake: FakeFeishuApi
) -> None:
    bot = FeishuBot(
        conversation_of(core),
        config_for(fake, language="en"),
        pacer=ChannelPacer(0.2, sleep=Sleeps()),
        retry=RetryPolicy(sleep=Sleeps()),
        clock=lambda: NOW,
    )
    await bot.start()
    payload = load("card_action_trigger", SHA_PLACEHOLDER="00248d8")
    response = deliver(bot, payload)
    assert json.loads(response.content)["toast"]["content"] == "Details below ↓"
    payload["event"]["action"]["value"] = {"action": "something_else"}
    payload["header"]["event_id"] = "another-click"
    assert json.loads(deliver(bot, payload).content) == {}  # not our button: nothing to say
    await bot.stop(timeout=5)


# -- the HTTP callback's gate: never a 500, one log line, fresh signatures only ------------------


def _http_app(bot: FeishuBot) -> web.Application:
    app = web.Application()
    app.router.add_post(HTTP_PATH, bot.http_handler())
    return app


def _our_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """What the request logged (aiohttp's access log and the HTTP clients aside)."""
    return [r for r in caplog.records if not r.name.startswith(("aiohttp", "httpx"))]


def _signed(body: bytes, timestamp: str, key: str = ENCRYPT_KEY) -> dict[str, str]:
    nonce = "n0nce"
    return {
        "Content-Type": "application/json; charset=utf-8",
        "X-Lark-Request-Timestamp": timestamp,
        "X-Lark-Request-Nonce": nonce,
        "X-Lark-Signature": signature(timestamp, nonce, key, body),
    }


def _refused_requests() -> dict[str, tuple[bytes, dict[str, str], int]]:
    good_body, good_headers = callback_request(mention("digest widget today"), ENCRYPT_KEY)
    unsigned = {"Content-Type": "application/json"}
    now = int(NOW.timestamp())
    garbage = json.dumps({"encrypt": "bm90IGEgY2lwaGVydGV4dA=="}).encode()
    return {
        "malformed JSON": (b'{"encrypt": "abc', _signed(b'{"encrypt": "abc', str(now)), 400),
        "not an object": (b"[1, 2]", _signed(b"[1, 2]", str(now)), 400),
        "not UTF-8": (b"\xff\xfe{}", _signed(b"\xff\xfe{}", str(now)), 400),
        "plaintext body": (json.dumps(mention("help")).encode(), unsigned, 400),
        "missing headers": (good_body, unsigned, 400),
        "missing signature": (
            good_body,
            {k: v for k, v in good_headers.items() if k != "X-Lark-Signature"},
            400,
        ),
        "malformed timestamp": (good_body, _signed(good_body, "soon"), 400),
        "undecryptable": (garbage, _signed(garbage, str(now)), 400),
        "bad signature": (good_body, _signed(good_body, str(now), key="someone-elses"), 401),
        "stale timestamp": (good_body, _signed(good_body, str(now - 301)), 401),
        "future timestamp": (good_body, _signed(good_body, str(now + 301)), 401),
    }


@pytest.mark.parametrize("case", list(_refused_requests()))
async def test_bad_callbacks_get_a_4xx_and_one_log_line(
    core: Core, fake: FakeFeishuApi, caplog: pytest.LogCaptureFixture, case: str
) -> None:
    body, headers, status = _refused_requests()[case]
    bot = await started_bot(core, fake)
    async with TestClient(TestServer(_http_app(bot))) as client:
        caplog.clear()
        with caplog.at_level(logging.DEBUG):
            answer = await client.post(HTTP_PATH, data=body, headers=headers)
            text = await answer.text()
    await settle(bot)
    assert answer.status == status
    assert json.loads(text) == {"msg": "bad request" if status == 400 else "unauthorized"}
    [record] = _our_records(caplog)
    assert record.levelno == logging.WARNING and f"refused with {status}" in record.getMessage()
    assert record.exc_info is None  # a line, not a traceback
    assert fake.posted() == []


async def test_a_fresh_signed_callback_is_dispatched(core: Core, fake: FakeFeishuApi) -> None:
    bot = await started_bot(core, fake)
    now = int(NOW.timestamp())
    async with TestClient(TestServer(_http_app(bot))) as client:
        for skew, message_id in ((-299, "om_early"), (299, "om_late")):  # inside the window
            body, headers = callback_request(
                mention("help", message_id=message_id), ENCRYPT_KEY, timestamp=str(now + skew)
            )
            answer = await client.post(HTTP_PATH, data=body, headers=headers)
            assert answer.status == 200 and await answer.json() == {"msg": "success"}
    await settle(bot)
    assert {m.parent_id for m in texts(fake)} == {"om_early", "om_late"}


async def test_the_unsigned_url_verification_challenge_is_still_answered(
    core: Core, fake: FakeFeishuApi
) -> None:
    """The console's challenge may come without signature headers (every lark SDK accepts it
    so); its verification token is checked instead."""
    bot = await started_bot(core, fake)
    body, _ = callback_request(load("url_verification"), ENCRYPT_KEY)
    forged = load("url_verification")
    forged["token"] = "not-our-token"
    forged_body, _ = callback_request(forged, ENCRYPT_KEY)
    plain = {"Content-Type": "application/json"}
    async with TestClient(TestServer(_http_app(bot))) as client:
        answer = await client.post(HTTP_PATH, data=body, headers=plain)
        assert answer.status == 200
        assert (await answer.json())["challenge"] == "ajls384kdjx98XX"
        refused = await client.post(HTTP_PATH, data=forged_body, headers=plain)
        assert refused.status == 401


async def test_events_we_do_not_handle_are_acknowledged_not_failed(
    core: Core, fake: FakeFeishuApi, caplog: pytest.LogCaptureFixture
) -> None:
    bot = await started_bot(core, fake)
    read = mention("help")
    read["header"]["event_type"] = "im.message.message_read_v1"
    body, headers = callback_request(read, ENCRYPT_KEY)
    async with TestClient(TestServer(_http_app(bot))) as client:
        caplog.clear()
        with caplog.at_level(logging.DEBUG):
            answer = await client.post(HTTP_PATH, data=body, headers=headers)
    assert answer.status == 200  # a 500 would make Feishu re-push it four times
    [record] = _our_records(caplog)
    assert "im.message.message_read_v1 is not handled" in record.getMessage()


async def test_without_an_encrypt_key_the_token_authenticates(
    core: Core, fake: FakeFeishuApi
) -> None:
    bot = FeishuBot(
        conversation_of(core),
        config_for(fake, encrypt_key=None),
        pacer=ChannelPacer(0.2, sleep=Sleeps()),
        retry=RetryPolicy(sleep=Sleeps()),
        clock=lambda: NOW,
    )
    await bot.start()
    wrong = mention("help", message_id="om_wrong")
    wrong["header"]["token"] = "not-our-token"
    async with TestClient(TestServer(_http_app(bot))) as client:
        body, headers = callback_request(mention("help"), None)
        assert (await client.post(HTTP_PATH, data=body, headers=headers)).status == 200
        body, headers = callback_request(wrong, None)
        assert (await client.post(HTTP_PATH, data=body, headers=headers)).status == 401
        assert (await client.post(HTTP_PATH, data=b"nope", headers=headers)).status == 400
    await settle(bot)
    assert [m.parent_id for m in texts(fake)] == ["om_5ce6d572455d361153b7cb51da133945"]


async def test_a_failing_handler_is_a_500_without_the_exception_text(
    core: Core, fake: FakeFeishuApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot = await started_bot(core, fake)

    def broken(data: Any) -> None:
        raise RuntimeError("secret internals: /srv/app/token.txt")

    monkeypatch.setattr(bot.dispatcher._processorMap["p2.im.message.receive_v1"], "f", broken)
    body, headers = callback_request(mention("help"), ENCRYPT_KEY)
    async with TestClient(TestServer(_http_app(bot))) as client:
        answer = await client.post(HTTP_PATH, data=body, headers=headers)
        text = await answer.text()
    assert answer.status == 500 and "secret internals" not in text


# -- connection state -----------------------------------------------------------------------------


async def test_http_mode_is_connected_from_start_to_stop(core: Core, fake: FakeFeishuApi) -> None:
    bot = FeishuBot(
        conversation_of(core),
        config_for(fake),
        pacer=ChannelPacer(0.2, sleep=Sleeps()),
        retry=RetryPolicy(sleep=Sleeps()),
        clock=lambda: NOW,
    )
    assert not bot.connected
    await bot.start()
    assert bot.connected
    await bot.stop(timeout=5)
    assert not bot.connected


# -- the bot's identity ---------------------------------------------------------------------------


class GatedSleep:
    """An injected sleep that records the waits and returns only once the test opens it."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self.opened = asyncio.Event()

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await self.opened.wait()


async def test_an_unknown_identity_is_retried_and_groups_wait_for_it(
    core: Core, fake: FakeFeishuApi, caplog: pytest.LogCaptureFixture
) -> None:
    down = FeishuFailure(status=503, code=1, msg="service unavailable")
    fake.fail_next("bot", down, down)  # at start, and at the first background try
    gate = GatedSleep()
    bot = await started_bot(core, fake, identity_retry=IdentityRetry(sleep=gate))
    assert bot.identity.open_id is None and len(fake.calls_to("bot")) == 1

    # Before the bot knows who it is: a group @mention of someone else is not taken for a
    # mention of the bot (nor is any group message), one log line each; a DM is answered.
    someone = {"key": "@_user_1", "id": {"open_id": "ou_someone"}, "name": "Someone"}
    other = mention("help", message_id="om_for_someone")
    other["event"]["message"]["mentions"] = [someone]
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="handlers.feishu.service"):
        assert deliver(bot, other).status_code == 200
        assert deliver(bot, mention("help", message_id="om_for_us_early")).status_code == 200
    ignored = [r for r in caplog.records if "not known yet" in r.getMessage()]
    assert len(ignored) == 2 and "om_for_someone" in ignored[0].getMessage()
    assert deliver(bot, load("message_text_p2p")).status_code == 200
    await settle(bot)
    assert [m.parent_id for m in texts(fake)] == ["om_p2p00000000000000000000000001"]

    # The background retry: fails once more, then learns the identity (2 s, then 4 s).
    gate.opened.set()
    await wait_until(lambda: bot.identity.open_id == BOT_OPEN_ID)
    assert gate.waits == [2.0, 4.0] and len(fake.calls_to("bot")) == 3

    # Now the bot's own mention is answered, and someone else's is still not ours.
    deliver(bot, mention("help", message_id="om_for_us"))
    other["event"]["message"]["message_id"] = "om_for_someone_later"
    deliver(bot, other)
    await settle(bot)
    answered = [m.parent_id for m in texts(fake)]
    assert answered == ["om_p2p00000000000000000000000001", "om_for_us"]
    await bot.stop(timeout=5)


def test_the_identity_backoff_doubles_up_to_its_cap() -> None:
    waits = IdentityRetry(first=2.0, cap=300.0).delays()
    assert [next(waits) for _ in range(10)] == [2, 4, 8, 16, 32, 64, 128, 256, 300, 300]


async def test_stop_ends_the_identity_retry(core: Core, fake: FakeFeishuApi) -> None:
    fake.fail_next("bot", FeishuFailure(status=503, code=1, msg="down"))
    gate = GatedSleep()
    bot = await started_bot(core, fake, identity_retry=IdentityRetry(sleep=gate))
    await wait_until(lambda: gate.waits)
    await asyncio.wait_for(bot.stop(timeout=5), 5)
    assert bot._identity_task is not None and bot._identity_task.cancelled()
