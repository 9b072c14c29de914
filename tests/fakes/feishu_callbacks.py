"""What Feishu sends to an HTTP callback URL: event bodies encrypted and signed as the platform
does it, for `EventDispatcherHandler.do` (which decrypts with lark-oapi's own AESCipher)."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from typing import Any

from Crypto.Cipher import AES

from tests.fakes.chat import NOW

# X-Lark-Request-Timestamp (seconds) of a delivery made at tests.fakes.chat.NOW, the clock the
# test bots run on: fresh unless a test says otherwise.
NOW_TIMESTAMP = str(int(NOW.timestamp()))


def encrypt(plaintext: str, encrypt_key: str, iv: bytes | None = None) -> str:
    """AES-256-CBC the way Feishu encrypts callback bodies: the key is SHA-256(encrypt key), a
    random 16-byte IV is prepended to the ciphertext, PKCS#7 padding, then base64
    (https://open.feishu.cn/document/server-docs/event-subscription-guide/event-subscription-configure-/encrypt-key-encryption-configuration-case)."""
    key = hashlib.sha256(encrypt_key.encode("utf-8")).digest()
    iv = iv if iv is not None else os.urandom(16)
    data = plaintext.encode("utf-8")
    pad = 16 - len(data) % 16
    cipher = AES.new(key, AES.MODE_CBC, iv)
    return base64.b64encode(iv + cipher.encrypt(data + bytes([pad]) * pad)).decode("ascii")


def signature(timestamp: str, nonce: str, encrypt_key: str, body: bytes) -> str:
    """X-Lark-Signature: SHA-256 hex of timestamp + nonce + encrypt key + the raw body."""
    return hashlib.sha256((timestamp + nonce + encrypt_key).encode("utf-8") + body).hexdigest()


def callback_request(
    payload: dict[str, Any],
    encrypt_key: str | None,
    *,
    timestamp: str = NOW_TIMESTAMP,
    nonce: str = "5b1e6c0d",
    sign_with: str | None = None,
) -> tuple[bytes, dict[str, str]]:
    """(body, headers) of one event delivery: encrypted and signed when `encrypt_key` is set
    (`sign_with` signs with another key: a forgery)."""
    plain = json.dumps(payload, ensure_ascii=False)
    if encrypt_key is None:
        return plain.encode("utf-8"), {"Content-Type": "application/json; charset=utf-8"}
    body = json.dumps({"encrypt": encrypt(plain, encrypt_key)}).encode("utf-8")
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "X-Lark-Request-Timestamp": timestamp,
        "X-Lark-Request-Nonce": nonce,
        "X-Lark-Signature": signature(timestamp, nonce, sign_with or encrypt_key, body),
        "X-Request-Id": hashlib.sha256(body).hexdigest()[:24],
    }
    return body, headers
