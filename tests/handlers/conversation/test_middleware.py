"""The conversation's middleware chains: admission does no I/O and settles each event once;
handling looks up the thread and claims the event before any use case runs."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from pathlib import Path

import pytest

from bot.storage.conversations import ConversationStore, PostedMessage, ThreadInfo
from digestbot.chat_wiring import build_conversation
from digestbot.wiring import Core
from handlers.conversation.authz import Authorizer
from handlers.conversation.conversation import Conversation
from handlers.conversation.middleware import Turn, run_chain
from handlers.ports import InboundEvent
from tests.fakes.chat import RecordingAdapter, build_chat_core, make_widget_repo


class CountingStore:
    """A ConversationStore that counts every call and can refuse them all."""

    def __init__(self, inner: ConversationStore, *, refuse: bool = False) -> None:
        self.inner = inner
        self.refuse = refuse
        self.calls: list[str] = []

    def _use(self, name: str) -> None:
        self.calls.append(name)
        if self.refuse:
            raise AssertionError(f"I/O during admission: {name}")

    def claim_event(self, platform: str, event_id: str, now: datetime) -> bool:
        self._use("claim_event")
        return self.inner.claim_event(platform, event_id, now)

    def release_event(self, platform: str, event_id: str) -> None:
        self._use("release_event")
        self.inner.release_event(platform, event_id)

    def record_messages(self, messages: Sequence[PostedMessage], now: datetime) -> None:
        self._use("record_messages")
        self.inner.record_messages(messages, now)

    def find_thread(self, platform: str, channel_id: str, message_id: str) -> ThreadInfo | None:
        self._use("find_thread")
        return self.inner.find_thread(platform, channel_id, message_id)

    def prune_events(self, before: datetime) -> int:
        self._use("prune_events")
        return self.inner.prune_events(before)


@pytest.fixture
async def core(tmp_path: Path) -> AsyncIterator[Core]:
    make_widget_repo(tmp_path / "widget")
    core = build_chat_core(
        tmp_path,
        tmp_path / "widget",
        extra_config="[access]\ndigests_per_user_per_hour = 2\n",
    )
    yield core
    await core.aclose()


def conversation(core: Core, store: CountingStore) -> Conversation:
    return build_conversation(
        core,
        authorizer=Authorizer(core.resolver, core.config.access),
        conversations=store,
        answerer=None,
    )


def store_of(core: Core, *, refuse: bool = False) -> CountingStore:
    from bot.storage.conversations import SqlConversationStore

    return CountingStore(SqlConversationStore(core.store.engine), refuse=refuse)


def event(text: str, n: int, *, kind: str = "command", **kw: object) -> InboundEvent:
    values: dict[str, object] = {
        "platform": "test",
        "event_id": f"ev{n}",
        "user_id": "U1",
        "channel_id": "C1",
        "kind": kind,
        "text": text,
        "message_id": f"in{n}",
        **kw,
    }
    return InboundEvent(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    ["widget today", "widgte today", "help", "details abc1234", "subscribe widget at 09:00"],
)
async def test_admission_touches_no_store(core: Core, text: str) -> None:
    store = store_of(core, refuse=True)
    turn = await conversation(core, store).admit(event(text, 1))
    assert store.calls == []
    assert turn.steps[0] == "Parse"


async def test_a_redelivered_event_is_dropped_before_it_is_counted(core: Core) -> None:
    conv, adapter = conversation(core, store_of(core)), RecordingAdapter()
    first = await conv.admit(event("widget today", 1))
    again = await conv.admit(event("widget today", 1))  # the platform's redelivery
    assert not first.done and again.done and again.reply is None
    assert again.steps == ["Parse", "SeenRecently"]
    # The allowance is two digests an hour: the redelivery did not use the second one.
    second = await conv.admit(event("widget yesterday", 2))
    assert not second.done
    third = await conv.admit(event("widget today", 3))
    assert third.done and third.reply is not None and "Too many digests" in third.reply
    await conv.handle(first, adapter, ack_shown=True)
    assert adapter.kinds() == ["digest"]


async def test_chatter_in_a_thread_that_is_not_ours_costs_nothing(core: Core) -> None:
    store = store_of(core)
    conv, adapter = conversation(core, store), RecordingAdapter()
    for n in range(1, 4):  # three digest commands typed as replies in someone else's thread
        chatter = event("digest widget today", n, kind="message", thread_id="other")
        await conv.respond(chatter, adapter)
    assert adapter.calls == [] and "claim_event" not in store.calls
    assert not (await conv.admit(event("widget today", 9))).done  # the allowance is untouched


async def test_one_event_is_answered_once_across_replicas(core: Core) -> None:
    """Two processes (two conversation layers over one database) get the same event: the
    durable claim lets one answer."""
    left, right = conversation(core, store_of(core)), conversation(core, store_of(core))
    adapter = RecordingAdapter()
    for conv in (left, right):
        await conv.respond(event("digest widget today", 1, kind="mention"), adapter)
    assert adapter.kinds().count("digest") == 1


async def test_a_step_that_does_not_call_next_ends_the_chain() -> None:
    ran: list[str] = []

    class Stop:
        async def __call__(self, turn: Turn, next: object) -> None:
            ran.append("stop")

    class Never:
        async def __call__(self, turn: Turn, next: object) -> None:
            ran.append("never")

    async def endpoint(turn: Turn) -> None:
        ran.append("endpoint")

    turn = Turn(event("x", 1))
    await run_chain([Stop(), Never()], turn, endpoint)
    assert ran == ["stop"] and turn.steps == ["Stop"]
