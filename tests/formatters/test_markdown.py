"""Tests for formatters.markdown: golden reports, structure, and escaping of untrusted text.

Golden files live in tests/golden/ and are compared byte for byte. After an intended change
to the output, regenerate them with

    UPDATE_GOLDEN=1 pytest tests/formatters/test_markdown.py tests/formatters/test_json_out.py

and review the diff before committing.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from markdown_it.token import Token

from bot.models import (
    AnalysisProvenance,
    ChangeType,
    CommitAnalysis,
    CommitSummary,
    Coverage,
    Digest,
    DigestItem,
    DigestProvenance,
    DigestStats,
    Importance,
    Insights,
    Window,
)
from formatters.markdown import render_commit_markdown, render_markdown, render_markdown_many
from formatters.text_safety import lines, split_area
from tests.data.reference_day import (
    REPO_URL,
    empty_digest,
    reference_digest,
    reference_window,
)
from tests.formatters.builders import alerted_digest

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
_MD = MarkdownIt("commonmark").enable(["table", "strikethrough"])

# The reference report's table rows and statistics line, verbatim.
_REFERENCE_TABLE = (
    (
        "23:11:16",
        "debo3",
        "Fix TRT-LLM MLA backend applying k_scale to BF16 KV cache in BMM1 (#18396)",
    ),
    (
        "23:02:27",
        "Mick",
        "[diffusion] refactor: group component loaders under the component_loaders/ directory"
        " (#18438)",
    ),
    (
        "22:35:28",
        "Yi Zhong",
        "[ModelOpt] Fix broken Qwen3-235B-A22B-Instruct-2507-NVFP4 launch (#18189)",
    ),
    ("21:09:39", "wxy", "[diffusion] feat: support efficient sequence shard (#18161)"),
    ("14:26:35", "shuwenn", "[CI] fix: notebook ci may not working (#18417)"),
    (
        "14:10:59",
        "Zack Yu",
        "fix: sync server_args.kv_cache_dtype when detecting FP8 KV cache (#18394)",
    ),
    (
        "11:20:41",
        "DarkSharpness",
        "[Fix] Fix backend selection after flashinfer version update (#18364)",
    ),
    (
        "10:45:30",
        "Makcum888e",
        "[diffusion] platform: support WAN/FLUX/Qwen-Image/Qwen-Image-edit on Ascend (#13662)",
    ),
    (
        "10:23:48",
        "Mohammad Miadh Angkad",
        "fix: fix NVFP4 Kimi-K2.5 weight mapping and exclude list (#18370)",
    ),
)
REFERENCE_ROWS = tuple(f"| 2026-02-08 {t} | {a} | {m} |" for t, a, m in _REFERENCE_TABLE)
REFERENCE_STATS = "> 本日共 9 个提交 | 🔴高 1 | 🟡中 4 | 🟢低 4"


def check_golden(name: str, text: str) -> None:
    """Compare with tests/golden/<name> byte for byte, or rewrite it when UPDATE_GOLDEN=1."""
    path = GOLDEN / name
    data = text.encode("utf-8")
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    assert path.exists(), f"missing golden {path}; run with UPDATE_GOLDEN=1"
    assert data == path.read_bytes(), f"{name} differs from its golden file"


# --- helpers that read the rendered document back -------------------------------------------


def _headings(markdown: str) -> list[tuple[int, str]]:
    tokens = _MD.parse(markdown)
    out = []
    for index, token in enumerate(tokens):
        if token.type == "heading_open":
            out.append((int(token.tag[1]), _text(tokens[index + 1])))
    return out


def _text(inline: Token) -> str:
    return "".join(c.content for c in inline.children or [] if c.type in ("text", "code_inline"))


def _slug(text: str) -> str:
    # An independent re-statement of GitHub's slugger: keep letters, digits, '-', '_' and spaces.
    kept = "".join(ch for ch in text.strip().lower() if ch.isalnum() or ch in "-_ ")
    return kept.replace(" ", "-")


def _anchor_targets(markdown: str) -> set[str]:
    targets: set[str] = set(re.findall(r'<a id="([^"]+)"></a>', markdown))
    seen: dict[str, int] = {}
    for _, text in _headings(markdown):
        base = _slug(text)
        slug = base
        while slug in seen or slug in targets:
            seen[base] = seen.get(base, 0) + 1
            slug = f"{base}-{seen[base]}"
        seen.setdefault(slug, 0)
        targets.add(slug)
    return targets


def _links(markdown: str) -> list[str]:
    return [
        unquote(str(child.attrs["href"]))  # markdown-it percent-encodes non-ASCII fragments
        for token in _MD.parse(markdown)
        for child in token.children or []
        if child.type == "link_open"
    ]


# --- golden files -------------------------------------------------------------------------


def test_reference_zh_matches_golden() -> None:
    check_golden("markdown_zh.md", render_markdown(reference_digest("zh")))


def test_reference_en_with_overview_matches_golden() -> None:
    check_golden("markdown_en.md", render_markdown(reference_digest("en", with_overview=True)))


def test_empty_digest_matches_golden() -> None:
    check_golden("markdown_empty_en.md", render_markdown(empty_digest("en")))


# --- structure ------------------------------------------------------------------------------


def test_reference_table_and_stats_are_the_reports_own_lines() -> None:
    rendered = render_markdown(reference_digest("zh"))
    body = rendered.splitlines()
    assert body[0] == "# 每日更新报告（2026-02-08）"
    assert "## sgl-project/sglang" in body
    start = body.index("| 提交时间 | 作者 | 提交信息 |")
    assert tuple(body[start + 2 : start + 11]) == REFERENCE_ROWS
    assert REFERENCE_STATS in body


@pytest.mark.parametrize("language", ["zh", "en"])
def test_sections_come_in_the_reference_order(language: str) -> None:
    digest = reference_digest(language, with_overview=True)  # type: ignore[arg-type]
    headings = _headings(render_markdown(digest))
    top = [text for level, text in headings if level in (1, 2, 4)]
    assert len(top) == 6
    assert top[1] == "sgl-project/sglang"
    assert [t[:1] for t in top[3:]] == ["🔴", "🟡", "🟢"]
    assert top[3].endswith("(1)") and top[4].endswith("(4)") and top[5].endswith("(4)")
    level3 = [text for level, text in headings if level == 3]
    assert level3.index(level3[0]) == 0 and "📊" in level3[0]  # statistics first
    assert "🧭" in level3[1]  # then the overview


def test_counts_line_equals_stats() -> None:
    digest = reference_digest("en")
    rendered = render_markdown(digest)
    stats = digest.stats
    assert (
        f"> {stats.total} commits | 🔴 high {stats.high} | 🟡 medium {stats.medium} | "
        f"🟢 low {stats.low}"
    ) in rendered


@pytest.mark.parametrize("language", ["zh", "en"])
def test_every_commit_once_in_toc_table_and_body_and_anchors_resolve(language: str) -> None:
    digest = reference_digest(language, with_overview=True)  # type: ignore[arg-type]
    rendered = render_markdown(digest)
    for item in digest.items:
        short = item.commit.short_sha
        assert rendered.count(f"](#{short})") == 1, short
        assert rendered.count(f'<a id="{short}"></a>') == 1, short
        assert rendered.count(f"{REPO_URL}/commit/{item.commit.sha})") == 1, short
    fragments = [href[1:] for href in _links(rendered) if href.startswith("#")]
    assert len(fragments) == 1 + 1 + 1 + 3 + 9  # repo, stats, overview, 3 sections, 9 commits
    targets = _anchor_targets(rendered)
    assert set(fragments) <= targets, set(fragments) - targets


def test_reference_toc_anchors_are_githubs() -> None:
    rendered = render_markdown(reference_digest("zh"))
    assert "- [sgl-project/sglang](#sgl-projectsglang)" in rendered
    assert "  - [📊 统计摘要](#-统计摘要)" in rendered
    assert "  - [🔴 高重要度变更 (1)](#-高重要度变更-1)" in rendered
    assert "    - [\\[diffusion\\] platform: support WAN/FLUX/Qwen-Image/Qwen-Im...](#00248d8)" in (
        rendered
    )


def test_detail_levels_follow_importance() -> None:
    rendered = render_markdown(reference_digest("zh"))
    high, medium, low = (
        rendered.split("#### 🔴")[1].split("#### 🟡")[0],
        rendered.split("#### 🟡")[1].split("#### 🟢")[0],
        rendered.split("#### 🟢")[1],
    )
    assert "### 🔍 技术洞察" in high and "### ⚠️ 潜在风险" in high
    assert "| 步骤 | 建议 |" in high and high.count("| **") == 6 + 3
    assert "技术洞察" not in medium and "潜在风险" not in medium
    assert medium.count("**💡 关注建议**：") == 4 and medium.count("**🎯 影响范围**：") == 4
    assert "影响范围" not in low and "关注建议" not in low
    assert low.count("**📋 变更摘要**：") == 4


def test_multi_day_window_uses_the_window_title() -> None:
    window = reference_window()
    week = Window(start=window.start - timedelta(days=6), end=window.end, tz=window.tz, label="7d")
    digest = reference_digest("zh").model_copy(update={"window": week})
    rendered = render_markdown(digest)
    assert rendered.startswith("# 每日更新报告（2026-02-02 – 2026-02-08）\n")
    assert "> 本时段共 9 个提交" in rendered


def _analysis(importance: Importance = Importance.HIGH, **changes: object) -> CommitAnalysis:
    base = CommitAnalysis(
        sha="abcdef1234567890abcdef1234567890abcdef12",
        change_type=ChangeType.FIX,
        importance=importance,
        summary="Fixes it.",
        scope=("src/a.py",),
        risks=("Might break.",),
        recommendations=("Test more.", "Area: advice"),
        provenance=AnalysisProvenance(analyzer="llm", model="m", language="en"),
    )
    return base.model_copy(update=changes)


def _digest(*items: DigestItem, repo: str = "o/r", repo_url: str = "", excluded: int = 0) -> Digest:
    counts = {imp: sum(1 for i in items if i.analysis.importance is imp) for imp in Importance}
    return Digest(
        repo=repo,
        repo_url=repo_url,
        window=reference_window(),
        language="en",
        items=items,
        stats=DigestStats(
            total=len(items),
            high=counts[Importance.HIGH],
            medium=counts[Importance.MEDIUM],
            low=counts[Importance.LOW],
        ),
        provenance=DigestProvenance(
            generated_at=datetime(2026, 2, 9, tzinfo=UTC), excluded_commits=excluded
        ),
    )


def _item(
    analysis: CommitAnalysis,
    *,
    title: str = "t",
    author: str = "a",
    repo: str = "o/r",
    when: datetime | None = None,
    pr: int | None = 7,
) -> DigestItem:
    return DigestItem(
        commit=CommitSummary(
            repo=repo,
            sha=analysis.sha,
            title=title,
            author=author,
            committed_at=when or datetime(2026, 2, 8, 3, 0, tzinfo=UTC),
        ),
        pr_number=pr,
        analysis=analysis,
    )


def test_table_shows_local_time_newest_first() -> None:
    early = _item(_analysis(sha="1" * 40), when=datetime(2026, 2, 8, 1, 0, tzinfo=UTC))
    late = _item(_analysis(sha="2" * 40), when=datetime(2026, 2, 8, 15, 30, tzinfo=UTC))
    rendered = render_markdown(_digest(early, late))
    assert rendered.index("| 2026-02-08 23:30:00 |") < rendered.index("| 2026-02-08 09:00:00 |")


def test_provenance_notes_and_exclusions_are_stated() -> None:
    partial = _analysis(
        sha="1" * 40,
        provenance=AnalysisProvenance(
            analyzer="llm", coverage=Coverage(files_total=3000, files_sent=40)
        ),
    )
    fallback = _analysis(
        sha="2" * 40,
        importance=Importance.LOW,
        provenance=AnalysisProvenance(analyzer="heuristic", fallback_reason="timeout"),
    )
    heuristic = _analysis(
        sha="3" * 40,
        importance=Importance.MEDIUM,
        provenance=AnalysisProvenance(
            analyzer="heuristic",
            coverage=Coverage(files_total=1, files_sent=1, lines_total=9000, lines_sent=100),
        ),
    )
    rendered = render_markdown(
        _digest(_item(partial), _item(fallback), _item(heuristic), excluded=2)
    )
    assert "> ℹ️ analysed 40 of 3000 files" in rendered
    assert "> ℹ️ LLM analysis failed; rule-based analysis shown" in rendered
    assert "> ℹ️ rule-based analysis (no LLM); analysed 100 of 9000 changed lines" in rendered
    assert "> 2 commits filtered out" in rendered
    assert "timeout" not in rendered  # internal reasons stay in the logs


def test_recommendations_without_areas_are_a_numbered_list() -> None:
    rendered = render_markdown(_digest(_item(_analysis())))
    assert "| Area | Recommendation |" not in rendered
    assert "1. Test more." in rendered and "2. **Area**: advice" in rendered


def test_empty_digest_is_a_report_not_an_error() -> None:
    rendered = render_markdown(empty_digest("zh"))
    assert rendered.splitlines()[0] == "# 每日更新报告（2026-02-08）"
    assert "该时间段内没有提交。" in rendered
    assert "> 本日共 0 个提交 | 🔴高 0 | 🟡中 0 | 🟢低 0" in rendered
    assert "目录" not in rendered and "|----" not in rendered


def test_many_repos_share_one_title_with_unique_anchors() -> None:
    other = _digest(_item(_analysis(sha="00248d8" + "f" * 33), repo="o/r"), repo="o/r")
    rendered = render_markdown_many([reference_digest("en"), other])
    assert rendered.count("# Daily update report (2026-02-08)") == 1
    assert "## sgl-project/sglang" in rendered and "## o/r" in rendered
    ids = re.findall(r'<a id="([^"]+)"></a>', rendered)
    assert len(ids) == len(set(ids)) == 10
    assert "00248d8-1" in ids
    fragments = {href[1:] for href in _links(rendered) if href.startswith("#")}
    assert fragments <= _anchor_targets(rendered)
    with pytest.raises(ValueError):
        render_markdown_many([])


def test_commit_details_show_everything_for_any_importance() -> None:
    digest = reference_digest("zh")
    low = digest.by_importance(Importance.LOW)[0]
    rendered = render_commit_markdown(low, tz="Asia/Shanghai")
    assert rendered.startswith("### Fix TRT-LLM MLA backend")
    assert "**作者**：debo3 | **提交时间**：2026-02-08 23:11:16" in rendered
    assert "**🎯 影响范围**：" in rendered
    high = digest.by_importance(Importance.HIGH)[0]
    full = render_commit_markdown(high.analysis, "en", repo="sgl-project/sglang")
    assert full.startswith("### 00248d8\n")
    # English labels around the (Chinese) analysis text, the recommendations as a table.
    assert "### 🔍 Technical insights" in full and "| Area | Recommendation |" in full
    assert "| **代码安全** |" in full
    assert f"{REPO_URL}/commit/{high.commit.sha}" in full


def test_links_never_leave_the_repo_even_with_a_bad_repo_url() -> None:
    item = _item(_analysis(), title="[x](https://evil.example) https://evil.example")
    rendered = render_markdown(_digest(item, repo_url="https://ghe.example.com/o/r"))
    hrefs = [h for h in _links(rendered) if not h.startswith("#")]
    assert hrefs and all(h.startswith("https://ghe.example.com/o/r/") for h in hrefs)
    hostile = render_markdown(_digest(item, repo_url="javascript:alert(1)//"))
    assert [h for h in _links(hostile) if not h.startswith("#")] == []


# --- property tests: untrusted text never changes the structure ------------------------------

NASTY = (
    "<script>alert(1)</script>",
    "<!channel>",
    "<@U123>",
    "<!here|here>",
    "|",
    "||",
    "\n",
    "\r\n",
    "\r",
    "# ",
    "\n# h\n",
    "## ",
    "[x](http://evil.example)",
    "https://evil.example/p",
    "www.evil.example",
    "a@evil.example",
    "![i](http://evil.example/i.png)",
    "`",
    "``",
    "```",
    "~~~",
    "\\",
    "&lt;",
    "&#60;",
    "---",
    "===",
    "1. ",
    "2) ",
    "- ",
    "+ ",
    "* ",
    "> ",
    "    ",
    "<br>",
    "*",
    "_",
    "[x]: http://evil.example",
    "[",
    "]",
    "](",
    "](http://evil.example)",
    "<a href='http://evil.example'>",
    "<http://evil.example>",
    "\u2028",
    "\t",
    "\x00",
    ":",
    "：",
    "• ",
    "&",
    "<",
    ">",
    "#",
)
untrusted = st.lists(st.one_of(st.sampled_from(NASTY), st.text(max_size=8)), max_size=8).map(
    "".join
)


def _twin(text: str) -> str:
    """A harmless stand-in with the same emptiness and area form as `text`."""
    if not lines(text):
        return ""
    return "x: y" if split_area(text)[0] else "x"


def _property_digest(texts: list[str], twin: bool) -> Digest:
    t = [(_twin(x) if twin else x) for x in texts]
    insights = Insights(**{name: (t[i] or None) for i, name in enumerate(Insights.model_fields)})
    items = []
    for index, importance in enumerate(Importance):
        analysis = CommitAnalysis(
            sha=f"{index + 1}" * 40,
            change_type=ChangeType.FEATURE,
            importance=importance,
            summary=t[6],
            scope=(t[7], t[8]),
            insights=insights,
            risks=(t[9], t[10]),
            recommendations=(t[11],) if index else (t[11], t[12]),
            provenance=AnalysisProvenance(analyzer="llm"),
        )
        items.append(_item(analysis, title=t[13 + index], author=t[16 + index]))
    digest = _digest(*items, repo_url="https://github.com/o/r")
    return digest.model_copy(update={"overview": t[19] or None})


def _block_shape(markdown: str) -> list[tuple[str, str, int]]:
    return [(t.type, t.tag, t.level) for t in _MD.parse(markdown) if t.type != "inline"]


ALLOWED_TAGS = {
    "h1",
    "h2",
    "h3",
    "h4",
    "p",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "ul",
    "ol",
    "li",
    "a",
    "strong",
    "em",
    "code",
    "blockquote",
    "hr",
    "br",
    "s",
}
LINKISH = re.compile(r"https?://|www\.|[\w.+-]+@[\w-]+\.[\w-]+", re.IGNORECASE)


def _unescaped_pipes(row: str) -> int:
    return len(re.findall(r"(?<!\\)(?:\\\\)*\|", row))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(untrusted, min_size=20, max_size=20))
def test_untrusted_text_never_changes_structure_links_or_tags(texts: list[str]) -> None:
    rendered = render_markdown(_property_digest(texts, twin=False))
    reference = render_markdown(_property_digest(texts, twin=True))
    # Same blocks as the harmless twin: no extra headings, lists, tables, rows, quotes or code.
    assert _block_shape(rendered) == _block_shape(reference)
    # Table rows keep their column count (unescaped pipes per row, as GFM splits them).
    table_rows = [row for row in rendered.splitlines() if row.startswith("| ")]
    twin_rows = [row for row in reference.splitlines() if row.startswith("| ")]
    assert [_unescaped_pipes(r) for r in table_rows] == [_unescaped_pipes(r) for r in twin_rows]
    # Links only to the repo's pages or in-document anchors; no images.
    for href in _links(rendered):
        assert href.startswith(("#", "https://github.com/o/r/")), href
    tokens = _MD.parse(rendered)
    children = [c for t in tokens for c in t.children or []]
    assert not any(c.type == "image" for c in children)
    # Nothing a GFM renderer would autolink is left in plain text.
    for child in children:
        if child.type == "text":
            assert not LINKISH.search(child.content), child.content
        if child.type == "html_inline":
            assert re.fullmatch(r'<br>|<a id="[0-9a-f]{7}(-\d+)?">|</a>', child.content)
    # Rendered HTML contains only the tags we emit: never <script>, <!channel>, <@U…>.
    html = _MD.render(rendered)
    for name in re.findall(r"</?([^\s>/]+)", html):
        assert name in ALLOWED_TAGS, name
    assert "<!" not in html and "<@" not in html


def test_alerted_commits_are_marked_after_their_links() -> None:
    report = render_markdown(alerted_digest("zh"))
    assert "[查看提交](" in report and report.count("🔔 已提醒") == 2
    high_links = next(line for line in report.splitlines() if "00248d8" in line and "SHA" in line)
    assert high_links.endswith(" | 🔔 已提醒 10:47")
    assert "🔔 已提醒 02-09 09:00" in report
    item = alerted_digest("en").items[0]
    details = render_commit_markdown(item, "en", tz="Asia/Shanghai")
    assert details.splitlines()[1].endswith(" | 🔔 alerted 10:47  ")
