"""A repository's index page: its recent digests with severity counts, and a search by SHA.

The same base template, CSS and Content-Security-Policy as formatters.html_report (no script,
no external asset). The search is a plain GET form (`sha=`); `search_action` is its action and
`hidden` the fields it carries along (a signature, say). Links go only to report pages whose
URLs pass `page_url` (a same-site path, or http(s) without credentials) and to the repository
on GitHub (formatters.text_safety.RepoLinks); everything else is escaped text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from bot.models import IMPORTANCE_ORDER, Digest, Language
from formatters.html_report import (
    CONTENT_SECURITY_POLICY,
    chart_markup,
    local_time,
    plain,
    template,
    words_for,
)
from formatters.labels import SEVERITY_EMOJI, labels_for
from formatters.text_safety import RepoLinks, clip, one_line, valid_sha

__all__ = ["CONTENT_SECURITY_POLICY", "IndexEntry", "page_url", "render_html_index"]

QUERY_LIMIT = 80  # what the page repeats of a search query
_UNSAFE_URL_CHARS = re.compile(r"[\x00-\x20\x7f-\x9f\\\"'<>`]")
_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")


@dataclass(frozen=True)
class IndexEntry:
    """One digest in a repository's index: what it covers, how it ranked, where it is."""

    label: str  # the window's title ("2026-02-08", "2026-02-01 – 2026-02-07")
    first_day: str
    last_day: str
    high: int
    medium: int
    low: int
    url: str  # the report page (a path on our server, or its http(s) address)
    generated_at: datetime | None = None
    tz: str = "UTC"

    @property
    def total(self) -> int:
        return self.high + self.medium + self.low

    @classmethod
    def from_digest(cls, digest: Digest, url: str) -> IndexEntry:
        """The entry of a published digest (its counts from the digest's statistics)."""
        window = digest.window
        return cls(
            label=window.title,
            first_day=window.first_day,
            last_day=window.last_day,
            high=digest.stats.high,
            medium=digest.stats.medium,
            low=digest.stats.low,
            url=url,
            generated_at=digest.provenance.generated_at,
            tz=window.tz,
        )


@dataclass(frozen=True)
class IndexWords:
    """The index page's words (formatters.labels has none of them yet)."""

    title: str  # "{repo}: digests"
    recent: str
    none_yet: str
    search_heading: str
    search_label: str
    search_button: str
    found: str  # "digests containing {sha}"
    not_found: str  # "no digest contains {sha}"
    commits: str  # "{total} commits"


INDEX_WORDS: dict[Language, IndexWords] = {
    "zh": IndexWords(
        title="{repo} 的每日摘要",
        recent="📅 最近的摘要",
        none_yet="暂无摘要。",
        search_heading="🔎 按 SHA 查找",
        search_label="提交 SHA（7–40 位十六进制）",
        search_button="查找",
        found="包含 {sha} 的摘要",
        not_found="没有摘要包含 {sha}",
        commits="{total} 个提交",
    ),
    "en": IndexWords(
        title="{repo}: daily digests",
        recent="📅 Recent digests",
        none_yet="No digests yet.",
        search_heading="🔎 Find a commit by SHA",
        search_label="Commit SHA (7–40 hex digits)",
        search_button="Search",
        found="Digests containing {sha}",
        not_found="No digest contains {sha}",
        commits="{total} commits",
    ),
}


def page_url(url: str) -> str | None:
    """`url` when a page may link to it (or send a form to it): a path on this site ("/r/x?s=1",
    not "//host"), or an http(s) URL without credentials (our own server's public address,
    which may be plain http on a private network); None otherwise (javascript:, data:, other
    schemes, quotes, spaces, control characters, backslashes)."""
    if not url or _UNSAFE_URL_CHARS.search(url):
        return None
    if url.startswith("/"):
        return None if url.startswith("//") else url
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return None
    if (
        parts.scheme not in ("https", "http")
        or parts.username is not None
        or parts.password is not None
        or not _HOST.fullmatch(parts.hostname or "")
    ):
        return None
    return url


@dataclass(frozen=True)
class _Day:
    label: str
    url: str | None
    counts: str
    total: str
    generated: str


def _counts(entry: IndexEntry) -> str:
    high, medium, low = (SEVERITY_EMOJI[importance] for importance in IMPORTANCE_ORDER)
    return f"{high} {entry.high} {medium} {entry.medium} {low} {entry.low}"


def _days(entries: Sequence[IndexEntry], words: IndexWords, language: Language) -> list[_Day]:
    page_words = words_for(language)

    def newest(entry: IndexEntry) -> tuple[str, str, float]:
        generated = entry.generated_at.timestamp() if entry.generated_at else 0.0
        return (entry.last_day, entry.first_day, generated)

    newest_first = sorted(entries, key=newest, reverse=True)
    return [
        _Day(
            label=plain(entry.label or entry.last_day),
            url=page_url(entry.url),
            counts=_counts(entry),
            total=words.commits.format(total=entry.total),
            generated=page_words.generated_at.format(time=local_time(entry.generated_at, entry.tz))
            if entry.generated_at
            else "",
        )
        for entry in newest_first
    ]


def index_context(
    repo: str,
    entries: Sequence[IndexEntry],
    *,
    language: Language,
    query: str | None,
    matches: Sequence[IndexEntry] | None,
    search_action: str,
    hidden: Mapping[str, str],
    repo_url: str,
) -> dict[str, Any]:
    """Everything index.html.j2 shows (untrusted text still raw: the template escapes it)."""
    language = "zh" if language == "zh" else "en"
    words = INDEX_WORDS[language]
    shown_repo = plain(repo)
    typed = clip(one_line(query or ""), QUERY_LIMIT)
    query_sha = valid_sha(typed) or plain(typed)  # shown as text: links defanged
    title = words.title.format(repo=shown_repo)
    return {
        "lang": words_for(language).html_lang,
        "page_title": title,
        "title": title,
        "repo": shown_repo,
        "repo_url": RepoLinks.for_repo(repo, repo_url).base,
        "iwords": words,
        "days": _days(entries, words, language),
        "searched": query is not None,
        "query": typed,  # the search box's value (an attribute: escaped, never a link)
        "found_heading": words.found.format(sha=query_sha),
        "not_found": words.not_found.format(sha=query_sha),
        "matches": _days(matches or (), words, language),
        "search_action": page_url(search_action) or "",
        "hidden": sorted((str(k), str(v)) for k, v in hidden.items()),
        "generated_by": labels_for(language).generated_by,
        "chart": None,
    }


def render_html_index(
    repo: str,
    entries: Sequence[IndexEntry],
    *,
    language: Language,
    query: str | None = None,
    matches: Sequence[IndexEntry] | None = None,
    chart_svg: str | None = None,
    search_action: str = "",
    hidden: Mapping[str, str] | None = None,
    repo_url: str = "",
) -> str:
    """A repository's index page: recent digests newest first, the SHA search form and, when
    `query` is given, the digests in `matches` (or a line saying none contains it)."""
    context = index_context(
        repo,
        entries,
        language=language,
        query=query,
        matches=matches,
        search_action=search_action,
        hidden=hidden or {},
        repo_url=repo_url,
    )
    context["chart"] = chart_markup(chart_svg)
    return template("index.html.j2").render(context)
