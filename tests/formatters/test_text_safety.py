"""formatters.text_safety: clean, clip, chat-platform escaping, SHA checks and repository links."""

from __future__ import annotations

import html
import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from formatters.text_safety import (
    ZWJ,
    Escaper,
    RepoLinks,
    clean,
    clip,
    defang,
    escape_discord,
    escape_feishu,
    escape_plain,
    escape_slack,
    fit,
    lines,
    one_line,
    split_area,
    text_length,
    valid_sha,
)
from tests.formatters.digest_strategies import ATTACKS, link_texts, texts, urls
from tests.formatters.payload_checks import clickable

PROPERTY = settings(max_examples=300, deadline=None)
SHA = "00248d85c798c6c4cb84aa5a7ac7685178867219"

# Controls `clean` must remove: C0 (but \t, \n), DEL, C1, bidi controls and zero-width ones.
CONTROL_CHARS = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064"
    r"\u2066-\u206f\ufeff\u2028\u2029\r\ud800-\udfff]"
)
BIDI_AND_ZERO_WIDTH = (
    "\u061c\u200b\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
    "\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069\u206a\u206f\ufeff"
)
ESCAPERS: tuple[Escaper, ...] = (escape_slack, escape_discord, escape_feishu, escape_plain)

with_controls = st.lists(
    st.one_of(st.text(max_size=8), st.sampled_from(BIDI_AND_ZERO_WIDTH), st.sampled_from(ATTACKS))
).map("".join)
any_text = st.one_of(
    texts, st.text(), st.lists(st.sampled_from(ATTACKS)).map(" ".join), with_controls
)


def _without_zwj(text: str) -> str:
    return text.replace("@" + ZWJ, "@")


# --- clean / lines / lengths -------------------------------------------------------------


def test_clean_drops_controls_bidi_and_lone_surrogates() -> None:
    assert clean("a\r\nb\rc\u2028d\te") == "a\nb\nc\nd e"
    assert clean("x\x00\x07\x1b[31m\u202eevil\u2066y\x85") == "x[31mevily"
    assert clean("\ud800ok") == "\ufffdok"


def test_clean_drops_bidi_marks_and_zero_width_characters_but_keeps_joiners() -> None:
    assert clean("a\u200eb\u200fc\u061cd") == "abcd"
    assert clean("\ufeffs\u200bh\u2060a") == "sha"
    # ZWJ and ZWNJ shape emoji sequences and scripts, so they stay.
    family = "👨\u200d👩\u200d👧"
    assert clean(family) == family
    assert clean("می\u200cخواهم") == "می\u200cخواهم"


@PROPERTY
@given(any_text)
def test_clean_output_always_serialises_and_has_no_controls(text: str) -> None:
    cleaned = clean(text)
    json.dumps(cleaned, ensure_ascii=False).encode("utf-8")
    assert not CONTROL_CHARS.search(cleaned)
    assert clean(cleaned) == cleaned


@PROPERTY
@given(any_text)
def test_bidi_and_zero_width_controls_never_survive_any_escaper(text: str) -> None:
    for escape in ESCAPERS:
        assert not CONTROL_CHARS.search(escape(text)), escape.__name__
    assert not CONTROL_CHARS.search(one_line(text))
    assert not any(CONTROL_CHARS.search(line) for line in lines(text))


def test_lines_splits_on_every_line_ending() -> None:
    assert lines("a\r\nb\rc\n\n d ") == ["a", "b", "c", "d"]
    assert lines("a\u2028b\u2029c") == ["a", "b", "c"]
    assert lines("\x00\x01") == []
    assert lines("\u202e\u200b") == []


def test_one_line_collapses_breaks_and_spaces() -> None:
    assert one_line(" a\n\tb\u2028  c ") == "a b c"


def test_text_length_counts_utf16_units() -> None:
    assert text_length("abc") == 3 and text_length("中文") == 2 and text_length("😀") == 2


# --- clip ----------------------------------------------------------------------------------


@PROPERTY
@given(any_text, st.integers(0, 300))
def test_clip_respects_the_limit(text: str, limit: int) -> None:
    clipped = clip(clean(text), limit)
    assert text_length(clipped) <= limit
    if text_length(clean(text)) <= limit:
        assert clipped == clean(text)


