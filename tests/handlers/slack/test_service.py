"""The Slack bot through real bolt dispatch of signed requests, against a fake Slack Web API."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from digestbot.wiring import Core
from handlers.runtime.pacing import ChannelPacer
from handlers.slack.outbound import RetryAfterHandler
from handlers.slack.service import COMMAND, SlackBot
from handlers.slack.settings import SlackConfig
from tests.fakes.chat import (
    INJECTION_TITLE,
    TimedSource,
    build_chat_core,
    make_widget_repo,
    use_timed_source,
)
from tests.fakes.conversations import conversation_of
from tests.fakes.slack_api import BOT_USER_ID, FakeSlackApi, SlackCall, SlackFailure
from tests.fakes.slack_requests import (
    FORM,
    JSON,
    SIGNING_SECRET,
    block_action,
    event_callback,
    message_event,
    signed_request,
    slash_command,
)
from tests.fakes.slack_socket import FakeSocketMode


@dataclass
class Harness:
    fake: FakeSlackApi
    bot: SlackBot
    source: TimedSource
    gate: asyncio.Event
    shas: dict[str, str]
    acks: list[float] = field(default_factory=list)
    pacer_waits: list[float] = field(default_factory=list)
    retry_waits: list[float] = field(default_factory=list)

    async def dispatch(self, request: AsyncBoltRequest) -> BoltResponse:
        return await asyncio.wait_for(self.bot.app.async_dispatch(request), timeout=3)

    async def settle(self) -> None:
        self.gate.set()
        await asyncio.wait_for(self.bot.inflight.join(), timeout=30)

    def messages(self) -> list[SlackCall]:
        """Successful chat.postMessage calls."""
        return [c for c in self.fake.calls_to("chat.postMessage") if c.ok]

    async def post_digest(self) -> str:
        """Run `/digest widget today`; returns the digest's root ts."""
        response = await self.dispatch(
            signed_request(slash_command("widget today", trigger_id="trig-1"), content_type=FORM)
        )
        assert response.status == 200
        await self.settle()
        roots = [c for c in self.messages() if "thread_ts" not in c.args and c.ok]
        assert len(roots) == 1
        return str(roots[0].response["ts"])


async def _harness(tmp_path: Path, *, details_view: str = "thread") -> AsyncIterator[Harness]:
    shas = make_widget_repo(tmp_path / "widget")
    core: Core = build_chat_core(tmp_path, tmp_path / "widget")
    gate = asyncio.Event()
    source = use_timed_source(core, gate)
    with FakeSlackApi() as fake:
        pacer_waits: list[float] = []
        retry_waits: list[float] = []

        async def pacer_sleep(seconds: float) -> None:
            pacer_waits.append(seconds)

        async def retry_sleep(seconds: float) -> None:
            retry_waits.append(seconds)

        config = SlackConfig(
            bot_token="xoxb-test",
            mode="http",
            signing_secret=SIGNING_SECRET,
            details_view=details_view,  # type: ignore[arg-type]
        )
        acks: list[float] = []
        bot = SlackBot(
            conversation_of(core),
            config,
            client=AsyncWebClient(token="xoxb-test", base_url=fake.base_url),
            pacer=ChannelPacer(1.0, clock=lambda: 0.0, sleep=pacer_sleep),
            retry_handler=RetryAfterHandler(sleep=retry_sleep),
            on_ack=lambda _event: acks.append(time.monotonic()),
        )
        yield Harness(fake, bot, source, gate, shas, acks, pacer_waits, retry_waits)
        await bot.stop(timeout=5)
    await core.aclose()


@pytest.fixture
async def slack(tmp_path: Path) -> AsyncIterator[Harness]:
    async for harness in _harness(tmp_path):
        yield harness


@pytest.fixture
async def slack_modal(tmp_path: Path) -> AsyncIterator[Harness]:
    async for harness in _harness(tmp_path, details_view="modal"):
        yield harness


async def test_slash_command_is_acked_before_any_work_then_the_digest_is_posted(
    slack: Harness,
) -> None:
    request = signed_request(slash_command("widget today", trigger_id="t1"), content_type=FORM)
    response = await slack.dispatch(request)  # the source is held shut: an ack that waited
    returned = time.monotonic()  # for work would time out here
    assert response.status == 200
    body = json.loads(response.body)
    assert body == {
        "text": "Building the digest of acme/widget for today…",
        "response_type": "ephemeral",
    }
    assert slack.source.completed == 0 and not slack.messages()
    assert len(slack.acks) == 1 and slack.acks[0] <= returned
    await slack.settle()
    starts = [at for _, at in slack.source.started]
    assert starts and min(starts) >= slack.acks[0]  # no git/GitHub call before the ack
    assert slack.fake.calls[0].method == "auth.test"
    (post,) = slack.messages()
    assert post.args["channel"] == "C0CHAN" and "thread_ts" not in post.args
    assert post.args["blocks"][0]["type"] == "header"
    assert "feat(api): add streaming endpoint" in json.dumps(post.args["blocks"])
    assert post.token == "xoxb-test"


