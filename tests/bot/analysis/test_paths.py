"""Path kinds, runtime manifests and per-repository path roles."""

from __future__ import annotations

import pytest

from bot.analysis.paths import DEFAULT_ROLES, PathKind, PathRoles, is_runtime_manifest, path_kind


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


def test_runtime_manifests() -> None:
    assert is_runtime_manifest("python/pyproject.toml")
    assert is_runtime_manifest("python/pyproject_npu.toml")
    assert is_runtime_manifest("requirements.txt")
    assert not is_runtime_manifest("requirements-dev.txt")
    assert not is_runtime_manifest("docs/requirements.txt")
    assert not is_runtime_manifest("Dockerfile")


def test_roles_tune_kinds_kernels_and_surface() -> None:
    roles = PathRoles(
        core=("examples/engine/**",), kernels=("pkg/fast/**",), public_api=("pkg/api/**",)
    )
    assert path_kind("examples/engine/run.py") is PathKind.AUXILIARY
    assert roles.kind("examples/engine/run.py") is PathKind.CORE
    assert roles.is_kernel("pkg/fast/gemm.py") and not DEFAULT_ROLES.is_kernel("pkg/fast/gemm.py")
    assert roles.is_surface("pkg/api/deep/module.py")
    assert not roles.is_surface("pkg/other.py")  # the configured globs replace the default
    assert DEFAULT_ROLES.is_surface("pkg/other.py")
    assert DEFAULT_ROLES.is_surface("include/pkg/api.h")
    assert not DEFAULT_ROLES.is_surface("csrc/a.h")


def test_the_fingerprint_names_the_tuning() -> None:
    assert DEFAULT_ROLES.fingerprint == ""
    one = PathRoles(public_api=("pkg/api/**",))
    assert one.fingerprint == PathRoles(public_api=("pkg/api/**",)).fingerprint != ""
    assert one.fingerprint != PathRoles(core=("pkg/api/**",)).fingerprint
