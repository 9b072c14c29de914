"""The Slack ChatAdapter: renders with formatters.slack_* and posts through AsyncWebClient."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.errors import PlatformError
from bot.models import Alert, Digest, DigestItem, Language
from formatters.slack_alert import render_slack_alert
from formatters.slack_blocks import SlackMessage, render_slack
from formatters.slack_details import render_slack_details
from formatters.text_safety import clip, escape_slack, one_line
from handlers.ports import MessageRef, PartKey, ReplyTarget
from handlers.runtime.digest_parts import send_digest
from handlers.runtime.pacing import ChannelPacer
from handlers.slack.inbound import PLATFORM
from handlers.slack.settings import DetailsView

log = logging.getLogger(__name__)

# A trigger_id is valid for 3 s (https://api.slack.com/interactivity/handling#modal_responses);
# past this we post the details in the thread instead of racing the expiry.
TRIGGER_WINDOW_SECONDS = 2.5
DELIVERY_EVENT_TYPE = "digestbot_delivery"
# Messages per history page when a restarted scheduler looks for a part it may have posted:
# the read is bounded by the post's time (oldest/latest), so one page is the usual case
# (https://api.slack.com/methods/conversations.history: limit ≤ 999, 200 recommended max).
LOOKUP_PAGE = 100
# The share of an uploaded file completes asynchronously: its message is looked for at once,
# then after these waits (seconds).
SHARE_POLL_WAITS = (0.0, 0.5, 1.0, 2.0)
SHARE_CLOCK_SKEW = 60.0  # seconds the history read reaches back before the upload began
FILE_TITLE_MAX = 255
ALT_TEXT_MAX = 1000  # https://docs.slack.dev/reference/methods/files.getUploadURLExternal
_USER_ERRORS = {
    "not_in_channel": "I can't post in this channel; invite me first (/invite @digestbot).",
    "channel_not_found": "I can't see this channel; invite me first (/invite @digestbot).",
    "is_archived": "This channel is archived.",
    "msg_too_long": "The message was too long for Slack.",
    "ratelimited": "Slack is rate limiting me; try again in a minute.",
}


class RetryAfterHandler(AsyncRateLimitErrorRetryHandler):
    """slack_sdk's 429 handler (off by default), waiting exactly Retry-After, capped.

    https://api.slack.com/apis/rate-limits: a 429 carries Retry-After in seconds. `sleep` is
    injectable so tests observe the wait instead of sleeping."""

    def __init__(
        self,
        *,
        max_retry_count: int = 3,
        max_wait: float = 60.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait
        self._sleep = sleep

    async def prepare_for_next_attempt_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        if response is None:
            raise error or PlatformError("Slack could not be reached.")
        values = {k.lower(): v for k, v in response.headers.items()}.get("retry-after") or ["1"]
        try:
            wait = float(values[0])
        except (TypeError, ValueError):
            wait = 1.0
        state.next_attempt_requested = True
        await self._sleep(min(max(wait, 0.0), self.max_wait))
        state.increment_current_attempt()


def install_retry_handler(client: AsyncWebClient, handler: AsyncRetryHandler) -> None:
    """Put our 429 handler on the client in place of any default rate-limit handler."""
    client.retry_handlers = [
        h for h in client.retry_handlers if not isinstance(h, AsyncRateLimitErrorRetryHandler)
    ] + [handler]


class SlackAdapter:
    """ChatAdapter for Slack. Every post waits for its channel's pacing slot (≤ 1/s)."""

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        pacer: ChannelPacer,
        details_view: DetailsView = "thread",
        clock: Callable[[], datetime],
        response_url_prefix: str = "https://hooks.slack.com/",
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.client = client
        self._pacer = pacer
        self._details_view = details_view
        self._clock = clock
        # Only Slack's own hooks host is ever called back (the URL comes in the request body).
        self.response_url_prefix = response_url_prefix
        self._sleep = sleep

    @property
    def platform(self) -> str:
        return PLATFORM

    async def send_digest(
        self, target: ReplyTarget, digest: Digest, *, delivery_key: str | None = None
    ) -> list[MessageRef]:
        return await send_digest(self, target, digest, delivery_key)

    def render_digest(self, digest: Digest, *, delivery_key: str | None = None) -> list[str]:
        return [
            _serialised(message, delivery_key, index)
            for index, message in enumerate(render_slack(digest))
        ]

    def render_alert(self, alert: Alert, *, delivery_key: str) -> list[str]:
        return [_serialised(render_slack_alert(alert), delivery_key, 0)]

    async def post_part(
        self,
        target: ReplyTarget,
        payload: str,
        *,
        root: MessageRef | None = None,
        key: PartKey | None = None,
    ) -> list[MessageRef]:
        thread = (root.thread_id or root.message_id) if root is not None else target.thread_id
        ts = await self._post(target.channel_id, thread, json.loads(payload))
        return [MessageRef(PLATFORM, target.channel_id, ts, thread)]

    async def find_part(
        self,
        target: ReplyTarget,
        key: PartKey,
        *,
        root: MessageRef | None,
        between: tuple[datetime, datetime],
        payload: str,
    ) -> list[MessageRef] | None:
        """Our messages carrying `key` in their metadata, posted between the two instants:
        the root among the channel's top-level messages, a later part among its thread's
        replies. Slack's ts is the post's Unix time, so oldest/latest bound the read by time,
        however busy the channel (https://api.slack.com/methods/conversations.replies)."""
        oldest, latest = f"{between[0].timestamp():.6f}", f"{between[1].timestamp():.6f}"
        thread = None if root is None else (root.thread_id or root.message_id)
        found: list[MessageRef] = []
        cursor: str | None = None
        method, where = (
            ("conversations.history", {})
            if thread is None
            else ("conversations.replies", {"ts": thread})
        )
        bounds: dict[str, str | int] = {
            "channel": target.channel_id,
            "oldest": oldest,
            "latest": latest,
            "inclusive": "true",
            "include_all_metadata": "true",
            "limit": LOOKUP_PAGE,
            **where,
        }
        while True:
            params = {**bounds, "cursor": cursor} if cursor else bounds
            call = self.client.api_call(method, http_verb="GET", params=params)
            page = await self._call(method, call)
            found += [
                MessageRef(PLATFORM, target.channel_id, str(m["ts"]), thread)
                for m in page.get("messages") or []
                if _carries(m, key) and m.get("ts") != thread
            ]
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if cursor is None:
                return found

    async def send_details(
        self, target: ReplyTarget, item: DigestItem, repo_url: str, language: Language
    ) -> list[MessageRef]:
        trigger = self._fresh_trigger(target)
        if trigger is not None:
            view = await asyncio.to_thread(render_slack_details, item, repo_url, language, "modal")
            try:
                await self.client.views_open(trigger_id=trigger, view=view)
                return []
            except SlackApiError as exc:  # expired_trigger_id etc.: the thread still works
                log.info("views.open failed (%s); posting in the thread", _error_of(exc))
        message = await asyncio.to_thread(render_slack_details, item, repo_url, language, "thread")
        ts = await self._post(target.channel_id, target.thread_id, message)
        return [MessageRef(PLATFORM, target.channel_id, ts, target.thread_id)]

    async def send_text(self, target: ReplyTarget, text: str) -> list[MessageRef]:
        message = {"text": escape_slack(text), "unfurl_links": False, "unfurl_media": False}
        ts = await self._post(target.channel_id, target.thread_id, message)
        return [MessageRef(PLATFORM, target.channel_id, ts, target.thread_id)]

    async def send_notice(self, target: ReplyTarget, text: str) -> None:
        if target.user_id is None:
            await self.send_text(target, text)
            return
        args: dict[str, Any] = {
            "channel": target.channel_id,
            "user": target.user_id,
            "text": escape_slack(text),
        }
        if target.thread_id:
            args["thread_ts"] = target.thread_id
        await self._pacer.wait(target.channel_id)
        try:
            await self._call("chat.postEphemeral", self.client.chat_postEphemeral(**args))
        except PlatformError:
            # A slash command in a channel the bot is not in: only its response_url reaches
            # the user (https://api.slack.com/interactivity/handling#message_responses).
            if not await self._respond(target, args["text"]):
                raise

    async def send_image(
        self,
        target: ReplyTarget,
        image: bytes,
        *,
        filename: str,
        title: str,
        alt_text: str,
        text: str = "",
    ) -> list[MessageRef]:
        """Share a PNG with Slack's external upload flow (files.upload is retired):
        files.getUploadURLExternal (filename, length, alt_txt) → the bytes POSTed to the
        upload URL → files.completeUploadExternal (files [{id, title}], channel_id, thread_ts,
        initial_comment = the escaped caption), i.e. slack_sdk's `files_upload_v2`; each step
        goes through the client's 429 handler. Needs the files:write scope.

        Slack shares the file asynchronously and answers without the message's ts
        (https://docs.slack.dev/reference/methods/files.completeUploadExternal), so the ts is
        read back from the channel (or thread) history, bounded by the upload's time. When it
        cannot be read the image is up all the same: [] is returned, never an error (a retry
        would post it twice)."""
        channel, thread = target.channel_id, target.thread_id
        args: dict[str, Any] = {
            "filename": _file_name(filename),
            "file": image,
            "title": clip(one_line(title), FILE_TITLE_MAX) or _file_name(filename),
            "alt_txt": clip(one_line(alt_text), ALT_TEXT_MAX) or None,
            "channel": channel,
        }
        caption = escape_slack(text.strip())
        if caption:
            args["initial_comment"] = caption
        if thread:
            args["thread_ts"] = thread
        await self._pacer.wait(channel)
        began = time.time()  # Slack's ts is wall-clock time, whatever clock we were given
        try:
            response = await self._call("files_upload_v2", self.client.files_upload_v2(**args))
        except SlackRequestError as exc:  # the upload URL refused the bytes
            raise PlatformError("Slack refused the image.", detail=f"upload: {exc}") from exc
        file = response.get("file") or {}
        file_id = str(file.get("id") or "")
        ts = _share_ts(file, channel) or await self._shared_ts(channel, thread, file_id, began)
        if ts is None:
            log.warning("file %s shared in %s, but its message was not found", file_id, channel)
            return []
        return [MessageRef(PLATFORM, channel, ts, thread)]

    async def _shared_ts(
        self, channel: str, thread: str | None, file_id: str, since: float
    ) -> str | None:
        """The ts of the message sharing `file_id`, read from the history after `since`."""
        method, where = (
            ("conversations.history", {})
            if thread is None
            else ("conversations.replies", {"ts": thread})
        )
        params = {
            "channel": channel,
            "oldest": f"{since - SHARE_CLOCK_SKEW:.6f}",
            "inclusive": "true",
            "limit": LOOKUP_PAGE,
            **where,
        }
        for wait in SHARE_POLL_WAITS:
            await self._sleep(wait)
            call = self.client.api_call(method, http_verb="GET", params=params)
            try:
                page = await self._call(method, call)
            except PlatformError as exc:
                log.info("cannot read back the shared file's message: %s", exc)
                return None
            for message in page.get("messages") or []:
                if any(f.get("id") == file_id for f in message.get("files") or []):
                    return str(message["ts"])
        return None

    async def _respond(self, target: ReplyTarget, text: str) -> bool:
        url = target.event.context.get("response_url", "") if target.event else ""
        if not url.startswith(self.response_url_prefix):
            return False
        try:
            response = await AsyncWebhookClient(url).send(text=text, response_type="ephemeral")
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("response_url failed: %s", exc)
            return False
        return bool(response.status_code == 200)

    def _fresh_trigger(self, target: ReplyTarget) -> str | None:
        event = target.event
        if self._details_view != "modal" or event is None or event.kind != "button":
            return None
        trigger = event.context.get("trigger_id")
        if not trigger or event.received_at is None:
            return None
        age = (self._clock() - event.received_at).total_seconds()
        return trigger if age < TRIGGER_WINDOW_SECONDS else None

    async def _post(self, channel: str, thread_ts: str | None, message: dict[str, Any]) -> str:
        args = {**message, "channel": channel}
        if thread_ts:
            args["thread_ts"] = thread_ts
        await self._pacer.wait(channel)
        response = await self._call("chat.postMessage", self.client.chat_postMessage(**args))
        return str(response["ts"])

    @staticmethod
    async def _call(method: str, call: Awaitable[Any]) -> Any:
        try:
            return await call
        except SlackApiError as exc:
            error = _error_of(exc)
            message = _USER_ERRORS.get(error, "Slack refused the message.")
            raise PlatformError(message, detail=f"{method}: {error}") from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise PlatformError("Slack could not be reached.", detail=f"{method}: {exc}") from exc


