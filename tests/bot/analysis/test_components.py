"""Scope from the component glob map or meaningful directories, and grounding of scope entries."""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.analysis.components import (
    MAX_SCOPE,
    ComponentMap,
    derive_scope,
    ground_scope,
    meaningful_prefix,
    normalize_candidate,
)
from bot.models import FileChange
from tests.data.heuristic_cases import make_commit

SRT = "python/sglang/srt"
COMPONENTS = {
    f"{SRT}/*": "SRT runtime",
    f"{SRT}/layers/quantization/*": "Quantization",
    f"{SRT}/layers/attention/*_backend.py": "Attention backends",
    "docs/": "Docs",
}


def test_most_specific_glob_wins() -> None:
    components = ComponentMap.compile(COMPONENTS)
    assert components.match(f"{SRT}/layers/quantization/fp8.py") == "Quantization"
    assert components.match(f"{SRT}/layers/attention/flashinfer_backend.py") == "Attention backends"
    assert components.match(f"{SRT}/layers/attention/utils.py") == "SRT runtime"
    assert components.match("docs/basic_usage/native_api.md") == "Docs"  # trailing "/" = subtree
    assert components.match("README.md") is None


def test_match_does_not_depend_on_dict_order() -> None:
    tied = {"a/*.py": "first", "a/b*": "second"}  # same literal length and glob length
    forward = ComponentMap.compile(tied)
    backward = ComponentMap.compile(dict(reversed(list(tied.items()))))
    assert forward.match("a/b.py") == backward.match("a/b.py") == "first"  # "a/*.py" < "a/b*"


def test_empty_or_blank_entries_are_ignored() -> None:
    components = ComponentMap.compile({"": "x", "a/*": "  ", "b/*": " B\n team "})
    assert components.match("a/z.py") is None
    assert components.match("b/z.py") == "B team"


def test_meaningful_prefix_collapses_layout_roots() -> None:
    path = f"{SRT}/layers/quantization/modelopt_quant.py"
    assert meaningful_prefix(path, 3) == f"{SRT}/layers/quantization"
    assert meaningful_prefix(path, 1) == SRT
    assert meaningful_prefix(".github/workflows/pr-test.yml", 3) == ".github/workflows"
    assert meaningful_prefix("src/pkg/mod/file.py", 1) == "src/pkg/mod"
    assert meaningful_prefix("packages/web/src/app.ts", 2) == "packages/web/src"
    assert meaningful_prefix("python/pyproject.toml", 3) == "python"
    assert meaningful_prefix("README.md", 3) == "README.md"
    assert meaningful_prefix("a//b.py", 3) == "a//b.py"  # odd paths are their own entry


def test_derive_scope_with_components_ranks_by_changed_lines() -> None:
    commit = make_commit(
        "x",
        [
            (f"{SRT}/layers/quantization/modelopt_quant.py", 30, 3),
            (f"{SRT}/models/kimi_k25.py", 11, 0),
            ("docs/a.md", 1, 0),
            ("scripts/tool.sh", 100, 0),
        ],
    )
    # The top-level directory keeps its slash: it cannot be taken for a component name.
    assert derive_scope(commit, COMPONENTS) == (
        "scripts/",
        "Quantization",
        "SRT runtime",
        "Docs",
    )


def test_top_level_directories_are_shown_with_their_slash() -> None:
    commit = make_commit("x", [("csrc/a.cu", 1, 0), ("csrc/b.cu", 1, 0), ("README.md", 1, 0)])
    assert ground_scope(["csrc", "csrc/", "`csrc/**`", "README.md"], commit, {}) == (
        "csrc/",
        "README.md",
    )


def test_derive_scope_lists_files_of_small_commits() -> None:
    commit = make_commit("x", [(f"{SRT}/a/b/c/d.py", 5, 0), (f"{SRT}/e.py", 9, 0)])
    assert derive_scope(commit, {}) == (f"{SRT}/e.py", f"{SRT}/a/b/c/d.py")


