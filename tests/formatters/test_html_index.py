"""Tests for formatters.html_index: recent days newest first with severity counts, the GET search
form (hidden fields kept), search results, hostile repository names, queries and URLs."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from formatters.html_index import IndexEntry, page_url, render_html_index
from formatters.html_report import CONTENT_SECURITY_POLICY
from tests.data.reference_day import big_digest, reference_digest
from tests.formatters.digest_strategies import ATTACKS
from tests.formatters.payload_checks import clickable
from tests.formatters.test_html_report import ATTRIBUTES, TAGS, parse

INDEX_TAGS = TAGS | {"form", "input", "label", "button"}
INDEX_ATTRIBUTES = ATTRIBUTES | {
    "method", "action", "type", "value", "for", "maxlength", "pattern", "autocomplete",
    "spellcheck",
}  # fmt: skip


def entry(day: str, high: int, medium: int, low: int, url: str) -> IndexEntry:
    return IndexEntry(
        label=day,
        first_day=day,
        last_day=day,
        high=high,
        medium=medium,
        low=low,
        url=url,
        generated_at=datetime(2026, 2, 9, 0, 0, tzinfo=UTC),
        tz="Asia/Shanghai",
    )


ENTRIES = [
    entry("2026-02-07", 0, 2, 5, "/reports/12?exp=1&sig=ab"),
    entry("2026-02-08", 1, 4, 4, "https://bot.example.com/reports/13?exp=1&sig=cd"),
    entry("2026-02-06", 2, 0, 1, "javascript:alert(1)"),
]


def check(page: str, *, hosts: tuple[str, ...] = ("https://bot.example.com/",)) -> None:
    parsed = parse(page)
    assert "<script" not in page.lower()
    assert set(parsed.tags) <= INDEX_TAGS, set(parsed.tags) - INDEX_TAGS
    names = {name for _, name, _ in parsed.attributes}
    assert names <= INDEX_ATTRIBUTES, names - INDEX_ATTRIBUTES
    for href in parsed.hrefs:
        assert href.startswith(("/reports/", "https://github.com/", *hosts)), href
    assert not clickable(parsed.shown)


@pytest.mark.parametrize("language", ["zh", "en"])
def test_recent_days_newest_first_with_counts_and_links(language: str) -> None:
    page = render_html_index("sgl-project/sglang", ENTRIES, language=language)  # type: ignore[arg-type]
    check(page)
    parsed = parse(page)
    assert f'content="{CONTENT_SECURITY_POLICY}"' in page
    assert page.index("2026-02-08") < page.index("2026-02-07") < page.index("2026-02-06")
    assert "🔴 1 🟡 4 🟢 4" in page and "🔴 0 🟡 2 🟢 5" in page
    assert '<a href="/reports/12?exp=1&amp;sig=ab">2026-02-07</a>' in page
    assert "https://bot.example.com/reports/13?exp=1&sig=cd" in parsed.hrefs
    assert not any("javascript" in href for href in parsed.hrefs)  # the bad URL is not linked
    assert "https://github.com/sgl-project/sglang" in parsed.hrefs
    assert 'method="get"' in page and 'name="sha"' in page
    assert 'id="results"' not in page  # no search, no results block


def test_the_search_form_keeps_its_signature_fields() -> None:
    page = render_html_index(
        "sgl-project/sglang",
        ENTRIES,
        language="en",
        search_action="/reports/repo/sgl-project/sglang",
        hidden={"exp": "1760000000", "sig": 'x"><script>'},
    )
    check(page)
    assert 'action="/reports/repo/sgl-project/sglang"' in page
    assert '<input type="hidden" name="exp" value="1760000000">' in page
    assert 'value="x&#34;&gt;&lt;script&gt;"' in page


def test_search_results_and_no_match() -> None:
    found = render_html_index(
        "sgl-project/sglang", ENTRIES, language="en", query="00248d8", matches=ENTRIES[1:2]
    )
    check(found)
    assert "Digests containing 00248d8" in found and 'value="00248d8"' in found
    results = found[found.index('id="results"') : found.index('id="days"')]
    assert "2026-02-08" in results and "2026-02-07" not in results
    none = render_html_index(
        "sgl-project/sglang", ENTRIES, language="zh", query="deadbeef", matches=[]
    )
    check(none)
    assert "没有摘要包含 deadbeef" in none


def test_no_digests_yet() -> None:
    page = render_html_index("a/b", [], language="en")
    check(page)
    assert "No digests yet." in page


def test_entries_from_digests() -> None:
    day = IndexEntry.from_digest(reference_digest("zh"), "/reports/1")
    assert (day.label, day.high, day.medium, day.low, day.total) == ("2026-02-08", 1, 4, 4, 9)
    assert IndexEntry.from_digest(big_digest(20), "/reports/2").first_day == "2026-02-08"


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JAVASCRIPT:alert(1)",
        " javascript:alert(1)",
        "data:text/html,x",
        "//evil.example/x",
        "/\\evil.example",
        "https://user:pw@evil.example/",
        'https://bot.example.com/"onmouseover="x',
        "https://bot.example.com:99999/",
        "ftp://bot.example.com/",
        "/reports/1 x",
    ],
)
def test_unsafe_page_urls_are_refused(url: str) -> None:
    assert page_url(url) is None


def test_safe_page_urls_pass() -> None:
    for url in ("/reports/1?exp=2&sig=ab", "https://bot.example.com/r/1", "http://10.0.0.2:8080/r"):
        assert page_url(url) == url


@settings(max_examples=80, deadline=None)
@given(
    st.one_of(st.sampled_from(ATTACKS), st.text(max_size=40)),
    st.one_of(st.none(), st.sampled_from(ATTACKS), st.text(max_size=60)),
    st.sampled_from(["zh", "en"]),
)
def test_hostile_repo_names_queries_and_labels_stay_text(
    repo: str, query: str | None, language: str
) -> None:
    hostile = IndexEntry(
        label=repo, first_day=repo, last_day=repo, high=1, medium=0, low=0, url=repo
    )
    page = render_html_index(
        repo,
        [*ENTRIES, hostile],
        language=language,  # type: ignore[arg-type]
        query=query,
        matches=[hostile] if query else [],
        search_action=repo,
        hidden={repo: repo},
    )
    # The entries' URLs are the server's own; only what page_url accepts becomes a link.
    check(page, hosts=("https://bot.example.com/", *((repo,) if page_url(repo) else ())))
