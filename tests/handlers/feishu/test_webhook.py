"""The HTTP callback's gate as a pure function: properties over arbitrary requests (it never
raises, only answers 200/400/401, dispatches nothing unsigned) and the freshness window's edges."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from handlers.feishu.webhook import FRESHNESS, check_callback
from tests.fakes.chat import NOW
from tests.fakes.feishu_bot import ENCRYPT_KEY, TOKEN, load
from tests.fakes.feishu_callbacks import callback_request, encrypt

HEADER_NAMES = st.sampled_from(
    ["X-Lark-Request-Timestamp", "X-Lark-Request-Nonce", "X-Lark-Signature", "Content-Type"]
)
HEADERS = st.dictionaries(HEADER_NAMES, st.text(max_size=80), max_size=4)


@given(body=st.binary(max_size=400), headers=HEADERS)
def test_arbitrary_requests_get_a_4xx_never_an_exception(
    body: bytes, headers: dict[str, str]
) -> None:
    verdict = check_callback(
        body, headers, encrypt_key=ENCRYPT_KEY, verification_token=TOKEN, now=NOW
    )
    assert not verdict.dispatch and verdict.status in {400, 401}
    assert verdict.answer in {"bad request", "unauthorized"}


@given(plain=st.text(max_size=300), headers=HEADERS)
def test_encrypted_garbage_without_a_valid_signature_is_never_dispatched(
    plain: str, headers: dict[str, str]
) -> None:
    body = json.dumps({"encrypt": encrypt(plain, ENCRYPT_KEY)}).encode()
    verdict = check_callback(
        body, headers, encrypt_key=ENCRYPT_KEY, verification_token=TOKEN, now=NOW
    )
    assert not verdict.dispatch and verdict.status in {400, 401}


@given(document=st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=5))
def test_plaintext_without_an_encrypt_key_needs_the_token(document: dict[str, str]) -> None:
    body = json.dumps(document).encode()
    verdict = check_callback(body, {}, encrypt_key=None, verification_token=TOKEN, now=NOW)
    assert not verdict.dispatch


def test_the_window_is_five_minutes_either_way() -> None:
    now = int(NOW.timestamp())
    edge = int(FRESHNESS.total_seconds())
    payload = load("message_text_group_mention")
    for skew, dispatched in ((-edge, True), (edge, True), (-edge - 1, False), (edge + 1, False)):
        body, headers = callback_request(payload, ENCRYPT_KEY, timestamp=str(now + skew))
        verdict = check_callback(
            body, headers, encrypt_key=ENCRYPT_KEY, verification_token=TOKEN, now=NOW
        )
        assert verdict.dispatch is dispatched, skew
        if not dispatched:
            assert (verdict.status, verdict.reason.split(" (")[0]) == (401, "stale timestamp")
    assert FRESHNESS.total_seconds() == 300


def test_headers_are_found_in_any_case() -> None:
    body, headers = callback_request(load("message_text_group_mention"), ENCRYPT_KEY)
    lowered = {name.lower(): value for name, value in headers.items()}
    verdict = check_callback(
        body, lowered, encrypt_key=ENCRYPT_KEY, verification_token=TOKEN, now=NOW
    )
    assert verdict.dispatch
