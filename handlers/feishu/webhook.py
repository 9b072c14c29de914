"""The gate of the HTTP callback: what a POST to /feishu/events must be before lark-oapi sees it.

lark-oapi's `EventDispatcherHandler.do` answers anything it cannot use (a body that is not
JSON, missing signature headers) with HTTP 500, the exception's text as the body and a logged
traceback, and it never looks at the timestamp, so a captured delivery can be replayed forever.
`check_callback` decides first, from the raw request:

- the body must be a JSON object (else 400);
- with an encrypt key (https://open.feishu.cn/document/server-docs/event-subscription-guide/
  event-subscription-configure-/encrypt-key-encryption-configuration-case) the body must be
  `{"encrypt": …}` that decrypts to a JSON object (else 400), carry X-Lark-Request-Timestamp,
  X-Lark-Request-Nonce and X-Lark-Signature (else 400: only the console's url_verification
  challenge may come without them, as every lark SDK accepts it), a signature equal to
  SHA-256(timestamp + nonce + encrypt key + body) (else 401) and a timestamp within
  `FRESHNESS` of our clock (else 401);
- the verification token, when set, must match (else 401);
- an event type we do not handle is answered 200 and dropped (a 500 would make Feishu re-push it
  after 15 s, 5 min, 1 h and 6 h).

Without an encrypt key Feishu signs nothing: only the verification token authenticates a
callback then, and freshness cannot be checked (README: set FEISHU_ENCRYPT_KEY).
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from lark_oapi.core.utils import AESCipher

# The window Slack uses for its signed requests
# (https://api.slack.com/authentication/verifying-requests-from-slack): a delivery older or newer
# than this is refused, so a captured one cannot be replayed later.
FRESHNESS = timedelta(minutes=5)
TIMESTAMP_HEADER = "X-Lark-Request-Timestamp"
NONCE_HEADER = "X-Lark-Request-Nonce"
SIGNATURE_HEADER = "X-Lark-Signature"
URL_VERIFICATION = "url_verification"
HANDLED_EVENTS = frozenset({"im.message.receive_v1", "card.action.trigger"})
_EVENT_NAME = re.compile(r"[a-z0-9_.]{1,80}")


@dataclass(frozen=True)
class Verdict:
    """What to do with one callback: `dispatch` it, or answer `status` with `answer`.

    `reason` is for the one log line; it never carries text from the request."""

    dispatch: bool
    status: int = 200
    answer: str = "success"
    reason: str = ""


DISPATCH = Verdict(dispatch=True)


def _refuse(status: int, reason: str) -> Verdict:
    answer = "bad request" if status == 400 else "unauthorized"
    return Verdict(dispatch=False, status=status, answer=answer, reason=reason)


def check_callback(
    body: bytes,
    headers: Mapping[str, str],
    *,
    encrypt_key: str | None,
    verification_token: str | None,
    now: datetime,
) -> Verdict:
    """The verdict on one raw callback (see the module docstring); never raises."""
    document = _json_object(body)
    if document is None:
        return _refuse(400, "the body is not a JSON object")
    if encrypt_key:
        encrypted = document.get("encrypt")
        if not isinstance(encrypted, str) or not encrypted:
            return _refuse(400, "the body is not encrypted")
        signed = _signature_headers(headers)
        if signed is not None:
            timestamp, nonce, signature = signed
            if not timestamp.isdigit():
                return _refuse(400, "malformed timestamp header")
            expected = hashlib.sha256((timestamp + nonce + encrypt_key).encode() + body)
            if not hmac.compare_digest(expected.hexdigest(), signature):
                return _refuse(401, "bad signature")
            skew = now.timestamp() - int(timestamp)
            if abs(skew) > FRESHNESS.total_seconds():
                return _refuse(401, f"stale timestamp ({skew:+.0f} s from our clock)")
        plain = _decrypted(encrypted, encrypt_key)
        if plain is None:
            return _refuse(400, "the body does not decrypt with FEISHU_ENCRYPT_KEY")
        if signed is None and _kind(plain) != URL_VERIFICATION:
            return _refuse(400, "signature headers missing")
    else:
        plain = document
    kind = _kind(plain)
    if verification_token:
        token = _token(plain)
        if token is None:
            if not encrypt_key or kind == URL_VERIFICATION:
                return _refuse(401, "no verification token")
        elif not hmac.compare_digest(token.encode(), verification_token.encode()):
            return _refuse(401, "wrong verification token")
    if kind == URL_VERIFICATION or kind in HANDLED_EVENTS:
        return DISPATCH
    name = kind if kind is not None and _EVENT_NAME.fullmatch(kind) else "unknown"
    return Verdict(dispatch=False, reason=f"event type {name} is not handled")


def _json_object(raw: bytes | str) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return value if isinstance(value, dict) else None


def _decrypted(encrypted: str, encrypt_key: str) -> dict[str, Any] | None:
    try:
        plaintext = AESCipher(encrypt_key).decrypt_str(encrypted)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    return _json_object(plaintext)


def _signature_headers(headers: Mapping[str, str]) -> tuple[str, str, str] | None:
    values = [_header(headers, name) for name in (TIMESTAMP_HEADER, NONCE_HEADER, SIGNATURE_HEADER)]
    if any(value is None for value in values):
        return None
    timestamp, nonce, signature = (str(value) for value in values)
    return timestamp, nonce, signature


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:  # a plain dict: look the name up in any case
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value


def _kind(plain: Mapping[str, Any]) -> str | None:
    """The event type of a schema 2.0 body, or "url_verification"; None otherwise."""
    header = plain.get("header")
    if plain.get("schema") and isinstance(header, Mapping):
        event_type = header.get("event_type")
        return event_type if isinstance(event_type, str) else None
    kind = plain.get("type")
    return URL_VERIFICATION if kind == URL_VERIFICATION else None


def _token(plain: Mapping[str, Any]) -> str | None:
    header = plain.get("header")
    token = header.get("token") if isinstance(header, Mapping) else plain.get("token")
    return token if isinstance(token, str) else None
