"""Driving a FeishuBot in tests: a bot wired to the fake OpenAPI, recorded event payloads
(tests/data/feishu) delivered encrypted and signed through its dispatcher, and readers of what
the fake received."""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lark_oapi as lark

from digestbot.wiring import Core
from handlers.conversation.conversation import Conversation
from handlers.feishu.outbound import RetryPolicy
from handlers.feishu.service import HTTP_PATH, FeishuBot
from handlers.feishu.settings import FeishuConfig
from handlers.runtime.pacing import ChannelPacer
from tests.fakes.chat import NOW, make_widget_repo
from tests.fakes.conversations import conversation_of
from tests.fakes.feishu_api import FakeFeishuApi, FakeMessage
from tests.fakes.feishu_callbacks import callback_request

DATA = Path(__file__).resolve().parents[1] / "data" / "feishu"
ENCRYPT_KEY = "fake-encrypt-key-0123456789"
TOKEN = "fake-verification-token"
CHAT = "oc_5ad11d72b830411d72b836c20"
USER = "ou_84aad35d084aa403a838cf73ee18467"


def widget_with_origin(path: Path) -> dict[str, str]:
    """tests.fakes.chat's widget repository with a GitHub origin: the cards then link the
    commits, and with the links come the Details buttons."""
    shas = make_widget_repo(path)
    subprocess.run(
        ["git", "-C", str(path), "remote", "add", "origin", "https://github.com/acme/widget.git"],
        check=True,
    )
    return shas


class Sleeps:
    """An injected sleep: records the waits, never sleeps."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def config_for(fake: FakeFeishuApi, **changes: Any) -> FeishuConfig:
    values: dict[str, Any] = {
        "app_id": fake.app_id,
        "app_secret": fake.app_secret,
        "domain": fake.base_url,
        "mode": "http",
        "encrypt_key": ENCRYPT_KEY,
        "verification_token": TOKEN,
        **changes,
    }
    return FeishuConfig(**values)


async def started_bot(
    core: Core,
    fake: FakeFeishuApi,
    *,
    sleeps: Sleeps | None = None,
    conversation: Conversation | None = None,
    pacer: ChannelPacer | None = None,
    **kw: Any,
) -> FeishuBot:
    bot = FeishuBot(
        conversation or conversation_of(core),
        config_for(fake),
        pacer=pacer or ChannelPacer(0.2, sleep=Sleeps()),
        retry=RetryPolicy(sleep=sleeps or Sleeps()),
        clock=lambda: NOW,
        **kw,
    )
    await bot.start()
    return bot


def load(name: str, **replace: str) -> dict[str, Any]:
    text = (DATA / f"{name}.json").read_text(encoding="utf-8")
    for old, new in replace.items():
        text = text.replace(old, new)
    payload: dict[str, Any] = json.loads(text)
    return payload


def mention(
    text: str, message_id: str = "om_5ce6d572455d361153b7cb51da133945", user: str = USER
) -> dict[str, Any]:
    payload = load("message_text_group_mention")
    message = payload["event"]["message"]
    message["content"] = json.dumps({"text": f"@_user_1 {text}"})
    message["message_id"] = message_id
    payload["event"]["sender"]["sender_id"]["open_id"] = user
    return payload


def deliver(
    bot: FeishuBot, payload: dict[str, Any], *, key: str | None = ENCRYPT_KEY, **kw: Any
) -> lark.RawResponse:
    body, headers = callback_request(payload, key, **kw)
    raw = lark.RawRequest()
    raw.uri, raw.body, raw.headers = HTTP_PATH, body, headers
    return bot.dispatcher.do(raw)


async def settle(bot: FeishuBot) -> None:
    """Let handed-off events start, then wait for every reply task."""
    for _ in range(50):
        await asyncio.sleep(0)
    await bot.inflight.join()


async def wait_until(condition: Callable[[], object], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


def cards(fake: FakeFeishuApi) -> list[FakeMessage]:
    return [m for m in fake.posted() if "header" in m.card]


def texts(fake: FakeFeishuApi) -> list[FakeMessage]:
    return [m for m in fake.posted() if "header" not in m.card]


def markdown_of(message: FakeMessage) -> str:
    return json.dumps(message.card, ensure_ascii=False)


def button_values(card: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(card, dict):
        for behavior in card.get("behaviors") or []:
            if behavior.get("type") == "callback":
                found.append(behavior["value"])
        for value in card.values():
            found += button_values(value)
    elif isinstance(card, list):
        for value in card:
            found += button_values(value)
    return found


async def post_digest(bot: FeishuBot, fake: FakeFeishuApi) -> FakeMessage:
    """`@digestbot digest widget today`; returns the digest's root card."""
    assert deliver(bot, mention("digest widget today")).status_code == 200
    await settle(bot)
    roots = [m for m in cards(fake) if m.parent_id is None]
    assert len(roots) == 1
    return roots[0]