async def test_help_and_bad_input_are_answered_in_the_ack(slack: Harness) -> None:
    for index, (text, fragment) in enumerate(
        [
            ("", "digestbot commands"),
            ("widgte", "Did you mean: widget"),
            ("widget 2026-02-31", "not a valid date"),
        ]
    ):
        request = signed_request(slash_command(text, trigger_id=f"t{index}"), content_type=FORM)
        response = await slack.dispatch(request)
        assert response.status == 200 and fragment in json.loads(response.body)["text"]
    await slack.settle()
    assert not slack.source.started and not slack.fake.posted()


async def test_details_button_replies_in_the_digest_thread(slack: Harness) -> None:
    root = await slack.post_digest()
    blocks = json.dumps(slack.messages()[0].args["blocks"])
    values = re.findall(r'"value": "([^"]+)"', blocks)
    sha = slack.shas["feature"]
    value = next(v for v in values if v.endswith(sha))  # the formatter's own encoding
    body = block_action(value, trigger_id="trig-btn", message_ts=root)
    response = await slack.dispatch(signed_request(body, content_type=FORM))
    assert response.status == 200
    await slack.settle()
    reply = slack.messages()[-1]
    assert reply.args["thread_ts"] == root
    assert sha[:7] in json.dumps(reply.args["blocks"])
    posted = len(slack.messages())
    for n in range(2):  # the same button again: acked, nothing more in the thread
        again = block_action(value, trigger_id=f"trig-again-{n}", message_ts=root)
        assert (await slack.dispatch(signed_request(again, content_type=FORM))).status == 200
    await slack.settle()
    assert len(slack.messages()) == posted
    assert not slack.fake.calls_to("chat.postEphemeral")


async def test_details_button_can_open_a_modal(slack_modal: Harness) -> None:
    slack = slack_modal
    root = await slack.post_digest()
    sha = slack.shas["feature"]
    before = len(slack.messages())
    for n in range(2):  # a modal is the clicker's alone: every click opens one
        body = block_action(f"acme/widget|{sha}", trigger_id=f"trig-modal-{n}", message_ts=root)
        await slack.dispatch(signed_request(body, content_type=FORM))
        await slack.settle()
    opened = slack.fake.calls_to("views.open")
    assert [o.args["trigger_id"] for o in opened] == ["trig-modal-0", "trig-modal-1"]
    assert opened[0].args["view"]["type"] == "modal"
    assert len(slack.messages()) == before


async def test_thread_message_gets_details_and_mentions_are_answered_once(slack: Harness) -> None:
    root = await slack.post_digest()
    sha = slack.shas["docs"]
    event = message_event(sha[:7], ts="1700000500.000001", thread_ts=root)
    await slack.dispatch(signed_request(event_callback(event, event_id="Ev1"), content_type=JSON))
    await slack.settle()
    assert slack.messages()[-1].args["thread_ts"] == root
    count = len(slack.messages())
    # `@digestbot details …` arrives as app_mention and as a message event.
    text = f"<@{BOT_USER_ID}> details {sha[:8]}"
    mention = message_event(text, ts="1700000600.000001", thread_ts=root, kind="app_mention")
    plain = message_event(text, ts="1700000600.000001", thread_ts=root)
    for event_id, payload in (("Ev2", mention), ("Ev3", plain)):
        request = signed_request(event_callback(payload, event_id=event_id), content_type=JSON)
        assert (await slack.dispatch(request)).status == 200
    await slack.settle()
    assert len(slack.messages()) == count + 1


async def test_redelivered_event_gets_one_reply(slack: Harness) -> None:
    root = await slack.post_digest()
    event = message_event(slack.shas["feature"][:7], ts="1700000700.000001", thread_ts=root)
    body = event_callback(event, event_id="EvRetry")
    await slack.dispatch(signed_request(body, content_type=JSON))
    await slack.dispatch(signed_request(body, content_type=JSON, retry_num=1))
    await slack.dispatch(signed_request(body, content_type=JSON, retry_num=2))
    socket = AsyncBoltRequest(body=json.loads(body), mode="socket_mode")  # a redelivery there
    assert (await slack.dispatch(socket)).status == 200
    await slack.settle()
    replies = [c for c in slack.messages() if c.args.get("thread_ts") == root]
    assert len(replies) == 1


