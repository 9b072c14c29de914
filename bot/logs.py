"""Logging set-up: one line per event, plain or JSON, with every known secret redacted."""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime

# Token shapes that must never reach a log even when we were not told the value:
# Slack (xoxb-/xoxp-/xapp-), GitHub (ghp_, gho_, ghs_, github_pat_), OpenAI-style (sk-).
_TOKEN_RE = re.compile(
    r"(xox[abposr]-[A-Za-z0-9-]{8,}|xapp-[A-Za-z0-9-]{8,}|gh[pousr]_[A-Za-z0-9]{20,}"
    r"|github_pat_[A-Za-z0-9_]{20,}|sk-[A-Za-z0-9_-]{16,})"
)
REDACTED = "[redacted]"
# A piece of a known secret this long is redacted too: text cut somewhere we do not control
# (an upstream message clipped by a library) must not show most of a secret either.
MIN_FRAGMENT = 8


class Redactor:
    """Replaces known secret values, their cut-off pieces and token-shaped strings in text.

    Redact whole texts, then cut them (`clip`): cutting first can leave a piece of a secret
    that no longer equals it, which only the fragment rule below still catches.
    """

    def __init__(self, secrets: Iterable[str]) -> None:
        # Longest first so a secret containing another is replaced whole.
        self._secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        for secret in self._secrets:
            text = _redact_fragments(text, secret)
        return _TOKEN_RE.sub(REDACTED, text)

    def clip(self, text: str, limit: int) -> str:
        """`text` redacted, then cut to `limit` characters (with "…" when cut)."""
        return clip(self.redact(text), limit)


def clip(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters, the last one "…" when it was cut."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def _redact_fragments(text: str, secret: str) -> str:
    """Replace what remains of `secret` after a cut: a run of at least MIN_FRAGMENT of its
    first characters (the text was cut after it) or of its last ones (cut before it)."""
    if len(secret) <= MIN_FRAGMENT:
        return text  # short secrets are only redacted whole
    head, tail = secret[:MIN_FRAGMENT], secret[-MIN_FRAGMENT:]
    spans: list[tuple[int, int]] = []
    start = text.find(head)
    while start != -1:
        end = start + MIN_FRAGMENT
        while end < len(text) and end - start < len(secret) and text[end] == secret[end - start]:
            end += 1
        spans.append((start, end))
        start = text.find(head, end)
    start = text.find(tail)
    while start != -1:
        end = start + MIN_FRAGMENT
        begin = start
        offset = len(secret) - MIN_FRAGMENT  # where `tail` sits in the secret
        while begin > 0 and offset > 0 and text[begin - 1] == secret[offset - 1]:
            begin -= 1
            offset -= 1
        spans.append((begin, end))
        start = text.find(tail, end)
    if not spans:
        return text
    out: list[str] = []
    position = 0
    for begin, end in sorted(spans):
        if end <= position:
            continue
        out.append(text[position:begin] if begin > position else "")
        if begin >= position:
            out.append(REDACTED)
        position = max(position, end)
    out.append(text[position:])
    return "".join(out)


class RedactingFormatter(logging.Formatter):
    """Formats with `inner`, then redacts the whole line (message, traceback, extras).

    A formatter rather than a filter, so the record itself (seen by other handlers) is untouched.
    """

    def __init__(self, inner: logging.Formatter, redactor: Redactor) -> None:
        super().__init__()
        self._inner = inner
        self._redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        return self._redactor.redact(self._inner.format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line; extra fields given via `extra={...}` are included."""

    _SKIP = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        data.update({k: v for k, v in vars(record).items() if k not in self._SKIP})
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


def configure_logging(level: str, fmt: str, secrets: Iterable[str]) -> None:
    """Route all logging to stderr (stdout carries the report) through the redacting filter."""
    handler = logging.StreamHandler(sys.stderr)
    inner = (
        JsonFormatter()
        if fmt == "json"
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    handler.setFormatter(RedactingFormatter(inner, Redactor(secrets)))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper() if isinstance(level, str) else level)
    # Third-party libraries are chatty at DEBUG and may echo headers.
    for noisy in ("urllib3", "github", "httpx", "httpcore", "openai", "asyncio"):
        logging.getLogger(noisy).setLevel(max(logging.INFO, root.level))
