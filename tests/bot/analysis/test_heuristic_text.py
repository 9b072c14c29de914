"""Heuristic summaries: the author's whole sentences, never template text, never mid-sentence."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.analysis.base import AnalysisContext
from bot.analysis.cleaner import clean_text
from bot.analysis.heuristic import HeuristicAnalyzer
from bot.analysis.heuristic_text import SUMMARY_MAX_CHARS, fold, lead_sentences, split_sentences
from bot.models import Commit, FileChange, Language, PullRequest
from tests.data.real_commits import load, shas

ANALYZER = HeuristicAnalyzer()
TEMPLATE = re.compile(
    r"<!--|- \[[ xX]\]|📌|Pull Request Checklist|Thank you for contributing|please make sure"
    r"|Pre-commit Checks|Reviewer Notes|Summary by CodeRabbit|Co-authored-by|^#",
    re.IGNORECASE | re.MULTILINE,
)
ENDS = (".", "!", "?", "。", "！", "？")


def summary(commit: Commit, language: Language = "en") -> str:
    return ANALYZER.analyze_sync(commit, AnalysisContext(language=language)).summary


def test_lead_sentences_follow_the_authors_boundaries() -> None:
    assert (
        lead_sentences(
            "This fixes illegal memory access failures on SM 107 by\n"
            "setting the cluster size to one."
        )
        == "This fixes illegal memory access failures on SM 107 by setting the cluster size to one."
    )
    assert lead_sentences("(does not impact other archs)\n\nThe clamp used the wrong index.") == (
        "The clamp used the wrong index."
    )
    assert lead_sentences("Make the pool dimension dynamic:\n\n- a\n- b") == (
        "Make the pool dimension dynamic."
    )
    assert (
        lead_sentences("Seen in https://github.com/vllm-project/vllm/issues/42426 under load.")
        == "Seen in vllm-project/vllm#42426 under load."
    )
    # pytorch/ao 4802: a sentence that pointed at a foreign link does not stand without it.
    assert (
        lead_sentences(
            "The link 404'd. Moving to the correct one at https://docs.pytorch.org/ao/main/x.html"
        )
        == "The link 404'd."
    )
    # Emphasis goes in pairs; an underscore inside or before a name stays.
    assert lead_sentences("Makes **the fast path** the _default_ for `_private_helper` now.") == (
        "Makes the fast path the default for `_private_helper` now."
    )
    # flashinfer 02647e8: a sentence of issue references says nothing about the change.
    assert lead_sentences(
        "Fix Fixes #4486.\n- Exclude tileN=192 when per-token scaling is on."
    ) == ("Exclude tileN=192 when per-token scaling is on.")
    assert lead_sentences("Related to o/r#12 and #13. The kernel clamps the index.") == (
        "The kernel clamps the index."
    )
    assert lead_sentences("word " * 100) is None  # one sentence too long: skipped, never cut
    assert lead_sentences("Same as title", title="Same as title") is None


def test_sentences_end_where_the_author_ended_them() -> None:
    # flashinfer 4b964ec: an ellipsis inside a quoted error message is no sentence end.
    quoted = (
        'test_x (added in #3980) fails under plain pytest with "ValueError: ... environment '
        'variable RANK expected, but not set": its guard only skips when set. Fix: bootstrap.'
    )
    assert split_sentences(quoted) == [quoted[: quoted.index(" Fix:")], "Fix: bootstrap."]
    assert split_sentences("Adds e.g. FP8 support. Also fixes vs. the old path.") == [
        "Adds e.g. FP8 support.",
        "Also fixes vs. the old path.",
    ]
    assert split_sentences("Use x... then y. Ends with v1.2 here!") == [
        "Use x... then y.",
        "Ends with v1.2 here!",
    ]
    assert split_sentences("修复了越界访问。新增测试！") == ["修复了越界访问。", "新增测试！"]
    assert split_sentences("Works (see #12). Next") == ["Works (see #12).", "Next"]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list('ab. "…。!?e.gvs\n')), max_size=80))
def test_splitting_loses_nothing(line: str) -> None:
    def squeeze(text: str) -> str:
        return "".join(text.split())

    assert squeeze("".join(split_sentences(line))) == squeeze(line)
    assert all(piece == piece.strip() and piece for piece in split_sentences(line))


def test_real_summaries_are_whole_clean_and_do_not_repeat_type_or_title() -> None:
    for sha in shas():
        commit = load(sha)
        for language in ("en", "zh"):
            text = summary(commit, language)  # type: ignore[arg-type]
            assert text.endswith(ENDS), text
            assert not TEMPLATE.search(text), text
            assert commit.title.split(" (#")[0] not in text
            assert len(text) <= SUMMARY_MAX_CHARS


def test_chinese_summaries_write_chinese_and_quote_the_english() -> None:
    text = summary(load("750dbfd54267"), "zh")
    assert text.startswith("提交说明：“Add vsa_sm120_blk64 backend to BlockSparseAttentionWrapper")
    assert "”该提交不再导出 `bsa_attn_blk64_fwd`、`bsa_attn_fwd`" in text
    assert text.endswith("涉及 50 个文件（+2598/-283），主要在 `flashinfer/cute_dsl/sparse`。")


_sentences = st.sampled_from(
    [
        "Adds a fused decode kernel for long contexts.",
        "This keeps the old path for small batches.",
        "The cache key now includes the stride.",
        "修复了越界读取。",
    ]
)
_wrapped = _sentences.map(lambda s: s.replace(" for ", "\nfor ").replace(" the ", " the\n"))
_noise = st.sampled_from(
    [
        "<!-- .github/pull_request_template.md -->",
        "## 📌 Description",
        "## 🚀 Pull Request Checklist",
        "Thank you for contributing to X! Before we review your pull\nrequest, please make sure "
        "the following items are complete.",
        "- [ ] I have run the hooks",
        "- [x] Tests pass",
        "## Reviewer Notes",
        "<!-- This is an auto-generated comment: release notes by coderabbit.ai -->\n"
        "## Summary by CodeRabbit\n* New stuff\n"
        "<!-- end of auto-generated comment: release notes by coderabbit.ai -->",
        "Co-authored-by: A <a@b.c>",
        "---------",
        "```\ncode = 1\n```",
        "| a | b |",
    ]
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.one_of(_wrapped, _noise, st.text(max_size=60)), max_size=12),
    st.sampled_from(["en", "zh"]),
    st.booleans(),
)
def test_a_summary_never_ends_mid_sentence_nor_carries_template_text(
    parts: list[str], language: Language, as_pr: bool
) -> None:
    body = "\n\n".join(parts)
    commit = Commit(
        repo="o/r",
        sha="d" * 40,
        title="feat: something (#1)",
        message="feat: something (#1)" + ("" if as_pr else "\n\n" + body),
        author="dev",
        committed_at=datetime(2026, 8, 14, tzinfo=UTC),
        files=(FileChange(path="pkg/core.py", additions=3, deletions=1),),
        pr=PullRequest(number=1, title="feat: something", body=body) if as_pr else None,
    )
    text = summary(commit, language)
    assert text.endswith(ENDS)
    assert not TEMPLATE.search(text)
    lead = lead_sentences(clean_text(body), title=commit.title)
    if lead:
        flat = fold(clean_text(body))
        for sentence in re.split(r"(?<=[.!?])\s+|(?<=[。！？])", lead):
            core = sentence.rstrip(".。").strip()
            if core:
                position = flat.find(core)
                assert position >= 0, core
                after = flat[position + len(core) : position + len(core) + 1]
                assert after in ("", ".", "!", "?", "。", ":", " "), (core, after)
