"""The heuristic's risks, recommendations and insights: specific, titled, from the facts."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime

import pytest

from bot.analysis.base import AnalysisContext
from bot.analysis.heuristic import HeuristicAnalyzer
from bot.models import Commit, CommitAnalysis, FileChange, Language
from tests.data.real_commits import load, shas

ANALYZER = HeuristicAnalyzer()
CJK = re.compile(r"[\u4e00-\u9fff]")


def analyze(commit: Commit, language: Language = "en") -> CommitAnalysis:
    return ANALYZER.analyze_sync(commit, AnalysisContext(language=language))


def commit_of(title: str, *files: FileChange) -> Commit:
    return Commit(
        repo="o/r",
        sha="c" * 40,
        title=title,
        message=title,
        author="dev",
        committed_at=datetime(2026, 8, 14, tzinfo=UTC),
        files=files,
    )


def patched(path: str, patch: str) -> FileChange:
    return FileChange(path=path, additions=2, deletions=2, patch=patch)


def test_a_default_on_toggle_gets_a_titled_risk_and_its_off_switch() -> None:
    en = analyze(load("a9e03bf2f5fe"))
    assert any(
        r.startswith(
            "New path on by default: the new environment variable "
            '`FLASHINFER_KDA_T1_FAST_PATH` defaults to `"1"`'
        )
        for r in en.risks
    )
    assert any(
        r.startswith(
            "Fallback switch: If results or speed regress, set "
            '`FLASHINFER_KDA_T1_FAST_PATH` to `"0"`'
        )
        for r in en.recommendations
    )
    zh = analyze(load("a9e03bf2f5fe"), "zh")
    assert any(
        r.startswith("默认开启的新路径：新增环境变量 `FLASHINFER_KDA_T1_FAST_PATH`")
        for r in zh.risks
    )


def test_removed_exports_and_renames_name_what_breaks_for_whom() -> None:
    analysis = analyze(load("750dbfd54267"))
    (api,) = [r for r in analysis.risks if r.startswith("Public API removed:")]
    assert "`bsa_attn_blk64_fwd`" in api and "`bsa_attn_fwd`" in api
    assert "importing them from `flashinfer.cute_dsl.sparse` breaks" in api
    assert any(r.startswith("Compatibility: Keep aliases for") for r in analysis.recommendations)
    assert any(r.startswith("Modules moved: 20 file(s) moved") for r in analysis.risks)


def test_new_validation_quotes_the_check_and_parameters_with_defaults_are_compatible() -> None:
    analysis = analyze(load("d898ed046b6d"))
    assert any(
        r.startswith("New validation:") and "ValueError '{name} must be a CPU tensor'" in r
        for r in analysis.risks
    )
    assert analysis.insights.compatibility == (
        "• `trtllm_ragged_attention_deepseek` gains `q_seq_lens_cpu=None`, `kv_seq_lens_cpu=None`, "
        "with defaults: existing calls keep working."
    )


def test_a_changed_compile_key_and_a_kernel_correctness_fix() -> None:
    keyed = analyze(load("ed6c709849fe"))
    assert keyed.risks[0].startswith(
        "Cache key changed: `_get_compiled_mtp_kernel` keys its cache differently "
        "(`cache_intermediate_states`)"
    )
    fix = analyze(load("065795ea4179"), "zh")
    assert fix.risks == (
        "输出变化：`csrc/xqa/mha_sm90.cu` 中的修复会改变其所修正情形下的输出，"
        "此前记录的精度基线可能随之变化。",
    )
    assert fix.recommendations == ("精度验证：重新运行覆盖 `csrc/xqa/mha_sm90.cu` 的精度测试。",)


def test_a_resource_fix_is_checked_for_stability_not_accuracy() -> None:
    """829f03a releases scratch workspaces that ran models out of memory: outputs do not
    change, memory use does."""
    leak = analyze(load("829f03afbed9"))
    assert [r.split(":")[0] for r in leak.risks] == ["Runtime behaviour"]
    assert leak.recommendations[0].startswith("Stability: Re-run the long-running")
    assert not any("accuracy" in text.lower() for text in (*leak.risks, *leak.recommendations))


def test_a_removed_dependency_is_not_to_be_installed() -> None:
    dropped = analyze(
        commit_of(
            "build: drop numpy",
            patched("pyproject.toml", '@@ -10,3 +10,2 @@ dependencies = [\n-    "numpy>=1.26",\n'),
            patched("pkg/core.py", "@@ -1 +1 @@\n-x = 1\n+x = 2"),
        )
    )
    assert any(r.startswith("Dependencies changed: `-numpy`") for r in dropped.risks)
    assert not any("Install" in text for text in dropped.recommendations)


def test_dependencies_only_when_versions_move_not_when_package_data_is_renamed() -> None:
    bump = analyze(
        commit_of(
            "build: require newer torch",
            patched(
                "pyproject.toml",
                '@@ -10,3 +10,3 @@ dependencies = [\n-    "torch>=2.4",\n+    "torch>=2.5",\n',
            ),
            patched("pkg/core.py", "@@ -1 +1 @@\n-x = 1\n+x = 2"),
        )
    )
    assert any(r.startswith("Dependencies changed: `torch >=2.4 → >=2.5`") for r in bump.risks)
    data = analyze(
        commit_of(
            "build: rename package data",
            patched(
                "pyproject.toml", '@@ -40,3 +40,3 @@\n-pkg = ["data/*.so"]\n+pkg = ["lib/*.so"]\n'
            ),
            patched("pkg/core.py", "@@ -1 +1 @@\n-x = 1\n+x = 2"),
        )
    )
    assert not any("ependenc" in text for text in (*data.risks, *data.recommendations))


def test_signature_notes_for_python_and_positional_languages() -> None:
    python = analyze(
        commit_of(
            "refactor(api): reshape plan()",
            patched(
                "pkg/api.py",
                "@@ -1,2 +1,2 @@\n-def plan(q, causal=False, legacy=None):\n"
                "+def plan(q, mode, causal=True):\n     pass",
            ),
        )
    )
    texts = " ".join(python.risks)
    assert "Parameters removed: `plan` no longer accepts `legacy`" in texts
    assert "New required parameters: `plan` now requires `mode`" in texts
    assert "Default changed: `plan(causal)` now defaults to `True` instead of `False`" in texts
    cxx = analyze(
        commit_of(
            "refactor: rename parameters",
            patched(
                "include/pkg/math.h",
                "@@ -1,2 +1,2 @@\n-int roundUp(int a, int b);\n"
                "+int roundUp(int numerator, int denominator);\n",
            ),
        )
    )
    assert not any("arameter" in r for r in cxx.risks)  # positional callers do not notice


def test_trivial_commits_get_no_notes_and_every_note_names_its_subject() -> None:
    for sha in ("23382fd6ddce", "b2d02361301f", "89a259218ac1", "9a7c67d37579"):
        analysis = analyze(load(sha))
        assert analysis.risks == () and analysis.recommendations == () and analysis.insights.empty
    for sha in shas():
        for text in (*analyze(load(sha)).risks, *analyze(load(sha)).recommendations):
            assert "`" in text or re.search(r"\d", text), text


@pytest.mark.parametrize("language", ["zh", "en"])
def test_no_generated_sentence_repeats_across_the_day_unless_it_states_a_fact(
    language: Language,
) -> None:
    """Over a day of real commits, a risk or recommendation appears in at most three commits,
    and a repeated one names the fact it repeats (a name in backticks)."""
    counts: Counter[str] = Counter()
    for sha in shas():
        analysis = analyze(load(sha), language)
        counts.update(set(analysis.risks) | set(analysis.recommendations))
        for text in (*analysis.risks, *analysis.recommendations):
            if language == "zh":
                assert CJK.search(text), text
            else:
                assert not CJK.search(text), text
    for sentence, count in counts.items():
        assert count <= 3, sentence
        if count > 1:
            assert "`" in sentence, sentence