@given(st.text(), st.integers(min_value=-5, max_value=300))
def test_clip_never_exceeds_limit_and_keeps_a_prefix(text: str, limit: int) -> None:
    result = clip(text, limit)
    assert len(result) <= max(limit, 0) and text_length(result) <= max(limit, 0)
    if text_length(text) <= limit:
        assert result == text
    elif limit >= 1:
        assert result.endswith("…")
        assert text.startswith(result[:-1].rstrip())


def test_clip_examples() -> None:
    assert clip("abcdef", 4) == "abc…"
    assert clip("ab  cdef", 4) == "ab…"
    assert clip("😀😀😀", 4) == "😀…"  # an astral character is two UTF-16 units
    assert clip("abcdef", 1) == "…" and clip("abcdef", 0) == "" and clip("abcdef", -1) == ""
    assert clip("abcdef", 4, "...") == "a..."


# --- split_area ----------------------------------------------------------------------------


def test_split_area_recognises_full_width_and_ascii_colons() -> None:
    assert split_area("代码安全：加保护") == ("代码安全", "加保护")
    assert split_area("Code safety: guard it") == ("Code safety", "guard it")
    assert split_area("see https://x.y/z for details")[0] is None
    assert split_area("no area here") == (None, "no area here")
    assert split_area("`a: b` is code") == (None, "`a: b` is code")


def test_split_area_reads_cleaned_text() -> None:
    assert split_area("\u202e代码\u200b安全：加保护") == ("代码安全", "加保护")
    assert split_area("  Perf: \x00faster\r\nsecond") == ("Perf", "faster\nsecond")


@PROPERTY
@given(any_text)
def test_split_area_parts_are_clean(text: str) -> None:
    area, rest = split_area(text)
    if area is None:
        assert rest == text
    else:
        assert area and not CONTROL_CHARS.search(area + rest)
        assert "`" not in area and len(area) <= 24


# --- links ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "defanged"),
    [
        ("https://evil.example/x", "hxxps[:]//evil[.]example/x"),
        ("HTTP://EVIL.EXAMPLE", "HXXP[:]//EVIL[.]EXAMPLE"),
        ("ftp://evil.example/x", "ftp[:]//evil[.]example/x"),
        ("git+ssh://evil.example", "git+ssh[:]//evil[.]example"),
        ("javascript:alert(1)", "javascript[:]alert(1)"),
        ("mailto:a@evil.example", "mailto[:]a@evil[.]example"),
        ("www.evil.example", "www[.]evil[.]example"),
        ("evil.example/path", "evil[.]example/path"),
        ("evil.example?q=1 evil.example:8080", "evil[.]example?q=1 evil[.]example:8080"),
        ("see evil.com.", "see evil[.]com."),
        ("a@evil.example", "a@evil[.]example"),
        ("tcp://127.0.0.1:{port}", "tcp[:]//127[.]0[.]0[.]1:{port}"),
        ("xhttps://a.b", "xhttps[:]//a[.]b"),  # a scheme glued to a word is still one
        ("https://a.bhttps://c.d", "hxxps[:]//a[.]bhttps[:]//c[.]d"),  # glued URLs
        # Look-alikes: fullwidth, IDNA dots, a Cyrillic TLD, a dot in a compatibility character.
        ("ｈｔｔｐｓ：／／ｅｖｉｌ．ｃｏｍ", "ｈxxｐｓ[:]／／ｅｖｉｌ[.]ｃｏｍ"),
        ("evil\u3002example/x evil\uff61io/x", "evil[.]example/x evil[.]io/x"),
        ("evil.\u0435\u0445\u0430mple/x", "evil[.]\u0435\u0445\u0430mple/x"),
        ("\u2488com/x", "1[.]com/x"),
        # Split by characters `clean` keeps (joiners, soft hyphen): still found.
        ("https://ev\u200dil.example/x", "hxxps[:]//ev\u200dil[.]example/x"),
        ("ev\u00adil.example/x", "ev\u00adil[.]example/x"),
        ("ht\u200ctps://a.b", "hx\u200cxps[:]//a[.]b"),
    ],
)
def test_defang_examples(raw: str, defanged: str) -> None:
    assert defang(raw) == defanged
    assert not clickable(defanged)


