"""Who may do what from chat: which repositories may be digested, who manages subscriptions."""

from __future__ import annotations

from bot.config import AccessConfig
from bot.repos import RepoResolver, RepoTarget
from handlers.ports import InboundEvent


class Authorizer:
    """Chat-side checks over the config's `[access]` table and the repo resolver."""

    def __init__(
        self, resolver: RepoResolver, access: AccessConfig, *, local_operator: bool = False
    ) -> None:
        # The console chat runs as the operator on their own machine: like the CLI, it may
        # read local checkouts and any repository. Chat platforms never may.
        self._for_chat = not local_operator
        self._resolver = resolver
        self._admins = {a.strip().lower() for a in access.admins}

    def repo(self, text: str) -> RepoTarget:
        """Resolve a repo named in chat: no local paths, allowlist enforced (raises
        UnknownRepoError with close aliases, RepoNotAllowedError, InvalidInputError)."""
        return self._resolver.resolve(text, for_chat=self._for_chat)

    @property
    def local_operator(self) -> bool:
        """The person at the terminal (console chat): like the CLI, never cost-capped."""
        return not self._for_chat

    def repo_names(self) -> list[str]:
        return self._resolver.names()

    def is_admin(self, platform: str, user_id: str) -> bool:
        return f"{platform}:{user_id}".lower() in self._admins

    def may_manage_subscriptions(self, event: InboundEvent) -> bool:
        """Configured admins (`"slack:U123"`) anywhere; channel managers in their channel."""
        return self.is_admin(event.platform, event.user_id) or event.is_channel_manager
