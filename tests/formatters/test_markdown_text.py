"""formatters.markdown_text: inert Markdown escaping, GitHub anchors and TOC title shortening."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

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
from tests.formatters.digest_strategies import ATTACKS

_MD = MarkdownIt("commonmark").enable(["table", "strikethrough"])
PROPERTY = settings(max_examples=200, deadline=None)
BIDI_AND_ZERO_WIDTH = re.compile(
    r"[\u061c\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]"
)
hostile = st.lists(
    st.one_of(
        st.text(max_size=8),
        st.sampled_from(ATTACKS),
        st.sampled_from("\u202e\u2066\u200b\u200e\ufeff\u061c"),
    )
).map("".join)


def _inline_children(markdown: str) -> list[tuple[str, str]]:
    tokens = _MD.parse(markdown)
    return [(c.type, c.content) for t in tokens for c in (t.children or [])]


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


def test_inline_escapes_html_links_and_pipes() -> None:
    escaped = md_inline("<script>alert(1)</script> [x](http://evil.com) a|b <!channel> <@U1>")
    kinds = {kind for kind, _ in _inline_children(escaped)}
    assert "html_inline" not in kinds
    assert "link_open" not in kinds
    assert "\\|" in escaped
    assert "&lt;!channel&gt;" in escaped and "&lt;@U1&gt;" in escaped


def test_inline_keeps_code_spans_and_defangs_urls() -> None:
    assert md_inline("use `torch.cuda.*` now") == "use `torch.cuda.*` now"
    assert md_inline("see https://evil.example/x") == "see hxxps[:]//evil[.]example/x"
    assert md_inline("see `https://evil.example/x`") == "see `hxxps[:]//evil[.]example/x`"
    assert md_inline("www.evil.example or evil.example/x") == (
        "www[.]evil[.]example or evil[.]example/x"
    )
    assert md_path("evil.example/x") == "evil[.]example/x"
    assert md_code("https://x.io") == "`hxxps[:]//x[.]io`"
    assert md_inline("mail a@b.example awww.x") == "mail a@b[.]example awww[.]x"
    # A code span with a pipe would split a table cell, so it is escaped instead.
    assert md_inline("`a|b`") == "\\`a\\|b\\`"


def test_inline_keeps_reference_brackets_unless_they_could_link() -> None:
    assert md_inline("[diffusion] feat: x") == "[diffusion] feat: x"
    assert md_inline("[a](b)") == "\\[a\\](b)"
    assert md_inline("[diffusion] x", link_text=True) == "\\[diffusion\\] x"


def test_inline_drops_bidi_and_zero_width_controls() -> None:
    assert md_inline("fix \u202eevil\u202c\u200b x") == "fix evil x"


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


def test_code_is_inline_code_only_without_backtick_or_pipe() -> None:
    assert md_code("00248d8") == "`00248d8`"
    assert md_code("a|b") == "a\\|b"


def test_github_slug_and_duplicates() -> None:
    assert github_slug("📊 统计摘要") == "-统计摘要"
    assert github_slug("🔴 高重要度变更 (1)") == "-高重要度变更-1"
    assert github_slug("sgl-project/sglang") == "sgl-projectsglang"
    registry = AnchorRegistry()
    assert [registry.heading("A b") for _ in range(3)] == ["a-b", "a-b-1", "a-b-2"]


@PROPERTY
@given(hostile)
def test_escaped_markdown_is_one_inert_paragraph_without_controls(text: str) -> None:
    cell = md_cell(text).replace("<br>", " ")  # our own line breaks inside a table cell
    for escaped in (md_inline(text), md_line_start(text), cell, md_path(text)):
        assert not BIDI_AND_ZERO_WIDTH.search(escaped)
        kinds = {kind for kind, _ in _inline_children(escaped)}
        assert not kinds & {"html_inline", "link_open", "image"}, escaped
    for line in md_paragraph_lines(text):
        tokens = [t.type for t in _MD.parse(line)]
        assert tokens in ([], ["paragraph_open", "inline", "paragraph_close"]), line


@PROPERTY
@given(st.text(), st.integers(4, 120))
def test_shorten_title_never_exceeds_its_limit(title: str, limit: int) -> None:
    assert len(shorten_title(title, limit)) <= limit
