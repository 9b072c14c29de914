"""Discord wire shapes for the fake API: ids, the bot user, message objects and the documented
size limits a create-message body must respect (checked like the real API, 400 / 50035)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

API_PREFIX = "/api/v10"
DISCORD_EPOCH_MS = 1_420_070_400_000
BOT_TOKEN = "fake-bot-token"
# Applications created since 2020 have the same id as their bot user.
BOT_USER_ID = "1100000000000000001"
APPLICATION_ID = BOT_USER_ID
GUILD_ID = "1100000000000000100"
EPHEMERAL = 1 << 6
LOADING = 1 << 7

AUTHOR_KEYS = ("id", "username", "discriminator", "avatar", "bot", "global_name", "public_flags")
BOT_USER: dict[str, Any] = {
    "id": BOT_USER_ID,
    "username": "digestbot",
    "discriminator": "0",
    "global_name": "digestbot",
    "avatar": None,
    "bot": True,
    "system": False,
    "mfa_enabled": True,
    "verified": True,
    "flags": 0,
    "public_flags": 0,
    "locale": "en-US",
}


def snowflake_at(when: datetime, sequence: int = 0) -> str:
    """A Discord snowflake created at `when` (https://discord.com/developers/docs/reference#snowflakes)."""
    ms = int(when.timestamp() * 1000) - DISCORD_EPOCH_MS
    return str((ms << 22) | (sequence & 0x3FFFFF))


def iso_now() -> str:
    return datetime.now(UTC).isoformat()


class ApiError(Exception):
    """Raised inside a route: the fake answers with this status and Discord error body."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


def error(status: int, code: int, message: str, errors: Any = None) -> ApiError:
    body: dict[str, Any] = {"message": message, "code": code}
    if errors is not None:
        body["errors"] = errors
    return ApiError(status, body)


# https://discord.com/developers/docs/resources/message#embed-object-embed-limits and
# https://discord.com/developers/docs/resources/message#create-message
def check_message(body: dict[str, Any], *, has_files: bool = False) -> None:
    problems: list[str] = []
    content = body.get("content")
    embeds = body.get("embeds") or []
    components = body.get("components") or []
    if content is not None and len(str(content)) > 2000:
        problems.append("content: Must be 2000 or fewer in length.")
    if len(embeds) > 10:
        problems.append("embeds: Must be 10 or fewer in length.")
    total = 0
    for embed in embeds:
        sizes = {
            "title": (len(embed.get("title") or ""), 256),
            "description": (len(embed.get("description") or ""), 4096),
            "footer.text": (len((embed.get("footer") or {}).get("text") or ""), 2048),
            "author.name": (len((embed.get("author") or {}).get("name") or ""), 256),
        }
        fields = embed.get("fields") or []
        if len(fields) > 25:
            problems.append("embeds.fields: Must be 25 or fewer in length.")
        for f in fields:
            sizes["field.name"] = (len(f.get("name") or ""), 256)
            sizes["field.value"] = (len(f.get("value") or ""), 1024)
            if not f.get("name") or not f.get("value"):
                problems.append("embeds.fields: name and value are required.")
            total += len(f.get("name") or "") + len(f.get("value") or "")
            for key, (size, limit) in sizes.items():
                if size > limit:
                    problems.append(f"embeds.{key}: Must be {limit} or fewer in length.")
        for key, (size, limit) in sizes.items():
            if key.startswith("field"):
                continue
            if size > limit:
                problems.append(f"embeds.{key}: Must be {limit} or fewer in length.")
            total += size
    if total > 6000:
        problems.append("embeds: Embed size exceeds maximum size of 6000")
    if len(components) > 5:
        problems.append("components: Must be 5 or fewer in length.")
    for row in components:
        buttons = row.get("components") or []
        if row.get("type") != 1 or len(buttons) > 5:
            problems.append("components: an action row holds 1 to 5 components.")
        for button in buttons:
            if len(button.get("custom_id") or "") > 100:
                problems.append("components.custom_id: Must be 100 or fewer in length.")
            if len(button.get("label") or "") > 80:
                problems.append("components.label: Must be 80 or fewer in length.")
    nonce = body.get("nonce")
    if nonce is not None and len(str(nonce)) > 25:
        problems.append("nonce: Must be 25 or fewer in length.")
    if problems:
        raise error(400, 50035, "Invalid Form Body", problems)
    if not content and not embeds and not components and not has_files:
        raise error(400, 50006, "Cannot send an empty message")
