"""Path kinds and the bounded footprint of a commit."""

from __future__ import annotations

import pytest

from bot.analysis.footprint import (
    PathKind,
    is_hub_module,
    is_migration,
    is_platform_file,
    is_runtime_manifest,
    measure,
    path_kind,
)
from bot.analysis.heuristic_rules import PATCH_SCAN_FILE_CHARS
from bot.models import FileChange
from tests.data.heuristic_cases import make_commit


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("python/sglang/srt/models/llama.py", PathKind.CORE),
        ("python/sglang/multimodal_gen/test/server/ascend/perf_baselines_npu.json", PathKind.TEST),
        ("test/srt/test_srt_endpoint.py", PathKind.TEST),
        ("pkg/foo_test.go", PathKind.TEST),
        ("web/src/app.spec.ts", PathKind.TEST),
        ("conftest.py", PathKind.TEST),
        (".github/workflows/execute-notebook.yml", PathKind.CI),
        ("scripts/ci/npu_ci_install_dependency.sh", PathKind.CI),
        (".pre-commit-config.yaml", PathKind.CI),
        ("docs/platforms/ascend_npu.md", PathKind.DOCS),
        ("README.md", PathKind.DOCS),
        ("LICENSE", PathKind.DOCS),
        ("python/sglang/srt/license_check.py", PathKind.CORE),
        ("python/pyproject_npu.toml", PathKind.BUILD),
        ("docker/npu.Dockerfile", PathKind.BUILD),
        ("CMakeLists.txt", PathKind.BUILD),
        ("requirements-dev.txt", PathKind.BUILD),
        ("uv.lock", PathKind.LOCK),
        ("web/package-lock.json", PathKind.LOCK),
        ("sgl-kernel/3rdparty/cutlass/include/a.hpp", PathKind.VENDORED),
        ("proto/api_pb2.py", PathKind.VENDORED),
        ("benchmark/kernels/bench_moe.py", PathKind.AUXILIARY),
        ("examples/runtime/openai_vision.py", PathKind.AUXILIARY),
    ],
)
def test_path_kind(path: str, kind: PathKind) -> None:
    assert path_kind(path) is kind


def test_path_predicates() -> None:
    assert is_runtime_manifest("python/pyproject.toml")
    assert is_runtime_manifest("python/pyproject_npu.toml")
    assert is_runtime_manifest("requirements.txt")
    assert not is_runtime_manifest("requirements-dev.txt")
    assert not is_runtime_manifest("docs/requirements.txt")
    assert not is_runtime_manifest("Dockerfile")
    assert is_migration("migrations/versions/20260208_add.py")
    assert is_migration("db/schema_v2.sql")
    assert not is_migration("app/models/user.py")
    assert is_hub_module("python/sglang/srt/model_executor/model_runner.py")
    assert not is_hub_module("python/sglang/srt/layers/attention/flashinfer_backend.py")
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


def test_removed_public_definitions() -> None:
    moved = (
        _patched("a.py", "-def helper(x):\n-    return x\n-class Thing:\n-def _private():\n"),
        _patched("b.py", "+def helper(x):\n+    return x\n"),
        _patched("c.ts", "-export function render(a) {\n"),
        _patched("d.go", "-func (s *Server) Serve() error {\n-func internal() {}\n"),
    )
    assert measure(make_commit("x", moved)).removed_public == ("Serve", "Thing", "render")
    too_big = _patched("e.py", "-def big():\n" + "+#\n" * PATCH_SCAN_FILE_CHARS)
    # One core patch beyond the cap: the scan is incomplete, so nothing is claimed.
    assert measure(make_commit("x", (*moved, too_big))).removed_public == ()
