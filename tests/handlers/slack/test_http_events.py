"""POST /slack/events (SLACK_MODE=http): malformed or unsigned input gets a 4xx and one log line.

The real route (SlackBot.http_handler on an aiohttp server) with the real bolt app behind it,
and hypothesis over the screen in front of bolt."""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from handlers.slack.http_events import MAX_BODY_BYTES, Rejection, screen
from handlers.slack.service import HTTP_PATH, SlackBot
from handlers.slack.settings import SlackConfig
from tests.fakes.chat import build_chat_core, make_widget_repo
from tests.fakes.conversations import conversation_of
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.slack_requests import FORM, JSON, SIGNING_SECRET, sign, slash_command


@dataclass
class Endpoint:
    client: TestClient[web.Request, web.Application]
    api: FakeSlackApi

    async def post(self, body: bytes | str, headers: dict[str, str]) -> tuple[int, str]:
        async with self.client.post(HTTP_PATH, data=body, headers=headers) as response:
            return response.status, await response.text()


@pytest.fixture
async def endpoint(tmp_path: Path) -> AsyncIterator[Endpoint]:
    make_widget_repo(tmp_path / "widget")
    core = build_chat_core(tmp_path, tmp_path / "widget")
    with FakeSlackApi() as api:
        config = SlackConfig(bot_token="xoxb-test", mode="http", signing_secret=SIGNING_SECRET)
        bot = SlackBot(
            conversation_of(core),
            config,
            client=AsyncWebClient(token="xoxb-test", base_url=api.base_url),
        )
        app = web.Application()
        app.router.add_post(HTTP_PATH, bot.http_handler())
        async with TestClient(TestServer(app)) as client:
            yield Endpoint(client, api)
        await bot.stop(timeout=5)
    await core.aclose()


def signed(body: str, content_type: str = JSON, *, stamp: int | None = None) -> dict[str, str]:
    stamp = int(time.time()) if stamp is None else stamp
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(stamp),
        "X-Slack-Signature": sign(SIGNING_SECRET, stamp, body),
    }


def _huge_chunks() -> Iterator[bytes]:
    for _ in range(MAX_BODY_BYTES // 65536 + 2):
        yield b"x" * 65536


Case = tuple[bytes | str, dict[str, str], int]


def _cases() -> dict[str, Case]:
    """Built when a test runs: the signed ones carry the current time (signed at collection,
    they would be stale once a long suite reaches them, and get a 401)."""
    stale = int(time.time()) - 10 * 60
    return {
        "bad JSON, unsigned": ("{nope", {"Content-Type": JSON}, 400),
        "bad JSON, signed": ("{nope", signed("{nope"), 400),
        "a JSON array, signed": ("[1, 2]", signed("[1, 2]"), 400),
        "a JSON string, signed": ('"x"', signed('"x"'), 400),
        "a form whose payload is not JSON": (
            "payload=%7Bnope",
            signed("payload=%7Bnope", FORM),
            400,
        ),
        "a form whose payload is a list": (
            "payload=%5B1%5D",
            signed("payload=%5B1%5D", FORM),
            400,
        ),
        "a body that is not UTF-8": (b"text=\xff\xfe", {"Content-Type": FORM}, 400),
        "no signature headers": ("text=hi", {"Content-Type": FORM}, 400),
        "a timestamp that is not a number": (
            "text=hi",
            {
                "Content-Type": FORM,
                "X-Slack-Request-Timestamp": "soon",
                "X-Slack-Signature": "v0=0",
            },
            400,
        ),
        "odd shapes bolt reads ids from": (
            '{"authorizations": "x", "team": 1}',
            signed('{"authorizations": "x", "team": 1}'),
            400,
        ),
        "a huge body": ("x" * (MAX_BODY_BYTES + 1), {"Content-Type": FORM}, 400),
        "a bad signature": (
            "text=hi",
            {**signed("text=hi", FORM), "X-Slack-Signature": "v0=00"},
            401,
        ),
        "a stale timestamp": ("text=hi", signed("text=hi", FORM, stamp=stale), 401),
    }


CASE_NAMES = list(_cases())


@pytest.mark.parametrize("case", CASE_NAMES)
async def test_malformed_or_unsigned_input_gets_a_4xx_and_one_log_line(
    endpoint: Endpoint, caplog: pytest.LogCaptureFixture, case: str
) -> None:
    body, headers, expected = _cases()[case]
    caplog.set_level(logging.DEBUG)
    status, text = await endpoint.post(body, headers)
    assert status == expected
    assert json.loads(text) == {"error": "invalid request" if expected == 401 else "bad request"}
    lines = [r for r in caplog.records if r.name != "aiohttp.access" and r.levelno >= logging.INFO]
    assert len(lines) == 1, [r.getMessage() for r in lines]
    (line,) = lines
    assert line.name == "handlers.slack.service" and line.exc_info is None
    assert f"(HTTP {expected})" in line.getMessage() and "\n" not in line.getMessage()
    assert "Traceback" not in caplog.text
    assert not endpoint.api.calls  # nothing reached bolt, so nothing reached Slack


async def test_a_huge_chunked_body_is_refused_without_reading_it_all(
    endpoint: Endpoint, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)

    async def chunks() -> AsyncIterator[bytes]:
        for chunk in _huge_chunks():
            yield chunk

    async with endpoint.client.post(
        HTTP_PATH, data=chunks(), headers={"Content-Type": FORM}
    ) as response:
        assert response.status == 400
    (line,) = [r for r in caplog.records if r.name == "handlers.slack.service"]
    assert f"over {MAX_BODY_BYTES} bytes" in line.getMessage()


async def test_a_signed_slash_command_still_goes_through(endpoint: Endpoint) -> None:
    body = slash_command("help", trigger_id="t-ok")
    status, text = await endpoint.post(body, signed(body, FORM))
    assert status == 200 and "digestbot commands" in json.loads(text)["text"]


# -- the screen, for any input ------------------------------------------------------------

VERIFIER = SignatureVerifier(SIGNING_SECRET)
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
_bodies = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200).map(str.encode),
    _json_values.map(lambda v: json.dumps(v).encode()),
    _json_values.map(lambda v: ("payload=" + json.dumps(v)).encode()),
)
_headers = st.dictionaries(
    st.sampled_from(["Content-Type", "X-Slack-Request-Timestamp", "X-Slack-Signature"]),
    st.text(max_size=70),
)


@settings(max_examples=300, deadline=None)
@given(
    body=_bodies,
    headers=_headers,
    sign_it=st.booleans(),
    content_type=st.sampled_from([JSON, FORM, ""]),
)
def test_the_screen_never_raises_and_only_admits_signed_objects(
    body: bytes, headers: dict[str, str], sign_it: bool, content_type: str
) -> None:
    if sign_it:
        with contextlib.suppress(UnicodeDecodeError):
            headers = signed(body.decode("utf-8"), content_type)
    result = screen(body, headers, "", VERIFIER)
    if isinstance(result, Rejection):
        assert result.status in (400, 401) and "\n" not in result.reason
    else:
        assert isinstance(result, AsyncBoltRequest) and isinstance(result.body, dict)
        assert sign_it  # nothing unsigned gets through
