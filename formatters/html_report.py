"""Digest -> one self-contained HTML5 page: the reference report's structure, no script, no assets.

Layout (the order of formatters.markdown, the words of formatters.labels): title, repository and
window; the commit table (newest first: time, SHA linked to the commit, title linked to its
section, author, importance, change type, files +/−); statistics and digest-level notes; the
overview; the contents (anchors #stats, #overview, #high, #medium, #low, #commit-<short sha>);
the severity sections high -> medium -> low, each commit with its full analysis (type,
importance, summary, scope, insights in a `<details>` open for high commits, risks,
recommendations, closing, coverage and provenance notes, "alerted HH:MM"); then the digest's
provenance (model, prompt version, LLM / rule-based / fallback / partial counts).

Safety (formatters.text_safety is the one rule set):
- Templates are Jinja2 files under formatters/templates/, loaded once with autoescape on: every
  string a template prints is HTML-escaped unless it is `Markup` made here by `_rich`/`_inline`,
  which clean, defang links (text never carries a URL a mail client or a copy could linkify)
  and escape each piece themselves, adding only `<br>` and `<code>`.
- `href`s come only from `RepoLinks` (the repository, its commits, its pull requests, built from
  the digest's own address and validated SHAs / numbers) or are in-page `#anchors`; every
  external link has rel="noopener noreferrer".
- No JavaScript, no external asset; a Content-Security-Policy meta tag says so to the browser
  (`serve` sends the same header). The only markup taken as-is is `chart_svg`, which comes from
  our own chart renderer, never from untrusted text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, Template
from markupsafe import Markup, escape

from bot.models import (
    CALL_LIMIT_REASON,
    IMPORTANCE_ORDER,
    CommitAnalysis,
    Digest,
    DigestItem,
    Importance,
    Language,
)
from formatters.clock import in_zone
from formatters.labels import (
    SEVERITY_EMOJI,
    Labels,
    alerted_text,
    card_labels_for,
    change_type_text,
    labels_for,
)
from formatters.text_safety import RepoLinks, clean, defang, lines, one_line, split_area, valid_sha

# The policy of every page: nothing loads or runs but the page's own <style> and data: images.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'self'"
)
TOC_TITLE_LIMIT = 60  # as formatters.markdown: past 60 characters, 57 and "..."
_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_CODE_SPAN = re.compile(r"`([^`\n]+)`")


@dataclass(frozen=True)
class PageWords:
    """Words of the HTML pages that formatters.labels does not have (yet)."""

    html_lang: str
    col_sha: str
    col_changes: str
    window: str  # "{window} ({tz})"
    generated_at: str  # "generated {time}"
    tokens: str  # "{prompt} prompt + {completion} completion tokens"
    print_note: str  # print only: collapsed insights may not print
    provenance_heading: str
    commit_provenance: str  # one commit's analyzer line: "model {model} · prompt {prompt}"
    llm_count: str  # "{count} commits analysed by the LLM"


WORDS: dict[Language, PageWords] = {
    "zh": PageWords(
        html_lang="zh-CN",
        col_sha="SHA",
        col_changes="文件 / 行",
        window="{window}（{tz}）",
        generated_at="生成于 {time}",
        tokens="提示词 {prompt} + 输出 {completion} tokens",
        print_note="打印时，收起的技术洞察可能不会显示：请先展开需要的部分。",
        provenance_heading="ℹ️ 生成信息",
        commit_provenance="模型 {model} · 提示词 {prompt_version}",
        llm_count="{count} 个提交使用大模型分析",
    ),
    "en": PageWords(
        html_lang="en",
        col_sha="SHA",
        col_changes="Files / lines",
        window="{window} ({tz})",
        generated_at="generated {time}",
        tokens="{prompt} prompt + {completion} completion tokens",
        print_note="Collapsed insights may not print: open the ones you need first.",
        provenance_heading="ℹ️ How this report was made",
        commit_provenance="model {model} · prompt {prompt_version}",
        llm_count="{count} commits analysed by the LLM",
    ),
}


def words_for(language: Language) -> PageWords:
    return WORDS["zh" if language == "zh" else "en"]


# --- untrusted text as inert HTML ---------------------------------------------------------------


def _escape_run(text: str) -> str:
    return str(escape(defang(text)))


def _inline_html(text: str) -> str:
    """One cleaned line: links defanged, escaped, single-backtick spans as <code>."""
    out: list[str] = []
    position = 0
    for match in _CODE_SPAN.finditer(text):
        out.append(_escape_run(text[position : match.start()]))
        out.append(f"<code>{_escape_run(match.group(1))}</code>")
        position = match.end()
    out.append(_escape_run(text[position:]))
    return "".join(out)


def inline(text: str | None) -> Markup:
    """Untrusted text on one line as safe HTML (the `inline` filter)."""
    return Markup(_inline_html(one_line(text or "")))  # every piece escaped above


def rich(text: str | None) -> Markup:
    """Untrusted multi-line text as safe HTML: its non-empty lines joined with <br>."""
    joined = "<br>\n".join(_inline_html(line) for line in lines(text or ""))
    return Markup(joined)  # every piece escaped by _inline_html


_BARE_PATH = re.compile(r"^[\w./*@+-]+$")


def path(text: str | None) -> Markup:
    """A scope entry: a bare path or glob as <code> (as formatters.markdown's md_path), else
    like `inline`."""
    stripped = defang(one_line(text or ""))
    if _BARE_PATH.match(stripped) and ("/" in stripped or "." in stripped):
        return Markup(f"<code>{escape(stripped)}</code>")  # escaped
    return inline(text)


def plain(text: str | None) -> str:
    """Untrusted text for a place without markup (the <title>, attributes): one line, defanged;
    autoescape escapes it."""
    return defang(one_line(text or ""))


@cache
def environment() -> Environment:
    """The one Jinja2 environment of the HTML pages (templates compiled once, autoescape on)."""
    env = Environment(
        loader=PackageLoader("formatters", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(inline=inline, rich=rich, plain=plain, path=path)
    env.globals.update(csp=Markup(CONTENT_SECURITY_POLICY))  # a constant without quotes
    return env


def template(name: str) -> Template:
    return environment().get_template(name)


def chart_markup(chart_svg: str | None) -> Markup | None:
    """Our own chart renderer's SVG, inserted as-is: it is built from numbers and our labels,
    never from untrusted text (so it is not escaped here)."""
    return Markup(chart_svg) if chart_svg else None


# --- the view of a digest -----------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One line of the commit table."""

    time: str
    short_sha: str
    commit_url: str | None
    anchor: str
    title: str
    author: str
    badge: str
    change_type: str
    changes: str


@dataclass(frozen=True)
class Entry:
    """A risk or recommendation: its area (may be None) and its text."""

    area: str | None
    text: str


@dataclass(frozen=True)
class CommitView:
    """One commit's full analysis as the page shows it."""

    anchor: str
    title: str
    toc_title: str
    short_sha: str
    commit_url: str | None
    pr_number: int | None
    pr_url: str | None
    author: str
    time: str
    alerted: str
    badge: str
    importance: str
    change_type: str
    changes: str
    summary: str
    scope: tuple[tuple[str, str], ...]
    insights: tuple[tuple[str, str], ...]
    insights_open: bool
    risks: tuple[Entry, ...]
    recommendations: tuple[Entry, ...]
    recommendations_table: bool
    closing: str
    notes: tuple[str, ...]
    provenance: str


@dataclass(frozen=True)
class SectionView:
    anchor: str
    title: str
    importance: str
    commits: tuple[CommitView, ...]


def local_time(moment: datetime, tz: str) -> str:
    return in_zone(moment, tz).strftime(_TIME_FORMAT)


def _badge(importance: Importance, labels: Labels, language: Language) -> str:
    separator = "" if language == "zh" else " "
    return f"{SEVERITY_EMOJI[importance]}{separator}{labels.importance[importance]}"


def section_title(importance: Importance, count: int, labels: Labels) -> str:
    return f"{SEVERITY_EMOJI[importance]} {labels.section[importance]} ({count})"


def _changes(item: DigestItem, language: Language) -> str:
    return card_labels_for(language).files_line.format(
        files=item.files_changed, additions=item.additions, deletions=item.deletions
    )


def _notes(analysis: CommitAnalysis, labels: Labels) -> tuple[str, ...]:
    """How this analysis was made (the notes formatters.markdown shows, as plain text)."""
    provenance = analysis.provenance
    notes: list[str] = []
    if provenance.fallback_reason and provenance.fallback_reason != CALL_LIMIT_REASON:
        notes.append(labels.fallback_note)
    elif provenance.analyzer == "heuristic":
        notes.append(labels.heuristic_note)
    if provenance.analyzer == "heuristic" and provenance.rule_reason:
        notes.append(labels.rule_note.format(reason=one_line(provenance.rule_reason)))
    coverage = provenance.coverage
    if coverage.files_sent < coverage.files_total:
        notes.append(
            labels.coverage_note.format(sent=coverage.files_sent, total=coverage.files_total)
        )
    elif coverage.lines_sent < coverage.lines_total:
        notes.append(
            labels.coverage_lines_note.format(sent=coverage.lines_sent, total=coverage.lines_total)
        )
    return tuple(notes)


def _entries(texts: Sequence[str]) -> tuple[Entry, ...]:
    out: list[Entry] = []
    for text in texts:
        if not lines(text):
            continue
        area, rest = split_area(text)
        out.append(Entry(area=area, text=rest if area else text))
    return tuple(out)


class _Anchors:
    """Unique element ids in document order ("commit-00248d8", "commit-00248d8-2")."""

    def __init__(self, taken: Sequence[str]) -> None:
        self._seen = set(taken)

    def unique(self, base: str) -> str:
        candidate, count = base, 1
        while candidate in self._seen:
            count += 1
            candidate = f"{base}-{count}"
        self._seen.add(candidate)
        return candidate


FIXED_IDS = (
    "top",
    "commits",
    "stats",
    "overview",
    "contents",
    "provenance",
    *(importance.value for importance in IMPORTANCE_ORDER),
)


def _commit_view(
    item: DigestItem,
    anchor: str,
    digest: Digest,
    *,
    links: RepoLinks,
    labels: Labels,
    words: PageWords,
) -> CommitView:
    analysis = item.analysis
    language = digest.language
    provenance = analysis.provenance
    digest_model = (digest.provenance.model, digest.provenance.prompt_version)
    own_model = (provenance.model, provenance.prompt_version)
    shown_model = ""
    if provenance.analyzer == "llm" and provenance.model and own_model != digest_model:
        shown_model = words.commit_provenance.format(
            model=one_line(provenance.model),
            prompt_version=one_line(provenance.prompt_version or "—"),
        )
    recommendations = _entries(analysis.recommendations)
    short_sha = one_line(item.commit.sha)[:7]
    return CommitView(
        anchor=anchor,
        title=item.commit.title,
        toc_title=_shorten(item.commit.title, TOC_TITLE_LIMIT),
        short_sha=short_sha,
        commit_url=links.commit(item.commit.sha),
        pr_number=item.pr_number,
        pr_url=links.pull(item.pr_number),
        author=item.commit.author,
        time=local_time(item.commit.committed_at, digest.window.tz),
        alerted=alerted_text(item, language, digest.window.tz),
        badge=_badge(analysis.importance, labels, language),
        importance=analysis.importance.value,
        change_type=change_type_text(analysis, labels),
        changes=_changes(item, language),
        summary=analysis.summary,
        scope=tuple((e, n) for e, n in analysis.scope_entries() if lines(e)),
        insights=tuple(
            (labels.dimension[name], text)
            for name, text in analysis.insights.items()
            if lines(text)
        ),
        insights_open=analysis.importance is Importance.HIGH,
        risks=_entries(analysis.risks),
        recommendations=recommendations,
        recommendations_table=bool(recommendations)
        and all(entry.area is not None for entry in recommendations),
        closing=analysis.closing or "",
        notes=_notes(analysis, labels),
        provenance=shown_model,
    )


def _shorten(title: str, limit: int) -> str:
    title = one_line(title)
    return title if len(title) <= limit else title[: limit - 3] + "..."


def _digest_notes(digest: Digest, words: PageWords) -> list[str]:
    """What the statistics say about the whole digest: filtered, capped, rule-based, partial."""
    labels = labels_for(digest.language)
    cards = card_labels_for(digest.language)
    provenance = digest.provenance
    notes: list[str] = []
    if provenance.excluded_commits:
        notes.append(labels.excluded_note.format(count=provenance.excluded_commits))
    if provenance.capped_analyses:
        notes.append(
            labels.capped_note.format(
                count=provenance.capped_analyses, limit=provenance.llm_call_ceiling
            )
        )
    if provenance.fallbacks:
        notes.append(cards.fallback_count.format(count=provenance.fallbacks))
    if provenance.partial_analyses:
        notes.append(cards.partial_count.format(count=provenance.partial_analyses))
    return notes


def _provenance_lines(digest: Digest, words: PageWords) -> list[str]:
    cards = card_labels_for(digest.language)
    provenance = digest.provenance
    out: list[str] = []
    if provenance.model or provenance.prompt_version:
        out.append(
            cards.model_line.format(
                model=one_line(provenance.model or "—"),
                prompt_version=one_line(provenance.prompt_version or "—"),
            )
        )
    if provenance.llm_analyses:
        out.append(words.llm_count.format(count=provenance.llm_analyses))
    if provenance.heuristic_analyses:
        out.append(cards.heuristic_count.format(count=provenance.heuristic_analyses))
    if provenance.fallbacks:
        out.append(cards.fallback_count.format(count=provenance.fallbacks))
    if provenance.partial_analyses:
        out.append(cards.partial_count.format(count=provenance.partial_analyses))
    if provenance.prompt_tokens or provenance.completion_tokens:
        out.append(
            words.tokens.format(
                prompt=f"{provenance.prompt_tokens:,}",
                completion=f"{provenance.completion_tokens:,}",
            )
        )
    out.append(
        words.generated_at.format(time=local_time(provenance.generated_at, digest.window.tz))
    )
    return out


def _stats_line(digest: Digest, labels: Labels) -> str:
    window = digest.window
    template_text = (
        labels.stats_line if window.first_day == window.last_day else (labels.stats_line_window)
    )
    stats = digest.stats
    return template_text.format(
        total=stats.total, high=stats.high, medium=stats.medium, low=stats.low
    )


def report_context(digest: Digest) -> dict[str, Any]:
    """Everything report.html.j2 shows, as plain values (untrusted text still raw: the template
    escapes it, or passes it through the `inline` / `rich` filters)."""
    language = digest.language
    labels = labels_for(language)
    words = words_for(language)
    links = RepoLinks.for_repo(digest.repo, digest.repo_url)
    anchors = _Anchors(FIXED_IDS)
    commit_anchor: dict[int, str] = {}
    sections: list[SectionView] = []
    for importance in IMPORTANCE_ORDER:
        items = digest.by_importance(importance)
        if not items:
            continue
        views = []
        for item in items:
            short = valid_sha(item.commit.sha[:7]) or "x"
            anchor = anchors.unique(f"commit-{short}")
            commit_anchor[id(item)] = anchor
            views.append(
                _commit_view(item, anchor, digest, links=links, labels=labels, words=words)
            )
        sections.append(
            SectionView(
                anchor=importance.value,
                title=section_title(importance, len(items), labels),
                importance=importance.value,
                commits=tuple(views),
            )
        )
    newest_first = sorted(digest.items, key=lambda item: item.commit.committed_at, reverse=True)
    rows = [
        Row(
            time=local_time(item.commit.committed_at, digest.window.tz),
            short_sha=one_line(item.commit.sha)[:7],
            commit_url=links.commit(item.commit.sha),
            anchor=commit_anchor[id(item)],
            title=item.commit.title,
            author=item.commit.author,
            badge=_badge(item.analysis.importance, labels, language),
            change_type=change_type_text(item.analysis, labels),
            changes=_changes(item, language),
        )
        for item in newest_first
    ]
    window = digest.window
    title = labels.report_title.format(date=window.title)
    return {
        "lang": words.html_lang,
        "title": title,
        "page_title": f"{title} · {plain(digest.repo)}",
        "repo": digest.repo,
        "repo_url": links.base,
        "window": words.window.format(window=window.title, tz=clean(window.tz)),
        "labels": labels,
        "words": words,
        "rows": rows,
        "stats_line": _stats_line(digest, labels),
        "notes": _digest_notes(digest, words),
        "overview": digest.overview if lines(digest.overview or "") else "",
        "sections": sections,
        "provenance": _provenance_lines(digest, words),
        "generated_by": labels.generated_by,
        "chart": None,
    }


def render_html_report(digest: Digest, *, chart_svg: str | None = None) -> str:
    """The digest as one self-contained HTML5 page in the digest's language."""
    context = report_context(digest)
    context["chart"] = chart_markup(chart_svg)
    return template("report.html.j2").render(context)