def test_derive_scope_shortens_prefixes_when_changes_are_scattered() -> None:
    files = [(f"pkg{i}/sub{j}/file.py", 10, 0) for i in range(4) for j in range(5)]
    commit = make_commit("x", files)
    assert derive_scope(commit, {}) == ("pkg0/", "pkg1/", "pkg2/", "pkg3/")
    flat = make_commit("x", [(f"python/pkg/m{i}/f.py", 10, 0) for i in range(50)])
    assert derive_scope(flat, {}) == ("python/pkg",)  # 50 equal modules: the package itself
    concentrated = make_commit("x", [*files, ("pkg9/hot/file.py", 5000, 0)])
    assert derive_scope(concentrated, {})[0] == "pkg9/hot"
    assert len(derive_scope(concentrated, {})) == MAX_SCOPE


def test_normalize_candidate() -> None:
    assert normalize_candidate("`python/sglang/srt/layers/*`") == "python/sglang/srt/layers"
    assert normalize_candidate(" ./docs/** ") == "docs"
    assert normalize_candidate('"a/b/"') == "a/b"
    assert normalize_candidate("/") == "/"


def test_ground_scope_keeps_only_what_exists() -> None:
    commit = make_commit(
        "x",
        (
            FileChange(path=f"{SRT}/layers/quantization/fp8.py", additions=1),
            FileChange(
                path=f"{SRT}/sampling/penalty.py",
                status="renamed",
                previous_path=f"{SRT}/penaltylib/penalty.py",
            ),
        ),
    )
    candidates = [
        f"`{SRT}/layers/*`",  # a directory, in a model's markup
        f"{SRT}/layers/quantization/fp8.py",  # the file
        "Quantization",  # a component that matches a file
        "Docs",  # a component that matches nothing here
        "python/sgl",  # not a whole path segment
        f"{SRT}/managers/scheduler.py",  # invented
        f"{SRT}/penaltylib",  # the old directory of a renamed file
        f"{SRT}/layers",  # duplicate after normalizing
        "the sampling module",  # prose
    ]
    assert ground_scope(candidates, commit, COMPONENTS) == (
        f"{SRT}/layers",
        f"{SRT}/layers/quantization/fp8.py",
        "Quantization",
        f"{SRT}/penaltylib",
    )
    assert ground_scope(candidates, commit, COMPONENTS, limit=2) == (
        f"{SRT}/layers",
        f"{SRT}/layers/quantization/fp8.py",
    )
    assert ground_scope(["x" * 500], make_commit("x", [("x" * 500, 1, 0)]), {}) == ()


_segment = st.text(alphabet=string.ascii_lowercase + "._-*", min_size=1, max_size=6)
_path = st.lists(_segment, min_size=1, max_size=5).map("/".join)


@settings(max_examples=200, deadline=None)
@given(
    paths=st.lists(_path, min_size=1, max_size=15),
    candidates=st.lists(st.text(max_size=40) | _path, max_size=12),
    globs=st.dictionaries(_path, st.sampled_from(["A", "B", "C"]), max_size=3),
)
def test_scope_is_always_grounded(
    paths: list[str], candidates: list[str], globs: dict[str, str]
) -> None:
    commit = make_commit("x", [(path, 1, 1) for path in paths])
    components = ComponentMap.compile(globs)
    allowed_names = {components.match(path) for path in paths} - {None}

    def ok(entry: str) -> bool:
        directory = entry.rstrip("/") + "/"  # top-level directories are shown as `pkg/`
        in_tree = any(path == entry or path.startswith(directory) for path in paths)
        return in_tree or entry in allowed_names

    grounded = ground_scope(candidates + paths, commit, globs)
    assert len(grounded) <= MAX_SCOPE and len(set(grounded)) == len(grounded)
    assert all(ok(entry) for entry in grounded)
    derived = derive_scope(commit, globs)
    assert 0 < len(derived) <= MAX_SCOPE
    assert all(ok(entry) for entry in derived)
    assert derive_scope(commit, globs) == derived
