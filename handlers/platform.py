"""What a chat platform package provides: its settings, its `serve` service, its doctor check."""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, cast

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.errors import ConfigError
from bot.models import Digest, DigestItem, Language
from handlers.ports import ChatAdapter

if TYPE_CHECKING:  # naming a platform must not load the conversation layer, aiohttp or SQLAlchemy
    from aiohttp import web

    from bot.doctor import Check
    from handlers.conversation.conversation import Conversation

RequestHandler = Callable[["web.Request"], Awaitable["web.StreamResponse"]]
DigestRenderer = Callable[[Digest], list[dict[str, Any]]]
DetailsRenderer = Callable[[DigestItem, str, Language], dict[str, Any]]


class PlatformSettings(BaseSettings):
    """A platform's own settings: its environment variables (or .env) under its prefix.

    Subclasses set `env_prefix` (SLACK_, FEISHU_, DISCORD_); the core's Settings know none."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )


S = TypeVar("S", bound=PlatformSettings)


def secret_text(value: SecretStr | None) -> str | None:
    """A secret setting's value without surrounding blanks; None when unset or blank."""
    if value is None:
        return None
    return value.get_secret_value().strip() or None


class Service(Protocol):
    """Something `serve` runs: a chat platform connection, the scheduler, …"""

    @property
    def name(self) -> str: ...

    async def start(self) -> None: ...

    async def stop(self, timeout: float) -> None:
        """Take no new work; return when in-flight work finished (or `timeout` passed)."""
        ...


class PlatformService(Service, Protocol):
    """A connected chat platform: a Service with the adapter the scheduler posts through."""

    @property
    def adapter(self) -> ChatAdapter: ...

    @property
    def connected(self) -> bool:
        """The link is up right now: Socket Mode or the long connection open, the Discord
        gateway ready; HTTP mode: started and serving. `/healthz` reports it (503 when not)."""
        ...


class Routes(Protocol):
    """Where a platform in HTTP mode registers its endpoint (serve's one HTTP server)."""

    def add_route(self, method: str, path: str, handler: RequestHandler) -> None: ...


@dataclass(frozen=True)
class PlatformContext:
    """What `serve` hands each platform: the conversation layer and the process's shared bits."""

    conversation: Conversation
    clock: Callable[[], datetime]
    routes: Routes
    repo_names: Callable[[], list[str]]
    # The digest language chosen explicitly (DIGESTBOT_LANG or the config file), else None:
    # the platform's own default applies (Feishu: Chinese).
    language: Language | None


@dataclass(frozen=True)
class Platform(Generic[S]):
    """One registry entry (handlers/registry.py). The package's heavy modules (its chat SDK)
    load only inside `build` and `doctor`, and only when the platform is configured, so naming
    a platform costs no import time. `package` holds `service.build(settings, context)` and
    `doctor.doctor_check(settings)` (the pattern of docs/architecture.md)."""

    name: str
    settings: type[S]
    enable_hint: str  # what to set to use it (doctor and serve say it when nothing is set)
    # Whether its settings ask for it at all; ConfigError when they are half set. No I/O and
    # no SDK import: `serve` refuses at once when no platform is configured.
    configured: Callable[[S], bool]
    package: str  # e.g. "handlers.slack"
    render_digest: DigestRenderer
    render_details: DetailsRenderer

    def load_settings(self) -> S:
        """The platform's settings from the environment (ValidationError when malformed)."""
        return self.settings()

    def build(self, settings: S, context: PlatformContext) -> PlatformService | None:
        """Its `serve` service; None when not configured (its SDK never loads then),
        ConfigError when half configured."""
        if not self.configured(settings):
            return None
        service = importlib.import_module(f"{self.package}.service")
        return cast("PlatformService | None", service.build(settings, context))

    async def doctor(self, settings: S) -> Check | None:
        """Its doctor check; None when not configured (nothing to check, no SDK to load). A
        half-configured platform is checked: its check says what is missing."""
        with contextlib.suppress(ConfigError):
            if not self.configured(settings):
                return None
        checks = importlib.import_module(f"{self.package}.doctor")
        return cast("Check | None", await checks.doctor_check(settings))
