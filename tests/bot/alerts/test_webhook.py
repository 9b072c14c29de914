"""The webhook's signature check and push parser: properties over any body and any header."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.alerts.webhook import PushEvent, WebhookRejected, delivery_id, parse_push, verify_signature

SECRET = b"webhook-secret-of-some-length"


def sign(body: bytes, secret: bytes = SECRET) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


@given(st.binary(max_size=2000))
def test_the_body_signed_with_the_secret_passes(body: bytes) -> None:
    verify_signature(SECRET, body, sign(body))
    verify_signature(SECRET, body, sign(body).upper().replace("SHA256=", "sha256="))


# HMAC pads short keys with zero bytes, so a key extended by zeros alone is the same key.
@given(
    st.binary(max_size=500),
    st.binary(min_size=1, max_size=40).filter(any),
    st.text(max_size=80),
)
def test_any_other_signature_is_refused_with_401(body: bytes, other: bytes, header: str) -> None:
    for wrong in (sign(body, SECRET + other), sign(body + other), header, ""):
        with pytest.raises(WebhookRejected) as raised:
            verify_signature(SECRET, body, wrong)
        assert raised.value.status == 401


@given(st.binary(max_size=3000))
def test_any_body_parses_or_is_a_400(body: bytes) -> None:
    try:
        event = parse_push(body)
    except WebhookRejected as exc:
        assert exc.status == 400
    else:
        assert isinstance(event, PushEvent)


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(
    st.dictionaries(
        st.sampled_from(
            ["ref", "before", "after", "repository", "forced", "head_commit", "commits"]
        ),
        _json,
    )
)
def test_any_json_shape_parses_or_is_a_400(data: dict[str, object]) -> None:
    try:
        parse_push(json.dumps(data).encode())
    except WebhookRejected as exc:
        assert exc.status == 400


def test_a_push_payload_is_read() -> None:
    body = json.dumps(
        {
            "ref": "refs/heads/release/1.0",
            "before": "a" * 40,
            "after": "B" * 40,
            "forced": True,
            "repository": {"full_name": "Acme/Rocket", "default_branch": "main"},
            "head_commit": {"timestamp": "2026-06-01T10:42:00+02:00"},
            "commits": [{"id": "b" * 40}, {"id": "c" * 40}],
        }
    ).encode()
    event = parse_push(body)
    assert (event.repo, event.branch, event.after, event.forced) == (
        "Acme/Rocket",
        "release/1.0",
        "b" * 40,
        True,
    )
    assert event.commits == 2 and event.head_at is not None and event.head_at.hour == 10
    assert event.on_branch("release/1.0") and not event.on_branch(None)
    deleted = parse_push(body.replace(b"B" * 40, b"0" * 40))
    assert deleted.deleted


@pytest.mark.parametrize("value", [None, "", "a b", "x" * 101, "<script>"])
def test_a_bad_delivery_id_is_a_400(value: str | None) -> None:
    with pytest.raises(WebhookRejected) as raised:
        delivery_id(value)
    assert raised.value.status == 400


def test_a_delivery_id_is_kept() -> None:
    assert (
        delivery_id(" 72d3162e-cc78-11e3-81ab-4c9367dc0958 ")
        == "72d3162e-cc78-11e3-81ab-4c9367dc0958"
    )
