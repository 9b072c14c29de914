"""The redactor: whole secrets, token shapes, and what is left of a secret after a cut."""

from __future__ import annotations

import logging

from hypothesis import given
from hypothesis import strategies as st

from bot.logs import MIN_FRAGMENT, REDACTED, Redactor, clip, configure_logging
from tests.fakes.chat import preserved_logging

SECRET = "s3cr3t0t0k3n0fr0m0th3nt3rpr1s3"  # 30 characters, no known token shape


def pieces(secret: str, size: int = MIN_FRAGMENT) -> set[str]:
    return {secret[i : i + size] for i in range(len(secret) - size + 1)}


def shows_a_piece(text: str, secret: str) -> bool:
    return any(piece in text for piece in pieces(secret))


def test_whole_secrets_and_token_shapes() -> None:
    redactor = Redactor([SECRET, "short"])
    text = f"a {SECRET} b ghp_{'x' * 30} c short"
    assert redactor.redact(text) == f"a {REDACTED} b {REDACTED} c short"  # < 6: never redacted


def test_a_secret_cut_after_29_of_its_30_characters_is_still_redacted() -> None:
    """What `doctor` printed: an upstream message cut to 80 characters before redaction."""
    message = "x" * 51 + SECRET + " and more"
    cut = message[:80]
    assert SECRET[:29] in cut and SECRET not in cut
    assert not shows_a_piece(Redactor([SECRET]).redact(cut), SECRET)
    # Cut from the other side (the end of a long message kept), the tail is caught.
    assert not shows_a_piece(Redactor([SECRET]).redact(message[55:]), SECRET)


def test_clip_redacts_before_it_cuts() -> None:
    message = "x" * 51 + SECRET + " and more"
    clipped = Redactor([SECRET]).clip(message, 80)
    assert clipped == "x" * 51 + REDACTED + " and more"  # short enough once redacted
    assert Redactor([SECRET]).clip("y" * 200 + SECRET, 50) == "y" * 49 + "…"
    assert clip("abc", 3) == "abc" and clip("abcd", 3) == "ab…"


def test_text_around_a_fragment_is_kept() -> None:
    redactor = Redactor([SECRET])
    assert redactor.redact(f"({SECRET[:12]})") == f"({REDACTED})"
    assert redactor.redact(f"[{SECRET[-9:]}] ok") == f"[{REDACTED}] ok"
    assert redactor.redact("nothing secret here") == "nothing secret here"
    assert redactor.redact(SECRET[: MIN_FRAGMENT - 1]) == SECRET[: MIN_FRAGMENT - 1]


@given(
    # No "e" in the alphabet, so "[redacted]" itself can never be a piece of the secret.
    secret=st.text(alphabet="abcdfghijklmnopqrstuvwxyz0123456789-_", min_size=9, max_size=60),
    before=st.text(alphabet=" .:xyz()", max_size=40),
    after=st.text(alphabet=" .:xyz()", max_size=40),
    data=st.data(),
)
def test_no_cut_leaves_a_piece_of_a_secret(
    secret: str, before: str, after: str, data: st.DataObject
) -> None:
    """Wherever a text holding the secret is cut, on either side, what is left shows no run of
    MIN_FRAGMENT of its characters once redacted (a piece of the secret cut on both sides is
    the one case no rule can know; it is not generated here)."""
    text = before + secret + after
    start = len(before)
    end = start + len(secret)
    head_cut = data.draw(st.integers(start + MIN_FRAGMENT, end), label="cut after")
    tail_cut = data.draw(st.integers(start, end - MIN_FRAGMENT), label="cut before")
    redactor = Redactor([secret])
    for shown in (text[:head_cut], text[tail_cut:], text):
        assert not shows_a_piece(redactor.redact(shown), secret), shown


def test_log_lines_are_redacted(capsys: object) -> None:
    with preserved_logging():
        configure_logging("INFO", "plain", [SECRET])
        logging.getLogger("digestbot.test").warning("upstream said: %s", SECRET[:20])
    err = capsys.readouterr().err  # type: ignore[attr-defined]
    assert "upstream said: [redacted]" in err and SECRET[:MIN_FRAGMENT] not in err
