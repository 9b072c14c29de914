"""Digest -> Markdown in the reference report's structure (zh and en labels); one commit's details.

Layout (see ../shared/reference/000_314adf8128ad6e57.txt): report title, per repository a
`## owner/name` heading, the commit table (newest first, local time of the window), statistics,
an optional overview, the table of contents, then severity sections high -> medium -> low.
High commits show every field with insights and recommendations as tables; medium commits
show summary, scope and recommendations as a numbered list; low commits a one-line summary.

Decisions:
- Multi-line fields are newline-separated lines (see tests/data/reference_day.py): inside
  table cells they are joined with `<br>`, elsewhere they become hard-broken lines.
- Recommendations render as the reference's `步骤 | 建议` table only when every one of them
  has the "area：advice" form; otherwise, and always for medium commits, as a numbered list
  with the area in bold.
- Commit anchors are the short SHA (as in the reference), emitted as `<a id="…"></a>` lines;
  other anchors follow GitHub's heading slugs, so every TOC link resolves on GitHub.
- Links are only built from the repository's web address (commit and pull request pages);
  all other text is escaped by formatters.markdown_text and can never form a link, tag or column.
- Several digests in one report share the first digest's language and one title.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime

from bot.models import (
    CALL_LIMIT_REASON,
    IMPORTANCE_ORDER,
    CommitAnalysis,
    Digest,
    DigestItem,
    Importance,
    Language,
)
from formatters.clock import in_zone, zone
from formatters.labels import (
    SEVERITY_EMOJI,
    Labels,
    alerted_text,
    change_type_text,
    labels_for,
    scope_text,
)
from formatters.markdown_text import (
    AnchorRegistry,
    github_slug,
    md_cell,
    md_code,
    md_heading,
    md_inline,
    md_line_start,
    md_paragraph_lines,
    md_path,
    shorten_title,
)
from formatters.text_safety import RepoLinks, lines, split_area, valid_sha

TOC_TITLE_LIMIT = 60  # the reference cuts TOC titles after 57 characters plus "..."
HARD_BREAK = "  "  # two trailing spaces: a CommonMark hard line break, as the reference uses
_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_HEADING_RE = re.compile(r"^#{1,6} (.*)$")


def local_time(moment: datetime, tz: str) -> str:
    """`moment` as `YYYY-MM-DD HH:MM:SS` in `tz` (unchanged if `tz` is unknown)."""
    return in_zone(moment, tz).strftime(_TIME_FORMAT)


def _badge(importance: Importance, labels: Labels, language: Language) -> str:
    separator = "" if language == "zh" else " "
    return f"{SEVERITY_EMOJI[importance]}{separator}{labels.importance[importance]}"


def _section_title(importance: Importance, count: int, labels: Labels) -> str:
    return f"{SEVERITY_EMOJI[importance]} {labels.section[importance]} ({count})"


def _field(name: str, value: str, labels: Labels) -> str:
    return f"**{name}**{labels.colon}{value}" if value else f"**{name}**{labels.colon.rstrip()}"


def _notes(analysis: CommitAnalysis, labels: Labels) -> list[str]:
    """What the reader should know about how this analysis was made."""
    provenance = analysis.provenance
    notes: list[str] = []
    if provenance.fallback_reason and provenance.fallback_reason != CALL_LIMIT_REASON:
        notes.append(labels.fallback_note)
    elif provenance.analyzer == "heuristic":
        notes.append(labels.heuristic_note)
    if provenance.analyzer == "heuristic" and provenance.rule_reason:
        notes.append(labels.rule_note.format(reason=md_inline(provenance.rule_reason)))
    coverage = provenance.coverage
    if coverage.files_sent < coverage.files_total:
        files = labels.coverage_note.format(sent=coverage.files_sent, total=coverage.files_total)
        notes.append(files)
    elif coverage.lines_sent < coverage.lines_total:
        notes.append(
            labels.coverage_lines_note.format(sent=coverage.lines_sent, total=coverage.lines_total)
        )
    return notes


def _with_area(text: str, labels: Labels) -> list[str]:
    """Escaped lines of a risk or recommendation, its area (if any) in bold on the first line."""
    area, rest = split_area(text)
    body = md_paragraph_lines(rest) or [" "]
    if area:
        body[0] = f"**{md_inline(area)}**{labels.colon}{md_inline(lines(rest)[0])}"
    return body


def _numbered(entries: Sequence[str], labels: Labels) -> list[str]:
    out: list[str] = []
    for number, entry in enumerate(entries, start=1):
        marker = f"{number}. "
        body = _with_area(entry, labels)
        continued = [f"{marker}{body[0]}", *(" " * len(marker) + line for line in body[1:])]
        out += [line + HARD_BREAK for line in continued[:-1]] + [continued[-1]]
    return out


def _table(header: tuple[str, str], rows: Iterable[tuple[str, str]]) -> list[str]:
    left, right = header
    out = [f"| {left} | {right} |", "|------|----------|"]
    out.extend(f"| {a} | {b} |" for a, b in rows)
    return out


def _recommendations_table(entries: Sequence[str], labels: Labels) -> list[str] | None:
    split = [split_area(entry) for entry in entries]
    if not split or any(area is None for area, _ in split):
        return None
    rows = [
        (f"**{md_inline(area or '')}**", "<br>".join(f"- {md_inline(it)}" for it in lines(rest)))
        for area, rest in split
    ]
    return _table((labels.recommendations_col_step, labels.recommendations_col_advice), rows)


def _summary_lines(analysis: CommitAnalysis, labels: Labels, *, single_line: bool) -> list[str]:
    name = f"📋 {labels.field_summary}"
    summary_lines = lines(analysis.summary)
    if single_line or len(summary_lines) < 2:
        return [_field(name, md_inline(analysis.summary), labels)]
    rest = md_paragraph_lines("\n".join(summary_lines[1:]))
    return [_field(name, md_inline(summary_lines[0]), labels), *rest]


def _scope_lines(analysis: CommitAnalysis, labels: Labels) -> list[str]:
    entries = [(entry, note) for entry, note in analysis.scope_entries() if lines(entry)]
    if not entries:
        return []
    out = [_field(f"🎯 {labels.field_scope}", "", labels) + HARD_BREAK]
    for entry, note in entries:
        shown = md_path(entry)
        if note.strip():
            shown = scope_text(shown, md_inline(note), labels)
        out.append(f"- {shown}")
    return [*out, ""]


def _closing_lines(analysis: CommitAnalysis) -> list[str]:
    if not analysis.closing or not lines(analysis.closing):
        return []
    return [*md_paragraph_lines(analysis.closing), ""]


def _head_lines(
    item_title: str,
    sha: str,
    links: RepoLinks,
    pr_number: int | None,
    labels: Labels,
    *,
    alerted: str = "",
) -> list[str]:
    link_parts = [f"**SHA**: {md_code(sha[:7])}"]
    url = links.commit(sha)
    if url:
        link_parts.append(f"🔗 [{labels.view_commit}]({url})")
    pr = links.pull(pr_number)
    if pr:
        link_parts.append(f"🔀 [{labels.pull_request} #{pr_number}]({pr})")
    if alerted:
        link_parts.append(f"🔔 {md_inline(alerted)}")
    return [f"### {md_heading(item_title)}", " | ".join(link_parts), ""]


def _field_block(
    analysis: CommitAnalysis, labels: Labels, language: Language, *, single_line: bool
) -> list[str]:
    badge = _badge(analysis.importance, labels, language)
    fields = [
        _field(f"🎯 {labels.field_type}", md_inline(change_type_text(analysis, labels)), labels),
        _field(f"⚡ {labels.field_importance}", badge, labels),
        *_summary_lines(analysis, labels, single_line=single_line),
    ]
    out = [line + HARD_BREAK for line in fields[:-1]] + [fields[-1], ""]
    notes = _notes(analysis, labels)
    if notes:
        out += [f"> ℹ️ {labels.list_separator.join(notes)}", ""]
    return out


def _present(entries: Iterable[str]) -> list[str]:
    """Entries with visible text (the model may leave blanks)."""
    return [entry for entry in entries if lines(entry)]


def _full_detail(analysis: CommitAnalysis, labels: Labels) -> list[str]:
    """Scope, insights table, risks and recommendations: the reference's high-commit body."""
    out = _scope_lines(analysis, labels)
    insights = [(name, text) for name, text in analysis.insights.items() if lines(text)]
    if insights:
        out += ["---", "", f"### {labels.insights_heading}", ""]
        rows = [(f"**{labels.dimension[name]}**", md_cell(text)) for name, text in insights]
        out += [*_table((labels.insights_col_dimension, labels.insights_col_analysis), rows), ""]
    risks = _present(analysis.risks)
    if risks:
        out += ["---", "", f"### {labels.risks_heading}", "", *_numbered(risks, labels), ""]
    recommendations = _present(analysis.recommendations)
    if recommendations:
        table = _recommendations_table(recommendations, labels)
        body = table if table is not None else _numbered(recommendations, labels)
        out += ["---", "", f"### {labels.recommendations_heading}", "", *body, ""]
    return out + _closing_lines(analysis)


