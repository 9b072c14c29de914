"""Escaping untrusted text per platform, clipping escaped text, and repository-only links."""

from __future__ import annotations

import html
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from formatters.escape import (
    ZWJ,
    RepoLinks,
    clean,
    clip,
    escape_discord,
    escape_feishu,
    escape_plain,
    escape_slack,
    fit,
    text_length,
    valid_sha,
)
from tests.formatters.digest_strategies import ATTACKS, texts

PROPERTY = settings(max_examples=300, deadline=None)
any_text = st.one_of(texts, st.text(), st.lists(st.sampled_from(ATTACKS)).map(" ".join))
SHA = "00248d85c798c6c4cb84aa5a7ac7685178867219"


def _without_zwj(text: str) -> str:
    return text.replace("@" + ZWJ, "@")


# --- clean / lengths ---------------------------------------------------------------------


def test_clean_drops_controls_bidi_and_lone_surrogates() -> None:
    assert clean("a\r\nb\rc\u2028d\te") == "a\nb\nc\nd e"
    assert clean("x\x00\x07\x1b[31m\u202eevil\u2066y\x85") == "x[31mevily"
    assert clean("\ud800ok") == "\ufffdok"


@PROPERTY
@given(any_text)
def test_clean_output_always_serialises(text: str) -> None:
    cleaned = clean(text)
    json.dumps(cleaned, ensure_ascii=False).encode("utf-8")
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", cleaned)


def test_text_length_counts_utf16_units() -> None:
    assert text_length("abc") == 3 and text_length("中文") == 2 and text_length("😀") == 2


@PROPERTY
@given(any_text, st.integers(0, 300))
def test_clip_respects_the_limit(text: str, limit: int) -> None:
    clipped = clip(clean(text), limit)
    assert text_length(clipped) <= limit
    if text_length(clean(text)) <= limit:
        assert clipped == clean(text)


# --- Slack -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("<!channel>", "&lt;!channel&gt;"),
        ("<!here> <@U123> <#C1>", "&lt;!here&gt; &lt;@U123&gt; &lt;#C1&gt;"),
        ("<https://evil|github.com>", "&lt;https://evil|github.com&gt;"),
        ("a & b &amp;", "a &amp; b &amp;amp;"),
        ("@channel @here @everyone", f"@{ZWJ}channel @{ZWJ}here @{ZWJ}everyone"),
        ("`code` *bold*", "`code` *bold*"),
    ],
)
def test_slack_examples(raw: str, escaped: str) -> None:
    assert escape_slack(raw) == escaped


@PROPERTY
@given(any_text)
def test_slack_escaping_is_lossless_and_leaves_no_control_characters(text: str) -> None:
    escaped = escape_slack(text)
    assert "<" not in escaped and ">" not in escaped
    assert not re.search(r"&(?!amp;|lt;|gt;)", escaped)
    assert html.unescape(_without_zwj(escaped)) == clean(text)


# --- Discord -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("<@123> <@&1> <#1>", "\\<@123\\> \\<@&1\\> \\<\\#1\\>"),
        ("@everyone @here", f"@{ZWJ}everyone @{ZWJ}here"),
        ("[x](https://evil)", "\\[x\\](https://evil)"),
        ("**b** __u__ ~~s~~ ||sp||", "\\*\\*b\\*\\* \\_\\_u\\_\\_ \\~\\~s\\~\\~ \\|\\|sp\\|\\|"),
        ("# h\n-# sub\n- li\n1. one", "\\# h\n\\-\\# sub\n\\- li\n1\\. one"),
        ("keep `<@123> x_y` code", "keep `<@123> x_y` code"),
        ("`@everyone`", f"`@{ZWJ}everyone`"),
        ("`unclosed <@1>", "\\`unclosed \\<@1\\>"),
    ],
)
def test_discord_examples(raw: str, escaped: str) -> None:
    assert escape_discord(raw) == escaped


def _discord_unescape(text: str) -> str:
    out, index = [], 0
    while index < len(text):
        if text[index] == "\\" and index + 1 < len(text):
            out.append(text[index + 1])
            index += 2
        elif text[index] == "`":
            end = text.index("`", index + 1)
            out.append(text[index : end + 1])
            index = end + 1
        else:
            out.append(text[index])
            index += 1
    return "".join(out)


def _discord_plain_text(markdown: str) -> str:
    """The characters Discord reads as markdown: outside code spans and not backslash-escaped.
    Scanned left to right as Discord does: inside a code span a backslash escapes nothing."""
    out: list[str] = []
    index = 0
    while index < len(markdown):
        char = markdown[index]
        if char == "\\" and index + 1 < len(markdown):
            index += 2
            continue
        if char == "`":
            close = markdown.find("`", index + 1)
            if close > index:
                index = close + 1
                continue
        out.append(char)
        index += 1
    return "".join(out)


