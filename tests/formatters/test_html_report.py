"""Tests for formatters.html_report: golden pages, structure (anchors, links, no script), hostile
text (no tag, attribute or link of its own), notes and marks, a 200-commit page.

Golden files are compared byte for byte; after an intended change regenerate them with
    DIGESTBOT_UPDATE_GOLDEN=1 pytest tests/formatters/test_html_report.py
(UPDATE_GOLDEN=1, the Markdown tests' variable, works too).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from importlib import resources

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.models import Digest, Importance
from formatters.html_report import CONTENT_SECURITY_POLICY, render_html_report
from tests.data.injection_payloads import ALL as INJECTIONS
from tests.data.injection_payloads import NEWLINE_PATH
from tests.data.reference_day import (
    OVERVIEW,
    REPO_URL,
    big_digest,
    empty_digest,
    reference_digest,
)
from tests.formatters.builders import (
    HOSTILE,
    alerted_digest,
    with_items,
    with_provenance,
    with_text,
)
from tests.formatters.digest_strategies import ATTACKS, digests, link_texts, texts
from tests.formatters.golden import GOLDEN_DIR
from tests.formatters.payload_checks import allowed_urls, clickable

PROPERTY = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Everything the templates may emit; untrusted text must never add to these.
TAGS = {
    "html", "head", "meta", "title", "style", "body", "main", "header", "footer", "section",
    "nav", "article", "h1", "h2", "h3", "h4", "p", "a", "ul", "ol", "li", "table", "thead",
    "tbody", "tr", "th", "td", "div", "span", "code", "strong", "br", "dl", "dt", "dd",
    "details", "summary", "blockquote",
}  # fmt: skip
ATTRIBUTES = {"lang", "charset", "name", "content", "http-equiv", "href", "rel", "id", "class",
              "open", "scope"}  # fmt: skip


def check_text_golden(name: str, text: str) -> None:
    """`text` equals tests/golden/`name` byte for byte (rewritten when asked to update)."""
    path = GOLDEN_DIR / name
    data = text.encode("utf-8")
    if "1" in (os.environ.get("DIGESTBOT_UPDATE_GOLDEN"), os.environ.get("UPDATE_GOLDEN")):
        path.write_bytes(data)
    assert path.exists(), f"missing golden {path}; run with DIGESTBOT_UPDATE_GOLDEN=1"
    assert data == path.read_bytes(), f"{name} differs from its golden file"


@dataclass
class Page(HTMLParser):
    """What a browser would build of a page: tags, attributes, ids, links and the text."""

    tags: list[str] = field(default_factory=list)
    attributes: list[tuple[str, str, str | None]] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    hrefs: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    details: list[bool] = field(default_factory=list)  # open?
    articles: list[str] = field(default_factory=list)  # their class

    def __post_init__(self) -> None:
        super().__init__(convert_charrefs=True)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            self.attributes.append((tag, name, value))
            if name == "id" and value is not None:
                self.ids.append(value)
            if name == "href" and value is not None:
                self.hrefs.append(value)
        names = dict(attrs)
        if tag == "details":
            self.details.append("open" in names)
        if tag == "article":
            self.articles.append(names.get("class") or "")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    @property
    def shown(self) -> str:
        return " ".join(self.text)


def parse(page: str) -> Page:
    parsed = Page()
    parsed.feed(page)
    parsed.close()
    return parsed


def assert_safe(page: str, digest: Digest) -> Page:
    """The structural promises of every page: nothing runs, loads or links elsewhere."""
    parsed = parse(page)
    assert "<script" not in page.lower()  # escaped text shows as "&lt;script"
    assert set(parsed.tags) <= TAGS, set(parsed.tags) - TAGS
    names = {name for _, name, _ in parsed.attributes}
    assert names <= ATTRIBUTES, names - ATTRIBUTES
    assert not any(name.startswith("on") for name in names)
    values = [(value or "").strip().lower() for _, _, value in parsed.attributes]
    assert not any(value.startswith(("javascript:", "data:", "vbscript:")) for value in values)
    allowed = allowed_urls(digest)
    ids = set(parsed.ids)
    assert len(ids) == len(parsed.ids), "duplicate ids"
    for href in parsed.hrefs:
        if href.startswith("#"):
            assert href[1:] in ids, f"dangling anchor {href}"
        else:
            assert href in allowed, href
    for tag, name, value in parsed.attributes:
        if tag == "a" and name == "href" and not (value or "").startswith("#"):
            rels = {v for t, n, v in parsed.attributes if t == "a" and n == "rel"}
            assert rels == {"noopener noreferrer"}
    assert not clickable(parsed.shown), clickable(parsed.shown)
    return parsed


# --- golden files -------------------------------------------------------------------------


def test_reference_zh_matches_golden() -> None:
    check_text_golden("report_zh.html", render_html_report(reference_digest("zh")))


def test_reference_en_with_overview_and_alert_marks_matches_golden() -> None:
    digest = alerted_digest("en").model_copy(update={"overview": OVERVIEW["en"]})
    check_text_golden("report_en.html", render_html_report(digest))


# --- structure ----------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["zh", "en"])
def test_the_reference_page_is_self_contained_and_every_anchor_resolves(language: str) -> None:
    digest = reference_digest(language, with_overview=True)  # type: ignore[arg-type]
    page = render_html_report(digest)
    parsed = assert_safe(page, digest)
    assert page.startswith("<!DOCTYPE html>\n")
    assert (
        f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">' in page
    )
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert f'<html lang="{"zh-CN" if language == "zh" else "en"}">' in page
    for absent in ("<link", "<img", "src=", "@import", "url(", "<iframe", "<object", "<form"):
        assert absent not in page
    for anchor in ("commits", "stats", "overview", "contents", "high", "medium", "low"):
        assert anchor in parsed.ids
    for item in digest.items:
        assert f"#commit-{item.commit.short_sha}" in parsed.hrefs
        assert f"{REPO_URL}/commit/{item.commit.sha}" in parsed.hrefs
        assert f"{REPO_URL}/pull/{item.pr_number}" in parsed.hrefs
    # Every commit has its full analysis; insights are open for the high commit only.
    assert parsed.articles.count("commit high") == 1
    assert len(parsed.articles) == len(digest.items)
    with_insights = [i for i in digest.items if not i.analysis.insights.empty]
    assert parsed.details == [i.analysis.importance is Importance.HIGH for i in with_insights]


def test_sections_follow_the_markdown_order_and_labels() -> None:
    page = render_html_report(reference_digest("zh"))
    order = [
        page.index('id="commits"'),
        page.index("📊 统计摘要"),
        page.index("📋 目录"),
        page.index("🔴 高重要度变更 (1)"),
        page.index("🟡 中重要度变更 (4)"),
        page.index("🟢 低重要度变更 (4)"),
        page.index('id="provenance"'),
    ]
    assert order == sorted(order)
    assert "本日共 9 个提交 | 🔴高 1 | 🟡中 4 | 🟢低 4" in page
    assert "⚠️ 潜在风险" in page and "💡 关注建议" in page and "🔍 技术洞察" in page
    assert "模型 gpt-oss-120b · 提示词 v1" in page and "9 个提交使用大模型分析" in page


def test_an_empty_day_says_so_and_has_no_contents() -> None:
    digest = empty_digest("en")
    page = render_html_report(digest)
    parsed = assert_safe(page, digest)
    assert "No commits in this window." in page
    assert "contents" not in parsed.ids and "<table" not in page


def test_notes_for_rules_fallbacks_partial_reads_and_digest_counts() -> None:
    items = list(reference_digest("en").items)
    items[0] = with_provenance(
        items[0], analyzer="heuristic", model=None, rule_reason="public API removed"
    )
    items[1] = with_provenance(items[1], analyzer="heuristic", fallback_reason="invalid JSON")
    items[2] = with_provenance(
        items[2], coverage={"files_total": 40, "files_sent": 12, "lines_total": 9, "lines_sent": 9}
    )
    items[3] = with_provenance(items[3], model="other-model", prompt_version="v2")
    base = reference_digest("en").provenance
    digest = with_items(
        items,
        "en",
        provenance=base.model_copy(
            update={
                "heuristic_analyses": 2,
                "fallbacks": 1,
                "partial_analyses": 1,
                "excluded_commits": 3,
            }
        ),
    )
    page = render_html_report(digest)
    assert_safe(page, digest)
    assert "rule-based analysis (no LLM)" in page
    assert "why this importance: public API removed" in page
    assert "LLM analysis failed; rule-based analysis shown" in page
    assert "analysed 12 of 40 files" in page
    assert "model other-model · prompt v2" in page
    assert "2 commits analysed by rules (no LLM)" in page
    assert "LLM analysis failed for 1 commits; rule-based analysis shown" in page
    assert "1 commits analysed partially" in page
    assert "3 commits filtered out" in page


def test_alert_marks_use_the_window_zone() -> None:
    page = render_html_report(alerted_digest("en"))
    assert "🔔 alerted 10:47" in page and "🔔 alerted 02-09 09:00" in page
    assert page.count("🔔") == 2


def test_the_templates_ship_with_the_package() -> None:
    templates = resources.files("formatters") / "templates"
    for name in ("base.html.j2", "style.css.j2", "report.html.j2", "index.html.j2"):
        assert (templates / name).is_file(), name


def test_a_foreign_or_unsafe_repo_url_gives_no_links_at_all() -> None:
    for repo_url in ("javascript:alert(1)", "https://github.com/someone-else/other-repo"):
        digest = reference_digest("en").model_copy(update={"repo_url": repo_url})
        page = render_html_report(digest)
        parsed = assert_safe(page, digest)
        assert all(href.startswith("#") for href in parsed.hrefs)


def test_chart_svg_is_inserted_as_given() -> None:
    svg = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="5"/></svg>'
    page = render_html_report(reference_digest("en"), chart_svg=svg)
    assert svg in page


# --- hostile text -------------------------------------------------------------------------


def _hostile(text: str, language: str = "en") -> Digest:
    item = reference_digest(language).items[0]  # type: ignore[arg-type]
    bad = with_text(
        item,
        title=text,
        author=text,
        summary=text,
        scope=(text, NEWLINE_PATH),
        risks=(text, f"area: {text}"),
        recommendations=(text,),
        closing=text,
        change_type_detail=text,
    )
    return with_items([bad, *reference_digest(language).items[1:]], language)  # type: ignore[arg-type]


@pytest.mark.parametrize("payload", [HOSTILE, *INJECTIONS, *ATTACKS])
def test_injection_payloads_stay_text(payload: str) -> None:
    digest = _hostile(payload)
    page = render_html_report(digest)
    assert_safe(page, digest)


def test_markup_in_text_is_escaped_not_dropped() -> None:
    digest = _hostile('<img src=x onerror=alert(1)> "quoted" & <b>bold</b>')
    page = render_html_report(digest)
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "&lt;b&gt;bold&lt;/b&gt;" in page and "<b>" not in page


@PROPERTY
@given(digests(max_commits=60, text=texts))
def test_any_digest_renders_a_safe_page(digest: Digest) -> None:
    assert_safe(render_html_report(digest), digest)


@PROPERTY
@given(digests(max_commits=20, text=link_texts), st.sampled_from(["zh", "en"]))
def test_link_text_never_becomes_a_link(digest: Digest, language: str) -> None:
    digest = digest.model_copy(update={"language": language})
    assert_safe(render_html_report(digest), digest)


# --- size ---------------------------------------------------------------------------------


def test_a_200_commit_page_renders() -> None:
    digest = big_digest(200)
    started = time.perf_counter()
    page = render_html_report(digest)
    elapsed = time.perf_counter() - started
    parsed = assert_safe(page, digest)
    assert len(parsed.articles) == 200
    assert len({h for h in parsed.hrefs if h.startswith("#commit-")}) == 200
    assert elapsed < 5, elapsed  # about 0.1 s here; a generous bound for slow CI machines