def _medium_detail(analysis: CommitAnalysis, labels: Labels) -> list[str]:
    out = _scope_lines(analysis, labels)
    recommendations = _present(analysis.recommendations)
    if recommendations:
        out.append(_field(labels.recommendations_heading, "", labels) + HARD_BREAK)
        out += [*_numbered(recommendations, labels), ""]
    return out + _closing_lines(analysis)


def _item_lines(
    item: DigestItem,
    anchor: str,
    links: RepoLinks,
    labels: Labels,
    language: Language,
    *,
    tz: str,
) -> list[str]:
    analysis = item.analysis
    out = [f'<a id="{anchor}"></a>', ""]
    alerted = alerted_text(item, language, tz)
    out += _head_lines(
        item.commit.title, item.commit.sha, links, item.pr_number, labels, alerted=alerted
    )
    low = analysis.importance is Importance.LOW
    out += _field_block(analysis, labels, language, single_line=low)
    if analysis.importance is Importance.HIGH:
        out += _full_detail(analysis, labels)
    elif analysis.importance is Importance.MEDIUM:
        out += _medium_detail(analysis, labels)
    return [*out, "---", ""]


def _commit_table(digest: Digest, labels: Labels) -> list[str]:
    out = [
        f"| {labels.col_time} | {labels.col_author} | {labels.col_message} |",
        "|----------|------|----------|",
    ]
    newest_first = sorted(digest.items, key=lambda item: item.commit.committed_at, reverse=True)
    for item in newest_first:
        when = local_time(item.commit.committed_at, digest.window.tz)
        out.append(f"| {when} | {md_cell(item.commit.author)} | {md_cell(item.commit.title)} |")
    return [*out, ""]