async def test_bots_and_chatter_are_ignored(slack: Harness) -> None:
    root = await slack.post_digest()
    sha = slack.shas["feature"][:7]
    events = [
        message_event(sha, ts="1.1", thread_ts=root, bot_id="B0OTHER"),
        message_event(sha, ts="1.2", thread_ts=root, user=BOT_USER_ID),
        message_event(sha, ts="1.3", thread_ts=root, subtype="message_changed"),
        message_event("thanks!", ts="1.4", thread_ts=root),
        message_event(sha, ts="1.5"),  # top level, not a mention
    ]
    for index, event in enumerate(events):
        body = event_callback(event, event_id=f"EvIgnore{index}")
        await slack.dispatch(signed_request(body, content_type=JSON))
    await slack.settle()
    assert len(slack.fake.posted()) == 1


@pytest.mark.parametrize("case", ["bad_signature", "stale_timestamp", "wrong_secret"])
async def test_forged_or_replayed_requests_are_rejected(slack: Harness, case: str) -> None:
    body = slash_command("widget today", trigger_id="t-forged")
    if case == "bad_signature":
        request = signed_request(body, content_type=FORM, signature="v0=" + "0" * 64)
    elif case == "stale_timestamp":
        request = signed_request(body, content_type=FORM, timestamp=int(time.time()) - 6 * 60)
    else:
        request = signed_request(body, content_type=FORM, secret="not-the-secret")
    response = await slack.dispatch(request)
    assert response.status == 401
    await slack.settle()
    assert not slack.source.started and not slack.fake.calls


async def test_429_is_retried_after_retry_after(slack: Harness) -> None:
    slack.fake.rate_limit_next("chat.postMessage", retry_after=7)
    root = await slack.post_digest()
    assert slack.retry_waits == [7.0]
    attempts = slack.fake.calls_to("chat.postMessage")
    assert [c.status for c in attempts] == [429, 200]
    assert attempts[0].args == attempts[1].args  # the same message, sent again
    assert attempts[1].response["ts"] == root


async def test_posts_to_one_channel_are_paced(slack: Harness) -> None:
    root = await slack.post_digest()
    for index, name in enumerate(("feature", "docs")):
        event = message_event(slack.shas[name][:7], ts=f"2.{index}", thread_ts=root)
        await slack.dispatch(
            signed_request(event_callback(event, event_id=f"EvP{index}"), content_type=JSON)
        )
    await slack.settle()
    assert len(slack.messages()) == 3
    assert slack.pacer_waits == [1.0, 2.0]  # the 2nd and 3rd post waited for their slot


async def test_not_in_channel_becomes_a_clear_ephemeral_notice(slack: Harness) -> None:
    slack.fake.fail_next("chat.postMessage", SlackFailure(error="not_in_channel"))
    await slack.dispatch(
        signed_request(slash_command("widget", trigger_id="t9"), content_type=FORM)
    )
    await slack.settle()
    (notice,) = slack.fake.calls_to("chat.postEphemeral")
    assert "invite me first" in notice.args["text"] and notice.args["user"] == "U0USER"


# Live Slack markup: mentions, channel links, broadcasts, and any link that is not one of the
# repository's own pages (https://api.slack.com/reference/surfaces/formatting#escaping).
async def test_outside_the_channel_the_notice_goes_through_the_response_url(
    slack: Harness,
) -> None:
    slack.bot.adapter.response_url_prefix = slack.fake.response_url_prefix
    slack.fake.fail_next("chat.postMessage", SlackFailure(error="not_in_channel"))
    slack.fake.fail_next("chat.postEphemeral", SlackFailure(error="not_in_channel"))
    body = slash_command(
        "widget", trigger_id="t10", response_url=slack.fake.response_url_prefix + "T0/1/t10"
    )
    await slack.dispatch(signed_request(body, content_type=FORM))
    await slack.settle()
    (response,) = slack.fake.calls_to("response_url")
    assert response.args["response_type"] == "ephemeral"
    assert "invite me first" in response.args["text"]


async def test_a_response_url_off_slack_is_never_called(slack: Harness) -> None:
    slack.fake.fail_next("chat.postMessage", SlackFailure(error="not_in_channel"))
    slack.fake.fail_next("chat.postEphemeral", SlackFailure(error="not_in_channel"))
    body = slash_command(
        "widget", trigger_id="t11", response_url=slack.fake.response_url_prefix + "T0/1/t11"
    )  # the default prefix is https://hooks.slack.com/: the fake's URL does not qualify
    await slack.dispatch(signed_request(body, content_type=FORM))
    await slack.settle()
    assert not slack.fake.calls_to("response_url")