def _serialised(message: SlackMessage, delivery_key: str | None, index: int) -> str:
    """One message as its stored payload; with a delivery key, part `index` carries it in its
    message metadata, which lets a restarted scheduler find what it already posted."""
    payload = dict(message)
    if delivery_key is not None:
        payload["metadata"] = {
            "event_type": DELIVERY_EVENT_TYPE,
            "event_payload": {"delivery_key": delivery_key, "part": index},
        }
    return json.dumps(payload)


def _carries(message: dict[str, Any], key: PartKey) -> bool:
    metadata = message.get("metadata") or {}
    payload = metadata.get("event_payload") or {}
    return (
        metadata.get("event_type") == DELIVERY_EVENT_TYPE
        and payload.get("delivery_key") == key.delivery_key
        and int(payload.get("part") or 0) == key.index
    )


def _file_name(filename: str) -> str:
    name = one_line(filename).replace("/", "_").replace("\\", "_")
    return clip(name, FILE_TITLE_MAX) or "image.png"


def _share_ts(file: dict[str, Any], channel: str) -> str | None:
    """The ts of the file's share in `channel` when the answer already carries it
    (`shares.public|private[channel][0].ts`, https://docs.slack.dev/reference/objects/file-object)."""
    shares = file.get("shares") or {}
    for kind in ("public", "private"):
        for share in (shares.get(kind) or {}).get(channel) or []:
            if share.get("ts"):
                return str(share["ts"])
    return None


def _error_of(exc: SlackApiError) -> str:
    response = exc.response
    try:
        return str(response.get("error") or f"http_{response.status_code}")
    except AttributeError:
        return "unknown"