def _stats_line(digest: Digest, labels: Labels) -> str:
    template = (
        labels.stats_line
        if digest.window.first_day == digest.window.last_day
        else labels.stats_line_window
    )
    stats = digest.stats
    return template.format(total=stats.total, high=stats.high, medium=stats.medium, low=stats.low)


def _plain(markdown: str) -> str:
    """Roughly what a renderer shows for escaped inline Markdown (for heading anchors)."""
    text = re.sub(r"\\(.)", r"\1", markdown)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _register_headings(block: Sequence[str], anchors: AnchorRegistry) -> None:
    for line in block:
        match = _HEADING_RE.match(line)
        if match:
            anchors.heading(_plain(match.group(1)))


def _repo_lines(
    digest: Digest, labels: Labels, language: Language, anchors: AnchorRegistry
) -> list[str]:
    """One repository's block: heading, table, statistics, overview, TOC and sections."""
    links = RepoLinks.for_repo(digest.repo, digest.repo_url)
    repo_anchor = anchors.heading(digest.repo)
    out = [f"## {md_heading(digest.repo)}", ""]
    out += _commit_table(digest, labels) if digest.items else [md_line_start(labels.no_commits), ""]
    stats_anchor = anchors.heading(labels.stats_heading)
    out += [f"### {labels.stats_heading}", "", f"> {_stats_line(digest, labels)}", ""]
    if digest.provenance.excluded_commits:
        out += [f"> {labels.excluded_note.format(count=digest.provenance.excluded_commits)}", ""]
    if digest.provenance.capped_analyses:
        note = labels.capped_note.format(
            count=digest.provenance.capped_analyses, limit=digest.provenance.llm_call_ceiling
        )
        out += [f"> {note}", ""]
    toc = [
        f"- [{md_inline(digest.repo, link_text=True)}](#{repo_anchor})",
        f"  - [{labels.stats_heading}](#{stats_anchor})",
    ]
    paragraph = md_paragraph_lines(digest.overview or "")
    if paragraph:
        toc.append(f"  - [{labels.overview_heading}](#{anchors.heading(labels.overview_heading)})")
        out += [f"### {labels.overview_heading}", ""]
        out += [line + HARD_BREAK for line in paragraph[:-1]] + [paragraph[-1], ""]
    if not digest.items:
        return out
    anchors.heading(labels.toc_heading)
    body: list[str] = []
    for importance in IMPORTANCE_ORDER:
        items = digest.by_importance(importance)
        if not items:
            continue
        title = _section_title(importance, len(items), labels)
        toc.append(f"  - [{title}](#{anchors.heading(title)})")
        body += [f"#### {title}", ""]
        for item in items:
            short_sha = item.commit.short_sha
            anchor = anchors.unique(valid_sha(short_sha) or github_slug(short_sha) or "commit")
            short = md_inline(shorten_title(item.commit.title, TOC_TITLE_LIMIT), link_text=True)
            toc.append(f"    - [{short}](#{anchor})")
            block = _item_lines(item, anchor, links, labels, language, tz=digest.window.tz)
            _register_headings(block, anchors)
            body += block
    return [*out, f"## {labels.toc_heading}", "", *toc, "", *body]


