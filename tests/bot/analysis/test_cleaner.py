"""The input cleaner: templates, bot blocks and trailers go; code, prose and meaning stay."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.analysis.cleaner import clean_text, commit_text, drop_repeated
from bot.models import Commit, PullRequest
from tests.data.real_commits import message_of

# flashinfer's PR template as squash merges copy it into commit bodies (750dbfd, 2026-08-14).
FLASHINFER_BODY = message_of("750dbfd54267384b36c6cfd85ee1e01ce5c30ddd").split("\n", 1)[1]


def test_the_flashinfer_template_and_bot_block_are_gone_and_the_author_text_stays() -> None:
    cleaned = clean_text(FLASHINFER_BODY)
    for noise in (
        "<!--",
        "📌 Description",
        "Related Issues",
        "Pull Request Checklist",
        "Thank you for contributing",
        "please make sure the following items are complete",
        "- [ ]",
        "pre-commit documentation",
        "Reviewer Notes",
        "Summary by CodeRabbit",
        "Co-authored-by",
        "---------",
    ):
        assert noise not in cleaned, noise
    # The author's list survives, each item rejoined onto one line.
    assert (
        "- Add vsa_sm120_blk64 backend to BlockSparseAttentionWrapper (SM120/SM121) supporting "
        "fp16/bf16, GQA, block_mask and BSR indptr/indices inputs"
    ) in cleaned
    assert (
        "- Move shared to_cute_tensor() to bsa_utils/cute_tensor_utils.py so SM120 can" in cleaned
    )
    assert len(cleaned) < len(FLASHINFER_BODY) / 2


def test_wrapped_prose_is_rejoined_into_whole_sentences() -> None:
    body = (
        "This fixes illegal memory access failures on SM 107 by\n"
        "setting the cluster size to one when the kernel is\n"
        "launched with fewer than two CTAs.\n\n"
        "修复了在 SM107 上的\n越界访问。"
    )
    assert clean_text(body) == (
        "This fixes illegal memory access failures on SM 107 by setting the cluster size to one "
        "when the kernel is launched with fewer than two CTAs.\n\n修复了在 SM107 上的越界访问。"
    )


def test_code_blocks_tables_and_headings_of_content_are_kept() -> None:
    body = (
        "## Kernel design\n"
        "A pipelined\nimplementation.\n\n"
        "```bash\npython bench.py \\\n    --batch-size 1\n- [ ] not a checkbox here\n```\n\n"
        "| B | before | after |\n|---|---|---|\n| 1 | 2.75 | 2.37 |\n\n"
        "    indented_code(x)\n    more_code(y)\n"
    )
    cleaned = clean_text(body)
    assert "## Kernel design" in cleaned  # a heading of the author's own
    assert "A pipelined implementation." in cleaned
    assert (
        "```bash\npython bench.py \\\n    --batch-size 1\n- [ ] not a checkbox here\n```" in cleaned
    )
    assert "| 1 | 2.75 | 2.37 |" in cleaned
    assert "    indented_code(x)\n    more_code(y)" in cleaned


def test_trailers_bot_sections_and_squash_noise() -> None:
    body = (
        "Adds the fast path.\n\n"
        "* Update kernel.cu\n* address review comments\n* fix lint\n* Use the new scheduler\n\n"
        "## Summary by Sourcery\n\nBot words.\n\n## Motivation\n\nFaster decode.\n\n"
        "Signed-off-by: A <a@example.com>\nCo-authored-by: B <b@example.com>\n"
    )
    assert clean_text(body) == "Adds the fast path.\n\n* Use the new scheduler\n\nFaster decode."


def test_an_authors_important_section_stays() -> None:
    body = "Adds the fast path.\n\n## Important\n\nRequires CUDA 12.8 drivers.\n"
    assert "Requires CUDA 12.8 drivers." in clean_text(body)


def test_ghstack_and_phabricator_squash_lines() -> None:
    """The shape of a ghstack PR squash-merged on GitHub (seen across pytorch/ao's history):
    every revision leaves "* Update" and the poison marker behind."""
    body = (
        "[INITIAL] Update\n\n* Update\n\n[ghstack-poisoned]\n\n* [UPDATE] Update\n\n"
        "* Export the kernel changes (base update)\n\n[ghstack-poisoned]\n\n"
        '* Update on "Fold the pass"\n\n'
        "Stack from [ghstack](https://github.com/ezyang/ghstack) (oldest at bottom):\n"
        "* __->__ #4646\n* #4645\n\n"
        "Summary: Builds the kernel handles under a lock.\n\n"
        "Differential Revision: D112958457\nReviewed By: someone\n"
        "Pull Request resolved: https://github.com/o/r/pull/4646\n"
    )
    assert clean_text(body) == "Builds the kernel handles under a lock."


def test_a_pr_body_repeating_the_commit_body_is_dropped() -> None:
    body = "Adds X.\n\nDetails of X that matter."
    commit = Commit(
        repo="o/r",
        sha="a" * 40,
        title="feat: X (#5)",
        message=f"feat: X (#5)\n\n{body}",
        author="dev",
        committed_at=datetime(2026, 8, 14, tzinfo=UTC),
        pr=PullRequest(number=5, title="feat: X", body=body + "\n\n<!-- template -->\n- [ ] tests"),
    )
    words = commit_text(commit)
    assert words.body == body
    assert words.pr_body == "" and words.pr_title == ""
    assert drop_repeated(body, "Adds X.\n\nA new remark.") == "A new remark."


# -- properties --------------------------------------------------------------------------------

_lines = st.sampled_from(
    [
        "plain words here",
        "wrapped line that goes",
        "on and on",
        "- [ ] a task",
        "- [x] done",
        "* Update foo.py",
        "## 📌 Description",
        "## Performance numbers",
        "<!-- hidden -->",
        "<!-- open",
        "still hidden -->",
        "Co-authored-by: x <y>",
        "---------",
        "",
        "    indented code",
        "| a | b |",
        "> quoted",
        "中文说明第一行",
        "继续说明",
        "Thank you for contributing to X!",
        "<details><summary>Logs</summary>",
        "</details>",
        "![img](https://x/y.png)",
        "<!-- This is an auto-generated comment: release notes by coderabbit.ai -->",
        "<!-- end of auto-generated comment: release notes by coderabbit.ai -->",
    ]
)
_blocks = st.lists(
    st.one_of(
        _lines,
        st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40),
        st.builds(lambda code: f"```\n{code}\n```", st.sampled_from(["x = 1", "- [ ] kept", ""])),
    ),
    max_size=30,
)
_FENCED = re.compile(r"^```\n(.*?)\n```$", re.M | re.S)


@settings(max_examples=300, deadline=None)
@given(_blocks)
def test_idempotent_never_longer_and_code_blocks_survive(blocks: list[str]) -> None:
    text = "\n".join(blocks)
    cleaned = clean_text(text)
    assert clean_text(cleaned) == cleaned
    assert len(cleaned) <= len(text)
    for block in blocks:
        if (
            block.startswith("```\n")
            and block.endswith("\n```")
            and text.count("```") == sum(b.count("```") for b in blocks if b.startswith("```"))
        ):
            assert block in cleaned


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_arbitrary_text_is_handled(text: str) -> None:
    cleaned = clean_text(text)
    assert clean_text(cleaned) == cleaned
    assert len(cleaned) <= len(text)
    assert "<!--" not in cleaned or "```" in text