@pytest.mark.parametrize(
    "text",
    [
        "setup.py README.md docs/index.md `x.to(device)` logger.info(x)",
        "octo-org/hello.world v1.2.3 e.g. i.e. 3.5x faster",
        "data: add a field; note: https is used",
        "torch.compile(...) sglang.srt.layers",
        "中文。没有链接。",
    ],
)
def test_defang_leaves_files_code_and_prose_alone(text: str) -> None:
    assert defang(text) == text


def test_a_url_split_by_a_zero_width_space_is_defanged_after_cleaning() -> None:
    # `clean` drops U+200B, which would otherwise rejoin the URL after defanging.
    for escape in ESCAPERS:
        assert "evil.example" not in escape("https://evil\u200b.example/x"), escape.__name__


@PROPERTY
@given(link_texts)
def test_no_escaper_leaves_a_clickable_link(text: str) -> None:
    assert not clickable(defang(clean(text)))
    assert not clickable(html.unescape(escape_slack(text)))
    assert not clickable(html.unescape(escape_feishu(text)))
    assert not clickable(re.sub(r"\\(.)", r"\1", escape_discord(text)))
    assert not clickable(escape_plain(text))


@PROPERTY
@given(urls())
def test_every_generated_url_is_defanged(url: str) -> None:
    cleaned = clean(url)
    assert defang(cleaned) != cleaned
    assert not clickable(defang(cleaned))


@PROPERTY
@given(any_text)
def test_defang_is_idempotent_and_only_inserts(text: str) -> None:
    once = defang(clean(text))
    assert defang(once) == once
    assert text_length(once) >= text_length(clean(text))


# --- Slack -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("<!channel>", "&lt;!channel&gt;"),
        ("<!here> <@U123> <#C1>", "&lt;!here&gt; &lt;@U123&gt; &lt;#C1&gt;"),
        ("<https://evil|github.com>", "&lt;hxxps[:]//evil|github[.]com&gt;"),
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
    assert html.unescape(_without_zwj(escaped)) == _without_zwj(defang(clean(text)))


# --- Discord -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("<@123> <@&1> <#1>", "\\<@123\\> \\<@&1\\> \\<\\#1\\>"),
        ("@everyone @here", f"@{ZWJ}everyone @{ZWJ}here"),
        ("[x](https://evil)", "\\[x\\](hxxps\\[:\\]//evil)"),
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
    assert _discord_unescape(_without_zwj(escaped)) == _without_zwj(defang(clean(text)))


# --- Feishu ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ('<at user_id="all"></at>', '&#60;at user&#95;id="all"&#62;&#60;/at&#62;'),
        ("<at id=all></at>", "&#60;at id=all&#62;&#60;/at&#62;"),
        ("[x](https://evil)", "&#91;x&#93;(hxxps&#91;:&#93;//evil)"),
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
    assert html.unescape(_without_zwj(escaped)) == _without_zwj(defang(clean(text)))


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
def test_fit_never_exceeds_the_limit_and_stays_escaped(
    text: str, limit: int, escape: Escaper
) -> None:
    fitted = fit(text, limit, escape)
    assert text_length(fitted) <= limit
    if text_length(escape(clean(text))) <= limit:
        assert fitted == escape(clean(text))
    elif limit >= 1:
        assert fitted.endswith("…")
    if escape is not escape_discord:
        assert "<" not in fitted


# --- SHAs --------------------------------------------------------------------------------


def test_valid_sha_examples() -> None:
    assert valid_sha(" ABCDEF1 ") == "abcdef1"
    assert valid_sha(SHA) == SHA
    for bad in (
        "xyz1234",
        "0024",
        SHA + "0",
        "00248d8)](https://evil",
        "",
        "00248d8\n0",
        "0x248d8",
    ):
        assert valid_sha(bad) is None, bad


@given(st.text(alphabet="0123456789abcdefABCDEF", min_size=7, max_size=40))
def test_valid_sha_accepts_every_hex_prefix_lower_cased(sha: str) -> None:
    assert valid_sha(sha) == sha.lower()


@PROPERTY
@given(any_text)
def test_valid_sha_only_returns_lower_case_hex(text: str) -> None:
    checked = valid_sha(text)
    assert checked is None or re.fullmatch(r"[0-9a-f]{7,40}", checked)


# --- repository links --------------------------------------------------------------------


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
        ("org/repo", "https://ghe.example.com/org/repo/", "https://ghe.example.com/org/repo"),
        ("x/y", "https://ghe.example.com/org/repo/", None),  # another repository's address
        ("o/r", "https://github.com/other/repo", None),
        ("o/r", "http://github.com/o/r", None),
        ("o/r", "javascript:alert(1)//github.com/o/r", None),
        ("x/y", "javascript:alert(1)", None),
        ("o/r", "https://user:pw@github.com/o/r", None),
        ("o/r", "https://github.com/o/r?x=1", None),
        ("o/r", "https://github.com/o/r#frag", None),
        ("o/r", "https://evil.example|github.com/o/r", None),
        ("o/r", "https://e.com/o/r b", None),
        ("a/b/c", "https://gitlab.example/a/b/c", None),
        ("/home/me/repo", "", None),
        ("/home/me/repo", "https://github.com/me/repo", "https://github.com/me/repo"),
        ("../../etc", "", None),
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
    for bad in ("xyz1234", "0024", SHA + "0", "00248d8)](https://evil", "", "not-a-sha"):
        assert links.commit(bad) is None
    assert links.pull(13662) == "https://github.com/o/r/pull/13662"
    assert links.pull(0) is None and links.pull(-1) is None and links.pull(None) is None
    assert links.pull(10**12) is None and links.pull(True) is None
    assert RepoLinks(None).commit(SHA) is None and RepoLinks(None).pull(1) is None


_label = st.from_regex(r"[a-z0-9](?:[a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)
hosts = st.lists(_label, min_size=1, max_size=3).map(".".join)
owners = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9-]{0,10}", fullmatch=True)
# A trailing ".git" is read as the clone suffix, so such names are left out here.
names = st.from_regex(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,10}", fullmatch=True).filter(
    lambda name: not name.endswith(".git")
)


@PROPERTY
@given(hosts, owners, names)
def test_https_address_of_the_repository_itself_is_its_base(
    host: str, owner: str, name: str
) -> None:
    repo = f"{owner}/{name}"
    links = RepoLinks.for_repo(repo, f"https://{host}/{repo}")
    assert links.base == f"https://{host}/{repo}"
    assert links.commit(SHA) == f"https://{host}/{repo}/commit/{SHA}"


@PROPERTY
@given(hosts, owners, names, st.sampled_from(["http", "ftp", "javascript", "HTTP", "git"]))
def test_non_https_addresses_are_rejected(host: str, owner: str, name: str, scheme: str) -> None:
    repo = f"{owner}/{name}"
    assert RepoLinks.for_repo(repo, f"{scheme}://{host}/{repo}").base is None


@PROPERTY
@given(hosts, owners, names, owners, names)
def test_another_repositorys_address_is_rejected(
    host: str, owner: str, name: str, other_owner: str, other_name: str
) -> None:
    repo, other = f"{owner}/{name}", f"{other_owner}/{other_name}"
    base = RepoLinks.for_repo(repo, f"https://{host}/{other}").base
    assert base is None if repo.lower() != other.lower() else base is not None


_BASE = re.compile(
    r"https://[a-z0-9.-]+(?::\d{1,5})?/[A-Za-z0-9][A-Za-z0-9-]{0,38}/[A-Za-z0-9._-]{1,100}"
)
url_like = st.one_of(
    st.text(max_size=60),
    st.builds(
        lambda scheme, middle, path: f"{scheme}{middle}{path}",
        st.sampled_from(["https://", "http://", "https:", "javascript:", "//", ""]),
        st.one_of(
            hosts, st.text(max_size=20), st.sampled_from(["user:pw@h.example", "h.example:1"])
        ),
        st.one_of(st.just("/o/r"), st.text(max_size=20), st.sampled_from(["/o/r?x", "/o/r#f"])),
    ),
)


@PROPERTY
@given(st.sampled_from(["o/r", "O/R", "/local/path", "", "a/b/c"]), url_like)
def test_any_repo_url_gives_a_plain_https_base_of_the_repository_or_none(
    repo: str, repo_url: str
) -> None:
    base = RepoLinks.for_repo(repo, repo_url).base
    if base is None:
        return
    assert _BASE.fullmatch(base), base
    if repo.lower() == "o/r":
        assert base.lower().endswith("/o/r")
    links = RepoLinks(base)
    for url in (links.commit(SHA), links.pull(7)):
        assert url is not None and url.startswith(base + "/")