@PROPERTY
@given(any_text)
def test_discord_escaping_is_lossless_and_leaves_no_bare_angle_bracket(text: str) -> None:
    escaped = escape_discord(text)
    outside_code = _discord_plain_text(escaped)
    assert "<" not in outside_code and "[" not in outside_code and "|" not in outside_code
    assert not re.search("@(everyone|here)", escaped)
    assert _discord_unescape(_without_zwj(escaped)) == clean(text)


# --- Feishu ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ('<at user_id="all"></at>', '&#60;at user&#95;id="all"&#62;&#60;/at&#62;'),
        ("<at id=all></at>", "&#60;at id=all&#62;&#60;/at&#62;"),
        ("[x](https://evil)", "&#91;x&#93;(https://evil)"),
        ("<font color='red'>r</font>", "&#60;font color='red'&#62;r&#60;/font&#62;"),
        ("# h\n- li\n1. one\n===", "&#35; h\n&#45; li\n1&#46; one\n&#61;=="),
        ("keep `x_y*z` code", "keep `x_y*z` code"),
        ("`<at id=all></at>`", "&#96;&#60;at id=all&#62;&#60;/at&#62;&#96;"),
    ],
)
def test_feishu_examples(raw: str, escaped: str) -> None:
    assert escape_feishu(raw) == escaped


@PROPERTY
@given(any_text)
def test_feishu_escaping_is_lossless_and_leaves_no_tag_or_link(text: str) -> None:
    escaped = escape_feishu(text)
    assert "<" not in escaped and ">" not in escaped and "[" not in escaped
    assert html.unescape(_without_zwj(escaped)) == clean(text)


def test_plain_text_breaks_tags_and_broadcasts_on_one_line() -> None:
    assert (
        escape_plain("<!channel>\n<at id=all> @here")
        == f"<{ZWJ}!channel> <{ZWJ}at id=all> @{ZWJ}here"
    )


# --- fit ---------------------------------------------------------------------------------


@PROPERTY
@given(
    any_text, st.integers(0, 4000), st.sampled_from([escape_slack, escape_discord, escape_feishu])
)
def test_fit_never_exceeds_the_limit_and_stays_escaped(text: str, limit: int, escape) -> None:  # type: ignore[no-untyped-def]
    fitted = fit(text, limit, escape)
    assert text_length(fitted) <= limit
    if text_length(escape(clean(text))) <= limit:
        assert fitted == escape(clean(text))
    elif limit >= 1:
        assert fitted.endswith("…")
    if escape is not escape_discord:
        assert "<" not in fitted


# --- links -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("repo", "repo_url", "base"),
    [
        ("sgl-project/sglang", "", "https://github.com/sgl-project/sglang"),
        (
            "sgl-project/sglang",
            "https://github.com/sgl-project/sglang/",
            "https://github.com/sgl-project/sglang",
        ),
        ("o/r", "https://GHE.corp.example:8443/o/r.git", "https://ghe.corp.example:8443/o/r"),
        ("o/r", "https://github.com/other/repo", None),
        ("o/r", "http://github.com/o/r", None),
        ("o/r", "javascript:alert(1)//github.com/o/r", None),
        ("o/r", "https://user:pw@github.com/o/r", None),
        ("o/r", "https://github.com/o/r?x=1", None),
        ("o/r", "https://github.com/o/r#frag", None),
        ("o/r", "https://evil.example|github.com/o/r", None),
        ("/home/me/repo", "", None),
        ("/home/me/repo", "https://github.com/me/repo", "https://github.com/me/repo"),
        ("a/..", "", None),
        ("<!channel>/x", "", None),
    ],
)
def test_repo_links_only_accept_a_plain_https_repository_address(
    repo: str, repo_url: str, base: str | None
) -> None:
    assert RepoLinks.for_repo(repo, repo_url).base == base


def test_commit_and_pull_links_need_valid_values() -> None:
    links = RepoLinks.for_repo("o/r")
    assert links.commit(SHA.upper()) == f"https://github.com/o/r/commit/{SHA}"
    assert links.commit("00248d8") == "https://github.com/o/r/commit/00248d8"
    for bad in ("xyz1234", "0024", SHA + "0", "00248d8)](https://evil", ""):
        assert links.commit(bad) is None
    assert links.pull(13662) == "https://github.com/o/r/pull/13662"
    assert links.pull(0) is None and links.pull(-1) is None and links.pull(None) is None
    assert RepoLinks(None).commit(SHA) is None and RepoLinks(None).pull(1) is None
    assert valid_sha(" ABCDEF1 ") == "abcdef1"
