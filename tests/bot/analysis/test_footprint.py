"""The bounded footprint of a commit: kinds, sizes, hub/migration/platform files."""

from __future__ import annotations

from bot.analysis.footprint import is_migration, is_platform_file, measure
from bot.analysis.paths import PathKind
from bot.models import FileChange
from tests.data.heuristic_cases import make_commit


def test_path_predicates() -> None:
    assert is_migration("migrations/versions/20260208_add.py")
    assert is_migration("db/schema_v2.sql")
    assert not is_migration("app/models/user.py")
    assert is_platform_file("python/sglang/multimodal_gen/runtime/platforms/npu.py")
    assert is_platform_file("python/sglang/srt/layers/attention/flashmla_backend.py")
    assert not is_platform_file("python/sglang/srt/models/llama.py")


def test_measure_counts_kinds_and_core_lines() -> None:
    commit = make_commit(
        "x",
        [
            ("python/pkg/a.py", 10, 5),
            ("python/pkg/b.py", 0, 0, "renamed", "python/pkg/old_b.py"),
            ("tests/test_a.py", 7, 0),
            ("uv.lock", 100, 90),
            ("python/pkg/platforms/new.py", 50, 0, "added"),
        ],
    )
    footprint = measure(commit)
    assert footprint.kinds == {PathKind.CORE: 3, PathKind.LOCK: 1, PathKind.TEST: 1}
    assert (footprint.core_files, footprint.core_lines, footprint.renamed_core) == (2, 65, 1)
    assert footprint.added_platform_files == ("python/pkg/platforms/new.py",)
    assert footprint.only is None and footprint.touches_tests
    assert footprint.lines == 262
    assert measure(make_commit("x", [("uv.lock", 1, 1), ("setup.py", 1, 0)])).only is PathKind.BUILD


def _patched(path: str, patch: str) -> FileChange:
    plus = sum(1 for line in patch.splitlines() if line.startswith("+"))
    minus = sum(1 for line in patch.splitlines() if line.startswith("-"))
    return FileChange(path=path, additions=plus, deletions=minus, patch=patch)


def test_whitespace_only_respects_indentation_syntax() -> None:
    spacing = "-x=1\n+x = 1\n"
    assert measure(make_commit("x", (_patched("a.c", spacing),))).whitespace_only
    assert measure(make_commit("x", (_patched("a.py", spacing),))).whitespace_only
    indent = "-    return x\n+return x\n"
    assert measure(make_commit("x", (_patched("a.c", indent),))).whitespace_only
    assert not measure(make_commit("x", (_patched("a.py", indent),))).whitespace_only
    assert not measure(make_commit("x", (_patched("a.py", "-x = 1\n+x = 2\n"),))).whitespace_only
    no_patch = FileChange(path="b.py", additions=1, deletions=1)
    assert not measure(make_commit("x", (_patched("a.c", spacing), no_patch))).whitespace_only
