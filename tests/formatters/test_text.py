"""Tests for formatters.text: truncation, title shortening, escaping primitives, slugs, links."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from formatters.text import (
    AnchorRegistry,
    commit_url,
    github_slug,
    lines,
    md_cell,
    md_heading,
    md_inline,
    md_line_start,
    md_path,
    pull_url,
    repo_web_url,
    shorten_title,
    split_area,
    truncate,
)

_MD = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def _inline_children(markdown: str) -> list[tuple[str, str]]:
    tokens = _MD.parse(markdown)
    return [(c.type, c.content) for t in tokens for c in (t.children or [])]


@given(st.text(), st.integers(min_value=0, max_value=300))
def test_truncate_never_exceeds_limit_and_keeps_a_prefix(text: str, limit: int) -> None:
    result = truncate(text, limit)
    assert len(result) <= limit
    if len(text) <= limit:
        assert result == text
    elif limit > 1:
        assert result.endswith("…")
        assert text.startswith(result[:-1].rstrip())


def test_shorten_title_matches_the_reference_toc() -> None:
    assert (
        shorten_title(
            "[diffusion] platform: support WAN/FLUX/Qwen-Image/Qwen-Image-edit on Ascend (#13662)"
        )
        == "[diffusion] platform: support WAN/FLUX/Qwen-Image/Qwen-Im..."
    )
    assert (
        shorten_title("fix: fix NVFP4 Kimi-K2.5 weight mapping and exclude list (#18370)")
        == "fix: fix NVFP4 Kimi-K2.5 weight mapping and exclude list ..."
    )
    kept = "[diffusion] feat: support efficient sequence shard (#18161)"
    assert shorten_title(kept) == kept


def test_split_area_recognises_full_width_and_ascii_colons() -> None:
    assert split_area("代码安全：加保护") == ("代码安全", "加保护")
    assert split_area("Code safety: guard it") == ("Code safety", "guard it")
    assert split_area("see https://x.y/z for details")[0] is None
    assert split_area("no area here")[0] is None
    assert split_area("`a: b` is code")[0] is None


def test_lines_splits_only_on_markdown_line_endings() -> None:
    assert lines("a\r\nb\rc\n\n d ") == ["a", "b", "c", "d"]
    assert lines("\x00\x01") == []


def test_inline_escapes_html_links_and_pipes() -> None:
    escaped = md_inline("<script>alert(1)</script> [x](http://evil.com) a|b <!channel> <@U1>")
    kinds = {kind for kind, _ in _inline_children(escaped)}
    assert "html_inline" not in kinds
    assert "link_open" not in kinds
    assert "\\|" in escaped
    assert "&lt;!channel&gt;" in escaped and "&lt;@U1&gt;" in escaped


def test_inline_keeps_code_spans_and_wraps_bare_urls() -> None:
    assert md_inline("use `torch.cuda.*` now") == "use `torch.cuda.*` now"
    assert md_inline("see https://evil.example/x") == "see `https://evil.example/x`"
    assert md_inline("mail a@b.example") == "mail `a@b.example`"
    # A code span with a pipe would split a table cell, so it is escaped instead.
    assert md_inline("`a|b`") == "\\`a\\|b\\`"


def test_inline_keeps_reference_brackets_unless_they_could_link() -> None:
    assert md_inline("[diffusion] feat: x") == "[diffusion] feat: x"
    assert md_inline("[a](b)") == "\\[a\\](b)"
    assert md_inline("[diffusion] x", link_text=True) == "\\[diffusion\\] x"


def test_intraword_underscores_stay_readable() -> None:
    assert md_inline("server_args.kv_cache_dtype") == "server_args.kv_cache_dtype"
    assert md_inline("_emph_") == "\\_emph\\_"


def test_line_start_escapes_block_markers() -> None:
    for text in ("# h", "- item", "+ item", "1. item", "2) item", "===", "[x]: http://e"):
        rendered = _MD.parse(md_line_start(text))
        assert [t.type for t in rendered] == ["paragraph_open", "inline", "paragraph_close"], text


def test_heading_keeps_trailing_hashes() -> None:
    tokens = _MD.parse("### " + md_heading("Fix C #"))
    assert tokens[1].children is not None
    assert "".join(c.content for c in tokens[1].children) == "Fix C #"


def test_cell_joins_lines_with_br_and_never_splits() -> None:
    cell = md_cell("a | b\n• c")
    assert cell == "a \\| b<br>• c"
    assert md_cell("") == " "


def test_path_becomes_code_only_when_bare() -> None:
    assert md_path("python/sglang/x.py") == "`python/sglang/x.py`"
    assert md_path("# not a path") == "\\# not a path"


def test_github_slug_and_duplicates() -> None:
    assert github_slug("📊 统计摘要") == "-统计摘要"
    assert github_slug("🔴 高重要度变更 (1)") == "-高重要度变更-1"
    assert github_slug("sgl-project/sglang") == "sgl-projectsglang"
    registry = AnchorRegistry()
    assert [registry.heading("A b") for _ in range(3)] == ["a-b", "a-b-1", "a-b-2"]


def test_links_only_from_a_plain_repo_address() -> None:
    base = repo_web_url("sgl-project/sglang")
    assert base == "https://github.com/sgl-project/sglang"
    assert commit_url(base, "00248D8") == f"{base}/commit/00248d8"
    assert commit_url(base, "not-a-sha") is None
    assert pull_url(base, 12) == f"{base}/pull/12"
    assert pull_url(base, 0) is None
    assert repo_web_url("x/y", "https://ghe.example.com/org/repo/") == (
        "https://ghe.example.com/org/repo"
    )
    assert repo_web_url("x/y", "javascript:alert(1)") is None
    assert repo_web_url("x/y", "https://e.com/a b") is None
    assert repo_web_url("../../etc") is None
