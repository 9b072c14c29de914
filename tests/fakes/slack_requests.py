"""Slack's inbound wire format for tests: signed slash commands, events and block actions.

Signatures follow https://api.slack.com/authentication/verifying-requests-from-slack:
`v0=` + HMAC-SHA256(signing secret, "v0:{timestamp}:{raw body}"), computed here independently
of slack_sdk so a bug in how we configure bolt's verification cannot hide itself.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlencode

from slack_bolt.request.async_request import AsyncBoltRequest

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TEAM_ID = "T0TEAM"
API_APP_ID = "A0DIGEST"


def sign(secret: str, timestamp: int, body: str) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_request(
    body: str,
    *,
    content_type: str,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
    signature: str | None = None,
    retry_num: int | None = None,
) -> AsyncBoltRequest:
    stamp = int(time.time()) if timestamp is None else timestamp
    headers: dict[str, str] = {
        "content-type": content_type,
        "x-slack-request-timestamp": str(stamp),
        "x-slack-signature": signature or sign(secret, stamp, body),
    }
    if retry_num is not None:
        headers["x-slack-retry-num"] = str(retry_num)
        headers["x-slack-retry-reason"] = "http_timeout"
    return AsyncBoltRequest(body=body, headers=headers)  # type: ignore[arg-type]


def slash_command(
    text: str,
    *,
    trigger_id: str,
    user: str = "U0USER",
    channel: str = "C0CHAN",
    response_url: str | None = None,
) -> str:
    return urlencode(
        {
            "token": "legacy-verification-token",
            "team_id": TEAM_ID,
            "team_domain": "fake-team",
            "channel_id": channel,
            "channel_name": "general",
            "user_id": user,
            "user_name": "alice",
            "command": "/digest",
            "text": text,
            "api_app_id": API_APP_ID,
            "is_enterprise_install": "false",
            "response_url": response_url
            or f"https://hooks.slack.com/commands/{TEAM_ID}/1/{trigger_id}",
            "trigger_id": trigger_id,
        }
    )


def event_callback(event: dict[str, Any], *, event_id: str) -> str:
    return json.dumps(
        {
            "token": "legacy-verification-token",
            "team_id": TEAM_ID,
            "api_app_id": API_APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "authorizations": [{"team_id": TEAM_ID, "user_id": "U0DIGESTBOT", "is_bot": True}],
            "is_ext_shared_channel": False,
            "event_context": "4-eyJldCI6Im1lc3NhZ2UifQ",
        }
    )


def message_event(
    text: str,
    *,
    ts: str,
    thread_ts: str | None = None,
    user: str = "U0USER",
    channel: str = "C0CHAN",
    kind: str = "message",
    **extra: Any,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": kind,
        "user": user,
        "text": text,
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
        "channel_type": "channel",
        **extra,
    }
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    return event


def block_action(
    value: str,
    *,
    trigger_id: str,
    message_ts: str,
    thread_ts: str | None = None,
    user: str = "U0USER",
    channel: str = "C0CHAN",
    action_id: str = "digest_details",
) -> str:
    message: dict[str, Any] = {"type": "message", "ts": message_ts, "bot_id": "B0DIGESTBOT"}
    if thread_ts:
        message["thread_ts"] = thread_ts
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": "alice", "team_id": TEAM_ID},
        "api_app_id": API_APP_ID,
        "token": "legacy-verification-token",
        "container": {
            "type": "message",
            "message_ts": message_ts,
            "channel_id": channel,
            "is_ephemeral": False,
        },
        "trigger_id": trigger_id,
        "team": {"id": TEAM_ID, "domain": "fake-team"},
        "channel": {"id": channel, "name": "general"},
        "message": message,
        "response_url": f"https://hooks.slack.com/actions/{TEAM_ID}/1/x",
        "actions": [
            {
                "action_id": action_id,
                "block_id": "b1",
                "text": {"type": "plain_text", "text": "Details"},
                "value": value,
                "type": "button",
                "action_ts": "1700000000.1",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
