"""The state behind the fake Discord API — channels, threads, messages, interactions, commands —
and its REST routes, each `(path groups, body, query) -> (status, JSON)` or `ApiError`."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tests.fakes.discord_payloads import (
    APPLICATION_ID,
    AUTHOR_KEYS,
    BOT_USER,
    BOT_USER_ID,
    EPHEMERAL,
    GUILD_ID,
    LOADING,
    check_message,
    error,
    iso_now,
    snowflake_at,
)
from tests.fakes.multipart import FormPart

Route = tuple[str, re.Pattern[str], Callable[..., tuple[int, Any]]]


@dataclass
class InteractionState:
    """What the fake knows about one interaction: its response and follow-ups."""

    payload: dict[str, Any]
    channel_id: str
    response_type: int | None = None
    response_flags: int = 0
    original: dict[str, Any] | None = None
    expired: bool = False
    followups: list[dict[str, Any]] = field(default_factory=list)


class DiscordWorld:
    """Not thread-safe: the server calls it under its lock."""

    def __init__(self) -> None:
        self._sequence = itertools.count(1)
        self.channels: set[str] = set()
        self.threads: dict[str, dict[str, Any]] = {}
        self.messages: dict[str, list[dict[str, Any]]] = {}
        self.nonces: dict[tuple[str, str], dict[str, Any]] = {}
        self.interactions: dict[str, InteractionState] = {}
        self.callbacks: list[dict[str, Any]] = []
        self.commands: dict[str, list[dict[str, Any]]] = {}
        self.attachment_data: dict[str, bytes] = {}  # uploaded bytes by attachment id
        self.application_flags = 0  # e.g. the Message Content intent (1 << 18 or 1 << 19)
        self.routes: list[Route] = [
            ("GET", re.compile(r"/users/@me"), self._me),
            ("GET", re.compile(r"/oauth2/applications/@me"), self._application),
            ("POST", re.compile(r"/interactions/(\d+)/([^/]+)/callback"), self._callback),
            ("POST", re.compile(r"/webhooks/(\d+)/([^/]+)"), self._followup),
            ("GET", re.compile(r"/webhooks/(\d+)/([^/]+)/messages/@original"), self._original),
            (
                "PATCH",
                re.compile(r"/webhooks/(\d+)/([^/]+)/messages/@original"),
                self._edit_original,
            ),
            ("POST", re.compile(r"/channels/(\d+)/messages"), self._create_message),
            ("GET", re.compile(r"/channels/(\d+)/messages"), self._list_messages),
            ("POST", re.compile(r"/channels/(\d+)/messages/(\d+)/threads"), self._start_thread),
            ("PUT", re.compile(r"/applications/(\d+)/commands"), self._put_commands),
            ("PUT", re.compile(r"/applications/(\d+)/guilds/(\d+)/commands"), self._put_commands),
        ]

    def start_thread(self, channel_id: str, message_id: str, name: str) -> dict[str, Any]:
        _, thread = self._start_thread(channel_id, message_id, body={"name": name}, query={})
        return dict(thread)

    def _me(self, *, body: Any, query: dict[str, str]) -> tuple[int, Any]:
        return 200, dict(BOT_USER)

    def _application(self, *, body: Any, query: dict[str, str]) -> tuple[int, Any]:
        return 200, {
            "id": APPLICATION_ID,
            "name": "digestbot",
            "icon": None,
            "description": "Daily repository digests",
            "bot_public": False,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "flags": self.application_flags,
            "owner": {**BOT_USER, "id": "1100000000000000009", "username": "owner", "bot": False},
            "team": None,
            "summary": "",
            "interactions_endpoint_url": None,
            "redirect_uris": [],
            "tags": [],
        }

    def _next_id(self) -> str:
        return snowflake_at(datetime.now(UTC), next(self._sequence))

    def _message(
        self, channel_id: str, body: dict[str, Any], *, flags: int = 0, webhook: bool = False
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "id": self._next_id(),
            "channel_id": channel_id,
            "type": 0,
            "content": body.get("content") or "",
            "author": {k: BOT_USER[k] for k in AUTHOR_KEYS},
            "timestamp": iso_now(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [{"type": "rich", **e} for e in body.get("embeds") or []],
            "components": body.get("components") or [],
            "pinned": False,
            "flags": flags,
        }
        if webhook:
            message["webhook_id"] = APPLICATION_ID
            message["application_id"] = APPLICATION_ID
        reference = body.get("message_reference")
        if reference:
            message["type"] = 19
            message["message_reference"] = {
                "type": 0,
                "channel_id": channel_id,
                "message_id": str(reference.get("message_id")),
            }
        return message

    def _channel_exists(self, channel_id: str) -> bool:
        return channel_id in self.channels or channel_id in self.threads

    def _create_message(
        self,
        channel_id: str,
        *,
        body: Any,
        query: dict[str, str],
        files: dict[str, FormPart] | None = None,
    ) -> tuple[int, Any]:
        if not self._channel_exists(channel_id):
            raise error(404, 10003, "Unknown Channel")
        body = body or {}
        check_message(body, has_files=bool(files))
        attachments = self._attachments(channel_id, body, files or {})
        nonce = body.get("nonce")
        if nonce is not None and body.get("enforce_nonce"):
            # https://discord.com/developers/docs/resources/message#create-message: with
            # enforce_nonce a second message with the same nonce returns the first one.
            existing = self.nonces.get((channel_id, str(nonce)))
            if existing is not None:
                return 200, dict(existing)
        message = self._message(channel_id, body)
        if attachments:
            message["attachments"] = attachments
            urls = {f"attachment://{a['filename']}": a["url"] for a in attachments}
            for embed in message["embeds"]:
                image = embed.get("image") or {}
                if image.get("url") in urls:
                    url = urls[image["url"]]
                    embed["image"] = {**image, "url": url, "proxy_url": url}
        self.messages.setdefault(channel_id, []).append(message)
        if channel_id in self.threads:
            self.threads[channel_id]["message_count"] += 1
        answer = dict(message)
        if nonce is not None:
            answer["nonce"] = str(nonce)
            self.nonces[(channel_id, str(nonce))] = answer
        return 200, answer

    def _attachments(
        self, channel_id: str, body: dict[str, Any], files: dict[str, FormPart]
    ) -> list[dict[str, Any]]:
        """The attachment objects of the uploaded `files[n]`, described by the payload's
        `attachments` entry with id n (https://discord.com/developers/docs/reference#uploading-files)."""
        described = {str(a.get("id")): a for a in body.get("attachments") or []}
        attachments = []
        for name, part in sorted(files.items()):
            match = re.fullmatch(r"files\[(\d+)\]", name)
            if match is None:
                raise error(400, 50035, "Invalid Form Body", [f"{name}: unknown field"])
            meta = described.get(match.group(1)) or {}
            description = meta.get("description")
            if description is not None and len(str(description)) > 1024:
                problem = "attachments.description: Must be 1024 or fewer in length."
                raise error(400, 50035, "Invalid Form Body", [problem])
            attachment_id = self._next_id()
            filename = str(meta.get("filename") or part.filename)
            url = f"https://cdn.discordapp.com/attachments/{channel_id}/{attachment_id}/{filename}"
            attachment: dict[str, Any] = {
                "id": attachment_id,
                "filename": filename,
                "size": len(part.data),
                "url": url,
                "proxy_url": url,
                "content_type": part.content_type,
            }
            if description is not None:
                attachment["description"] = str(description)
            self.attachment_data[attachment_id] = part.data
            attachments.append(attachment)
        return attachments

    def _list_messages(
        self, channel_id: str, *, body: Any, query: dict[str, str]
    ) -> tuple[int, Any]:
        if not self._channel_exists(channel_id):
            raise error(404, 10003, "Unknown Channel")
        limit = max(1, min(100, int(query.get("limit") or 50)))
        history = list(reversed(self.messages.get(channel_id, [])))
        before, after = query.get("before"), query.get("after")
        if before:
            history = [m for m in history if int(m["id"]) < int(before)]
        if after:  # the oldest `limit` newer than `after`, still answered newest first
            newer = [m for m in history if int(m["id"]) > int(after)]
            return 200, [dict(m) for m in newer[-limit:]]
        return 200, [dict(m) for m in history[:limit]]

    def _start_thread(
        self, channel_id: str, message_id: str, *, body: Any, query: dict[str, str]
    ) -> tuple[int, Any]:
        if channel_id not in self.channels:
            raise error(404, 10003, "Unknown Channel")
        root = next((m for m in self.messages.get(channel_id, []) if m["id"] == message_id), None)
        if root is None:
            raise error(404, 10008, "Unknown Message")
        if message_id in self.threads:
            raise error(400, 160004, "A thread has already been created for this message")
        name = str((body or {}).get("name") or "")
        if not 1 <= len(name) <= 100:
            problem = "name: Must be between 1 and 100 in length."
            raise error(400, 50035, "Invalid Form Body", [problem])
        now = iso_now()
        thread = {
            "id": message_id,
            "type": 11,
            "guild_id": GUILD_ID,
            "parent_id": channel_id,
            "owner_id": BOT_USER_ID,
            "name": name,
            "last_message_id": None,
            "message_count": 0,
            "member_count": 1,
            "total_message_sent": 0,
            "rate_limit_per_user": 0,
            "flags": 0,
            "thread_metadata": {
                "archived": False,
                "auto_archive_duration": int((body or {}).get("auto_archive_duration") or 1440),
                "archive_timestamp": now,
                "locked": False,
                "create_timestamp": now,
            },
        }
        self.threads[message_id] = thread
        self.messages.setdefault(message_id, [])
        root["thread"] = thread
        return 201, dict(thread)

    def _callback(
        self, interaction_id: str, token: str, *, body: Any, query: dict[str, str]
    ) -> tuple[int, Any]:
        interaction = self.interactions.get(token)
        if interaction is None or str(interaction.payload["id"]) != interaction_id:
            raise error(404, 10062, "Unknown interaction")
        if interaction.response_type is not None:
            raise error(400, 40060, "Interaction has already been acknowledged.")
        body = body or {}
        kind = int(body.get("type") or 0)
        data = body.get("data") or {}
        self.callbacks.append({"interaction_id": interaction_id, **body})
        interaction.response_type = kind
        interaction.response_flags = int(data.get("flags") or 0)
        resource: dict[str, Any] = {"type": kind}
        ephemeral = bool(interaction.response_flags & EPHEMERAL)
        if kind == 4:
            check_message(data)
            message = self._message(interaction.channel_id, data, flags=interaction.response_flags)
            interaction.original = message
            if not ephemeral:
                self.messages.setdefault(interaction.channel_id, []).append(message)
            resource["message"] = message
        elif kind == 5:
            message = self._message(
                interaction.channel_id, {}, flags=interaction.response_flags | LOADING
            )
            resource["message"] = message
        answer = {
            "interaction": {
                "id": interaction_id,
                "type": interaction.payload["type"],
                "response_message_id": resource.get("message", {}).get("id"),
                "response_message_loading": kind == 5,
                "response_message_ephemeral": ephemeral,
            },
            "resource": resource,
        }
        if query.get("with_response") not in {"1", "true", "True"}:
            return 204, None
        return 200, answer

    def _webhook_interaction(self, application_id: str, token: str) -> InteractionState:
        interaction = self.interactions.get(token)
        if application_id != APPLICATION_ID or interaction is None:
            raise error(404, 10015, "Unknown Webhook")
        if interaction.expired:
            raise error(401, 50027, "Invalid Webhook Token")
        if interaction.response_type is None:
            raise error(404, 10015, "Unknown Webhook")  # no response yet: nothing to follow
        return interaction

    def _followup(
        self, application_id: str, token: str, *, body: Any, query: dict[str, str]
    ) -> tuple[int, Any]:
        interaction = self._webhook_interaction(application_id, token)
        body = body or {}
        check_message(body)
        becomes_original = interaction.response_type == 5 and interaction.original is None
        # The first follow-up after a deferral edits the "thinking…" response, keeping its
        # ephemeral flag (https://discord.com/developers/docs/interactions/receiving-and-responding#followup-messages).
        flags = interaction.response_flags if becomes_original else int(body.get("flags") or 0)
        message = self._message(interaction.channel_id, body, flags=flags, webhook=True)
        if becomes_original:
            interaction.original = message
        interaction.followups.append(message)
        if not flags & EPHEMERAL:
            self.messages.setdefault(interaction.channel_id, []).append(message)
        wait = query.get("wait") in {"1", "true", "True"}
        return (200, message) if wait else (204, None)

    def _original(
        self, application_id: str, token: str, *, body: Any, query: dict[str, str]
    ) -> tuple[int, Any]:
        interaction = self._webhook_interaction(application_id, token)
        if interaction.original is None:
            raise error(404, 10008, "Unknown Message")
        return 200, interaction.original

    def _edit_original(
        self, application_id: str, token: str, *, body: Any, query: dict[str, str]
    ) -> tuple[int, Any]:
        interaction = self._webhook_interaction(application_id, token)
        body = body or {}
        check_message({**(interaction.original or {}), **body})
        if interaction.original is None:
            interaction.original = self._message(
                interaction.channel_id, body, flags=interaction.response_flags, webhook=True
            )
        else:
            interaction.original.update({k: v for k, v in body.items() if k != "allowed_mentions"})
        return 200, interaction.original

    def _put_commands(
        self, application_id: str, *rest: str, body: Any, query: dict[str, str]
    ) -> tuple[int, Any]:
        if application_id != APPLICATION_ID:
            raise error(403, 50001, "Missing Access")
        guild = rest[0] if rest else None
        commands = []
        for command in body or []:
            if not re.fullmatch(r"[-_\w]{1,32}", str(command.get("name") or "")):
                raise error(400, 50035, "Invalid Form Body", ["name: invalid"])
            if len(command.get("options") or []) > 25:
                raise error(400, 50035, "Invalid Form Body", ["options: too many"])
            saved = {
                "id": self._next_id(),
                "application_id": APPLICATION_ID,
                "version": self._next_id(),
                "type": 1,
                "default_member_permissions": None,
                "nsfw": False,
                **command,
            }
            if guild:
                saved["guild_id"] = guild
            commands.append(saved)
        self.commands[guild or "global"] = commands
        return 200, commands
