"""`digestbot chat`: the conversation layer in a terminal; the thread is "the last digest"."""

from __future__ import annotations

import asyncio
import getpass
import re
import threading
import uuid
from datetime import UTC, datetime
from typing import TextIO

from bot.models import Alert, Digest, DigestItem, Language
from formatters.alert_text import render_alert_text
from formatters.markdown import render_commit_markdown, render_markdown
from formatters.text_safety import one_line
from handlers.conversation.conversation import Conversation
from handlers.ports import InboundEvent, MessageRef, PartKey, ReplyTarget

PLATFORM = "console"
CHANNEL = "console"
_QUIT = {"quit", "exit", ":q", "/quit", "/exit"}
# Terminal control sequences (ANSI escapes start with ESC) from commit text must not reach
# the terminal: every C0/C1 control except newline and tab is dropped.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

BANNER = (
    "digestbot chat: type `help`, `digest <repo> [when]`, then `details <sha>`, a bare SHA or "
    "a question naming one about the last digest. `quit` ends."
)


def terminal_safe(text: str) -> str:
    return _CONTROL.sub("", text)


class ConsoleAdapter:
    """A ChatAdapter printing Markdown to a text stream; remembers the last digest posted."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self.last_digest: str | None = None

    @property
    def platform(self) -> str:
        return PLATFORM

    async def send_digest(
        self, target: ReplyTarget, digest: Digest, *, delivery_key: str | None = None
    ) -> list[MessageRef]:
        ref = self._print(target, render_markdown(digest))
        self.last_digest = ref.message_id
        return [ref]

    def render_digest(self, digest: Digest, *, delivery_key: str | None = None) -> list[str]:
        """One part: a terminal has no message size limit."""
        return [render_markdown(digest)]

    def render_alert(self, alert: Alert, *, delivery_key: str) -> list[str]:
        """One part of plain text; a terminal keeps no delivery key (nothing to look up)."""
        return [render_alert_text(alert)]

    async def post_part(
        self,
        target: ReplyTarget,
        payload: str,
        *,
        root: MessageRef | None = None,
        key: PartKey | None = None,
    ) -> list[MessageRef]:
        ref = self._print(target, payload)
        if root is None:
            self.last_digest = ref.message_id
        return [ref]

    async def send_details(
        self, target: ReplyTarget, item: DigestItem, repo_url: str, language: Language
    ) -> list[MessageRef]:
        text = render_commit_markdown(item, language, repo=item.commit.repo, repo_url=repo_url)
        return [self._print(target, text)]

    async def send_text(self, target: ReplyTarget, text: str) -> list[MessageRef]:
        return [self._print(target, text)]

    async def send_notice(self, target: ReplyTarget, text: str) -> None:
        self._write(f"» {text}\n")

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
        """A terminal cannot show a picture: one line naming it, then the caption."""
        line = f"[image: {one_line(filename)}, {len(image)} bytes] {one_line(title)}".rstrip()
        caption = text.strip()
        return [self._print(target, f"{line}\n{caption}" if caption else line)]

    def _print(self, target: ReplyTarget, text: str) -> MessageRef:
        self._write(text.rstrip("\n") + "\n\n")
        return MessageRef(PLATFORM, target.channel_id, f"c-{uuid.uuid4().hex}", target.thread_id)

    def _write(self, text: str) -> None:
        self._out.write(terminal_safe(text))
        self._out.flush()


async def run_console(
    conversation: Conversation,
    stdin: TextIO,
    stdout: TextIO,
    *,
    user: str | None = None,
    prompt: bool | None = None,
) -> int:
    """Read commands line by line until EOF or `quit`; every line goes through `respond`."""
    adapter = ConsoleAdapter(stdout)
    who = user or _login()
    show_prompt = stdin.isatty() if prompt is None else prompt
    stdout.write(BANNER + "\n")
    while True:
        if show_prompt:
            stdout.write("> ")
            stdout.flush()
        line = await read_line(stdin)
        if not line:
            break
        text = line.strip()
        if not text:
            continue
        if text.lower() in _QUIT:
            break
        message_id = f"in-{uuid.uuid4().hex}"
        event = InboundEvent(
            platform=PLATFORM,
            event_id=message_id,
            user_id=who,
            channel_id=CHANNEL,
            kind="mention",  # everything typed here is addressed to the bot
            text=text,
            thread_id=adapter.last_digest,
            message_id=message_id,
            received_at=datetime.now(UTC),
            is_channel_manager=True,  # the person at the terminal runs the bot
        )
        await conversation.respond(event, adapter)
    return 0


async def read_line(stdin: TextIO) -> str:
    """One line of `stdin`, read in a daemon thread: Ctrl-C at an idle prompt ends the program
    at once (a read on the default executor would keep it alive until Enter, as asyncio.run
    waits for that executor's threads on the way out)."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[str] = loop.create_future()

    def settle(line: str | None, error: BaseException | None) -> None:
        if future.done():  # cancelled meanwhile (Ctrl-C)
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(line or "")

    def read() -> None:
        try:
            line = stdin.readline()
        except (OSError, ValueError) as exc:  # closed or broken stdin
            loop.call_soon_threadsafe(settle, None, exc)
        else:
            loop.call_soon_threadsafe(settle, line, None)

    threading.Thread(target=read, name="console-stdin", daemon=True).start()
    return await future


def _login() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "console"
