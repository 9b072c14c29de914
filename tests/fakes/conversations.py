"""Conversation layers wired the way `serve` and `digestbot chat` wire them, over a test's Core."""

from __future__ import annotations

from collections.abc import Mapping

from bot.analysis.answers import QuestionAnswerer
from bot.storage.conversations import SqlConversationStore
from digestbot.chat_wiring import Scheduling, build_conversation, build_scheduling
from digestbot.wiring import Core
from handlers.conversation.authz import Authorizer
from handlers.conversation.conversation import Conversation
from handlers.conversation.subscriptions import SubscriptionCommands
from handlers.ports import ChatAdapter


def conversation_of(
    core: Core,
    *,
    answerer: QuestionAnswerer | None = None,
    subscriptions: SubscriptionCommands | None = None,
    local_operator: bool = False,
) -> Conversation:
    """The conversation layer over `core`; `local_operator`: the console's terminal user."""
    return build_conversation(
        core,
        authorizer=Authorizer(core.resolver, core.config.access, local_operator=local_operator),
        conversations=SqlConversationStore(core.store.engine),
        answerer=answerer,
        subscriptions=subscriptions,
    )


def scheduling_of(
    core: Core, adapters: Mapping[str, ChatAdapter]
) -> tuple[Scheduling, Conversation]:
    """The scheduler and its chat commands over `core`, and a conversation layer that uses them,
    sharing one authorizer and one conversation store as `serve` does."""
    authorizer = Authorizer(core.resolver, core.config.access)
    conversations = SqlConversationStore(core.store.engine)
    scheduling = build_scheduling(
        core, adapters, authorizer=authorizer, conversations=conversations
    )
    conversation = build_conversation(
        core,
        authorizer=authorizer,
        conversations=conversations,
        answerer=None,
        subscriptions=scheduling.commands,
    )
    return scheduling, conversation