_LIVE_MARKUP = re.compile(
    r"<[@#!]|<(?!https://github\.com/acme/widget[/|>])[a-z]+:|(?<!\u200d)@(?:everyone|here|channel)\b"
)


async def test_injection_strings_never_reach_slack_unescaped(slack: Harness) -> None:
    root = await slack.post_digest()
    sha = slack.shas["injection"]
    await slack.dispatch(
        signed_request(
            block_action(f"acme/widget|{sha}", trigger_id="ti", message_ts=root), content_type=FORM
        )
    )
    question = f"<@{BOT_USER_ID}> <!channel> why {sha[:7]}? <@U0BOSS> <https://x.example|y>"
    event = message_event(question, ts="3.1", thread_ts=root, kind="app_mention")
    await slack.dispatch(signed_request(event_callback(event, event_id="EvInj"), content_type=JSON))
    bad = message_event("details zzzz <!here>", ts="3.2", thread_ts=root, kind="app_mention")
    await slack.dispatch(signed_request(event_callback(bad, event_id="EvInj2"), content_type=JSON))
    await slack.settle()
    posted = slack.fake.posted()
    assert len(posted) >= 4
    dumped = json.dumps([c.args for c in posted], ensure_ascii=False)
    # the hostile commit is shown, inert: as entities, with broken broadcast keywords and its
    # link defanged (formatters/text_safety.py decides how)
    assert "&lt;!channel&gt; @\u200dhere &lt;@U123ABC&gt; &lt;" in dumped
    assert "evil.example" not in dumped
    assert INJECTION_TITLE not in dumped
    for call in posted:
        for value in _strings(call.args):
            assert not _LIVE_MARKUP.search(value), (call.method, value)


async def test_socket_mode_acks_over_the_websocket_and_ignores_redeliveries(
    tmp_path: Path,
) -> None:
    shas = make_widget_repo(tmp_path / "widget")
    core = build_chat_core(tmp_path, tmp_path / "widget")
    socket = await FakeSocketMode().start()

    async def no_sleep(_seconds: float) -> None:
        return None

    try:
        with FakeSlackApi() as fake:
            fake.socket_url = socket.url
            config = SlackConfig(bot_token="xoxb-test", mode="socket", app_token="xapp-test")
            bot = SlackBot(
                conversation_of(core),
                config,
                client=AsyncWebClient(token="xoxb-test", base_url=fake.base_url),
                pacer=ChannelPacer(1.0, clock=lambda: 0.0, sleep=no_sleep),
            )
            await bot.start()
            try:
                await asyncio.wait_for(socket.connected.wait(), timeout=5)
                (opened,) = fake.calls_to("apps.connections.open")
                assert opened.token == "xapp-test"
                command = dict(parse_qsl(slash_command("widget today", trigger_id="sock-1")))
                ack = await socket.deliver("slash_commands", command)
                assert ack["payload"]["text"].startswith("Building the digest of acme/widget")
                await asyncio.wait_for(bot.inflight.join(), timeout=30)
                (root,) = [c for c in fake.calls_to("chat.postMessage") if c.ok]
                ts = root.response["ts"]
                event = json.loads(
                    event_callback(
                        message_event(shas["docs"][:7], ts="9.1", thread_ts=ts), event_id="EvS"
                    )
                )
                await socket.deliver("events_api", event, envelope_id="e1")
                await socket.deliver("events_api", event, envelope_id="e2", retry_attempt=1)
                await asyncio.wait_for(bot.inflight.join(), timeout=30)
                replies = [c for c in fake.calls_to("chat.postMessage") if c.args.get("thread_ts")]
                assert len(replies) == 1 and replies[0].args["thread_ts"] == ts
            finally:
                await bot.stop(timeout=5)
    finally:
        await socket.close()
        await core.aclose()


def test_the_manifest_asks_for_exactly_what_the_bot_uses() -> None:
    yaml = pytest.importorskip("yaml")
    manifest = yaml.safe_load((Path(__file__).parents[3] / "slack_manifest.yaml").read_text())
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == [COMMAND]
    events = manifest["settings"]["event_subscriptions"]["bot_events"]
    assert sorted(events) == ["app_mention", "message.channels", "message.groups"]
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert sorted(manifest["oauth_config"]["scopes"]["bot"]) == [
        "app_mentions:read",
        "channels:history",
        "chat:write",
        "chat:write.public",
        "commands",
        "files:write",
        "groups:history",
    ]
    assert "user" not in manifest["oauth_config"]["scopes"]


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []
