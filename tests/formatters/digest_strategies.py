"""Hypothesis strategies for arbitrary Digests: 0–2,000 commits, CJK, emoji, 70 KB texts, attacks.

Every text field (repo, titles, authors, summaries, scope, insights, risks, recommendations,
the overview, the model name) draws from random Unicode, mention / markup / link attacks for
all three platforms, CJK and emoji, and 70 KB texts. Large digests reuse a few drawn analyses
under distinct SHAs so that 2,000 commits stay fast to generate. `urls` draws link-like text
(schemes, `www.`, bare hosts with paths, mail addresses, look-alike characters, zero-width
splits) and `link_texts` mixes it into text, for `digests(text=link_texts)`.
"""

from __future__ import annotations

import random
import re
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from bot.models import (
    IMPORTANCE_ORDER,
    Alert,
    AnalysisProvenance,
    ChangeType,
    CommitAnalysis,
    CommitSummary,
    Coverage,
    Digest,
    DigestItem,
    DigestProvenance,
    HeldBack,
    Importance,
    Insights,
    Window,
)

ATTACKS: tuple[str, ...] = (
    # Slack
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<@U123ABC>",
    "<#C1>",
    "<!subteam^S1>",
    "<https://evil.example|github.com>",
    "<mailto:a@evil.example|mail>",
    "&lt;!channel&gt;",
    # Discord
    "@everyone",
    "@here",
    "@channel",
    "<@123>",
    "<@!123>",
    "<@&1>",
    "<#1>",
    "</deploy:1>",
    "<:emoji:1>",
    "<t:1700000000:R>",
    "||spoiler||",
    "\\<@123>",
    "\\\\<@123>",
    # Feishu / Lark
    '<at user_id="all"></at>',
    "<at id=all></at>",
    "<at id='ou_123'></at>",
    "<at email=boss@evil.example></at>",
    "<font color='red'>red</font>",
    "<a href='https://evil.example'>a</a>",
    "<link url='https://evil.example'>l</link>",
    "<person id='ou_1'></person>",
    "&#60;at id=all&#62;&#60;/at&#62;",
    # Markdown everywhere
    "[github.com](https://evil.example/phish)",
    "![img](https://evil.example/x.png)",
    "[x]: https://evil.example",
    "**bold** __b__ *i* _i_ ~~s~~",
    "# heading",
    "-# subtext",
    "- item",
    "1. item",
    "> quote",
    "---",
    "| a | b |",
    "`<at id=all></at>`",
    "`<!channel>`",
    "`@everyone`",
    "``double``",
    "```code block```",
    "`unclosed",
    "https://evil.example/path_(x)",
    # Unicode trouble
    "\u202eevil\u202c",
    "\x00\x07\x1b[31m",
    "\r\n\r",
    "\ud800lone",
    "😀👨‍👩‍👧‍👦🇨🇳",
    "中文测试：影响范围",
    "\u200b\u200d\ufeff",
)

HUGE: tuple[str, ...] = (
    "a" * 70_000,
    "中文" * 12_000,
    ("<!channel> [x](https://evil.example) <at id=all></at> @everyone `c` " * 1200)[:70_000],
    "😀" * 18_000,
    ("line\n" * 14_000),
)

_pieces = st.one_of(
    st.sampled_from(ATTACKS),
    st.text(max_size=12),
    st.text(alphabet="中文字节跳动飞书😀🚀 abc<>[]()*_~`|#@&\\!-\n", max_size=16),
)

texts = st.one_of(
    st.text(max_size=30),
    st.sampled_from(ATTACKS),
    st.lists(_pieces, max_size=6).map("".join),
    st.sampled_from(HUGE),
)
short_texts = st.one_of(st.text(max_size=20), st.sampled_from(ATTACKS))

# --- link-like text ------------------------------------------------------------------------------

_SCHEMES = (
    "https://",
    "http://",
    "HTTPS://",
    "hTtP://",
    "ftp://",
    "file:///",
    "git+ssh://",
    "ws://",
    "https:\\\\",
    "ｈｔｔｐｓ：／／",  # fullwidth
    "https\uff1a//",  # fullwidth colon only
    "javascript:",
    "mailto:",
    "data:",
)
_LABELS = (
    "evil",
    "ev-il",
    "a1",
    "g\u0456thub",  # Cyrillic і
    "xn--80ak6aa92e",
    "github",
    "EVIL",
    "ｅｖｉｌ",  # fullwidth
    "例え",
    "evil\u0301",  # a combining mark
)
_TLDS = ("example", "com", "io", "xyz", "co.uk", "\u0435\u0445\u0430mple", "dev", "zip", "test")
# The dot, and what a browser or IDNA also reads as one.
_DOTS = (".", ".", ".", "\u3002", "\uff0e", "\uff61", "\u2024")
# Invisible characters a URL could be split with (clean drops some; ZWJ, ZWNJ, the soft hyphen
# and the combining grapheme joiner stay).
_SPLITTERS = ("\u200b", "\u200d", "\u200c", "\u2060", "\ufeff", "\u00ad", "\u034f")
_PATHS = ("", "/", "/x", "/path_(x)", "/a/b?c=1#d", ":8080/x", "?q=1")


@st.composite
def urls(draw: st.DrawFn) -> str:
    """A link-like string any linkifier could open (possibly split by invisible characters)."""
    dot = st.sampled_from(_DOTS)
    host = draw(st.sampled_from(_LABELS)) + draw(dot) + draw(st.sampled_from(_TLDS))
    if draw(st.booleans()):
        host = draw(st.sampled_from(_LABELS)) + draw(dot) + host
    path = draw(st.sampled_from(_PATHS))
    form = draw(st.sampled_from(["scheme", "www", "bare", "known", "mail"]))
    if form == "scheme":
        url = draw(st.sampled_from(_SCHEMES)) + host + path
    elif form == "www":
        url = draw(st.sampled_from(["www", "WWW", "www2"])) + draw(dot) + host + path
    elif form == "bare":  # a bare host links with a path, a query or a port
        url = host + draw(st.sampled_from(_PATHS[1:]))
    elif form == "known":  # ... and alone with a TLD clients know
        url = draw(st.sampled_from(_LABELS)) + "." + draw(st.sampled_from(["com", "io", "xyz"]))
    else:
        url = draw(st.sampled_from(["a", "a.b+c", "root"])) + "@" + host
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, len(url)))
        url = url[:at] + draw(st.sampled_from(_SPLITTERS)) + url[at:]
    return url


link_texts = st.one_of(
    urls(),
    st.lists(st.one_of(urls(), st.sampled_from(ATTACKS), st.text(max_size=6))).map(" ".join),
    st.lists(st.one_of(urls(), st.sampled_from(" ([<`*_|>)]:.,;/@"), st.text(max_size=4))).map(
        "".join
    ),
)

REPOS = st.one_of(
    st.just("sgl-project/sglang"),
    st.just("octo-org/hello.world"),
    st.sampled_from(["/home/dev/my repo", "../../etc/passwd", "<!channel>/x", "a/b/c", ""]),
)
_VALID_OWNER_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}")


def repo_url_for(repo: str) -> st.SearchStrategy[str]:
    return st.sampled_from(
        [
            "",
            f"https://github.com/{repo}",
            "javascript:alert(1)",
            f"https://ghe.example.com/{repo}",  # GitHub Enterprise: the digest's own host
            "https://github.com/someone-else/other-repo",
            "https://user:pw@github.com/sgl-project/sglang",
            "https://github.com/sgl-project/sglang?x=<!channel>",
        ]
    )


def expected_base(digest: Digest) -> str | None:
    """The only repository address a payload may link to, derived independently of the code.

    A digest's own `repo_url` is trusted as its address (GitHub Enterprise hosts included) when
    it is a plain https URL of an owner/name path that matches `repo`; a local checkout
    (`repo` is a path) may name any such URL; without `repo_url`, owner/name means github.com.
    """
    named = bool(_VALID_OWNER_NAME.fullmatch(digest.repo)) and digest.repo.split("/")[1] not in (
        ".",
        "..",
    )
    url = digest.repo_url
    if url == "":
        return f"https://github.com/{digest.repo}" if named else None
    if named:
        same = (f"https://github.com/{digest.repo}", f"https://ghe.example.com/{digest.repo}")
        return url if url in same else None
    return url if url == "https://github.com/someone-else/other-repo" else None


ZONE = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 2, 8, tzinfo=ZONE)


@st.composite
def analyses(draw: st.DrawFn, text: st.SearchStrategy[str] = texts) -> CommitAnalysis:
    analyzer: Literal["llm", "heuristic"] = draw(st.sampled_from(["llm", "heuristic"]))
    tuples = st.lists(text, max_size=4).map(tuple)
    files_total = draw(st.integers(0, 5000))
    lines_total = draw(st.integers(0, 10**6))
    return CommitAnalysis(
        sha="0" * 40,
        change_type=draw(st.sampled_from(list(ChangeType))),
        importance=Importance.LOW,
        summary=draw(text),
        scope=draw(tuples),
        insights=Insights(
            architecture=draw(st.none() | text),
            performance=draw(st.none() | text),
            security=draw(st.none() | text),
            maintainability=draw(st.none() | text),
            compatibility=draw(st.none() | text),
            testing=draw(st.none() | text),
        ),
        risks=draw(tuples),
        recommendations=draw(tuples),
        provenance=AnalysisProvenance(
            analyzer=analyzer,
            model=draw(st.none() | short_texts),
            prompt_version="v1",
            coverage=Coverage(
                files_total=files_total,
                files_sent=draw(st.integers(0, files_total)),
                lines_total=lines_total,
                lines_sent=draw(st.integers(0, lines_total)),
            ),
            fallback_reason=draw(st.none() | st.just("invalid JSON"))
            if analyzer == "heuristic"
            else None,
        ),
    )


@st.composite
def templates(
    draw: st.DrawFn, text: st.SearchStrategy[str] = texts
) -> tuple[str, str, int | None, CommitAnalysis]:
    return (
        draw(text),  # title
        draw(text),  # author
        draw(st.none() | st.integers(-5, 10**7)),  # PR number, sometimes nonsense
        draw(analyses(text)),
    )


def _sha(index: int, rng: random.Random) -> str:
    # A distinct 7-character prefix per commit, so short SHAs identify commits in a test.
    return f"{index:07x}" + "".join(rng.choice("0123456789abcdef") for _ in range(33))


@st.composite
def digests(
    draw: st.DrawFn, max_commits: int = 2000, text: st.SearchStrategy[str] = texts
) -> Digest:
    """Any digest: sizes weighted towards small days, with long days up to `max_commits`;
    its untrusted text fields draw from `text`."""
    size = draw(
        st.one_of(
            st.integers(0, 12),
            st.integers(13, 60),
            st.sampled_from([c for c in (150, 400, max_commits) if c <= max_commits]),
        )
    )
    pool = draw(st.lists(templates(text), min_size=1, max_size=5))
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    repo = draw(REPOS)
    items = []
    for index in range(size):
        title, author, pr, analysis = pool[index % len(pool)]
        sha = _sha(index, rng)
        importance = rng.choice(IMPORTANCE_ORDER)
        committed_at = START + timedelta(seconds=rng.randrange(86_400))
        items.append(
            DigestItem(
                commit=CommitSummary(
                    repo=repo, sha=sha, title=title, author=author, committed_at=committed_at
                ),
                pr_number=pr,
                files_changed=rng.randrange(5000),
                additions=rng.randrange(10**6),
                deletions=rng.randrange(10**6),
                analysis=analysis.model_copy(update={"sha": sha, "importance": importance}),
            )
        )
    items.sort(
        key=lambda item: (item.analysis.importance.rank, -item.commit.committed_at.timestamp())
    )
    days = draw(st.sampled_from([1, 7]))
    return Digest(
        repo=repo,
        repo_url=draw(repo_url_for(repo)),
        window=Window(start=START, end=START + timedelta(days=days), tz="Asia/Shanghai", label="x"),
        language=draw(st.sampled_from(["zh", "en"])),
        items=tuple(items),
        overview=draw(st.none() | text),
        provenance=DigestProvenance(
            generated_at=START,
            model=draw(st.none() | short_texts),
            excluded_commits=draw(st.integers(0, 50)),
        ),
    )


@st.composite
def alerts(draw: st.DrawFn, max_commits: int = 60, text: st.SearchStrategy[str] = texts) -> Alert:
    """Any alert: a digest of up to `max_commits` commits (any text), folded or not,
    force-pushed or not, with any number of alerts held back since any time."""
    return Alert(
        digest=draw(digests(max_commits=max_commits, text=text)),
        folded=draw(st.booleans()),
        forced=draw(st.booleans()),
        held=HeldBack(
            quiet_hours=draw(st.integers(0, 10**6)),
            rate_cap=draw(st.integers(0, 10**6)),
            since=draw(st.none() | st.datetimes(timezones=st.just(ZONE))),
        ),
    )