def _report_title(digests: Sequence[Digest], labels: Labels) -> str:
    first = min(d.window.first_day for d in digests)
    last = max(d.window.last_day for d in digests)
    title = first if first == last else f"{first} – {last}"
    return labels.report_title.format(date=title)


def render_markdown_many(digests: Sequence[Digest]) -> str:
    """Several repositories in one report (same window), in the first digest's language."""
    if not digests:
        raise ValueError("render_markdown_many needs at least one digest")
    language = digests[0].language
    labels = labels_for(language)
    anchors = AnchorRegistry()
    title = _report_title(digests, labels)
    anchors.heading(title)
    out = [f"# {title}", ""]
    for digest in digests:
        out += _repo_lines(digest, labels, language, anchors)
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n"


def render_markdown(digest: Digest) -> str:
    """One repository's digest as the reference report."""
    return render_markdown_many([digest])


def _zoned_time(moment: datetime, tz: str) -> str:
    """`2026-02-08 23:11:16 (Asia/Shanghai, UTC+08:00)`, `… (UTC)`: a details view stands
    alone (no window names its zone), so the time says which zone it is in."""
    known = zone(tz)
    local = moment.astimezone(known) if known else moment
    offset = local.utcoffset()
    if offset is None:
        return local.strftime(_TIME_FORMAT)
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    utc = f"UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    name = known.key if known is not None else ""
    if name in {"UTC", "Etc/UTC"} or (not name and minutes == 0):
        return f"{local.strftime(_TIME_FORMAT)} (UTC)"
    label = f"{name}, {utc}" if name else utc
    return f"{local.strftime(_TIME_FORMAT)} ({label})"


def render_commit_markdown(
    subject: DigestItem | CommitAnalysis,
    language: Language | None = None,
    *,
    repo: str = "",
    repo_url: str = "",
    tz: str = "UTC",
) -> str:
    """One commit's full analysis (every field, whatever its importance) for a details view."""
    analysis = subject.analysis if isinstance(subject, DigestItem) else subject
    language = language or analysis.provenance.language
    labels = labels_for(language)
    if not repo and isinstance(subject, DigestItem):
        repo = subject.commit.repo
    links = RepoLinks.for_repo(repo, repo_url)
    if isinstance(subject, DigestItem):
        alerted = alerted_text(subject, language, tz)
        out = _head_lines(
            subject.commit.title,
            subject.commit.sha,
            links,
            subject.pr_number,
            labels,
            alerted=alerted,
        )
        when = _zoned_time(subject.commit.committed_at, tz)
        byline = [
            _field(labels.author, md_inline(subject.commit.author), labels),
            _field(labels.col_time, when, labels),
        ]
        out = [out[0], out[1] + HARD_BREAK, " | ".join(byline), ""]
    else:
        out = _head_lines(analysis.sha[:7], analysis.sha, links, None, labels)
    out += _field_block(analysis, labels, language, single_line=False)
    out += _full_detail(analysis, labels)
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n"
