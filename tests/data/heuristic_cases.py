"""Realistic commits for the heuristic analyzer, each with the type and importance it must get.

REFERENCE_CASES are the nine commits of ../shared/reference/000_314adf8128ad6e57.txt
(sgl-project/sglang, 2026-02-08): real SHAs, titles, authors and times, and the file/line totals
of tests/data/reference_day.py. The per-file lists are inferred from the report's impact scopes
(the report names the key files; the rest are plausible neighbours in the real tree), and the PR
bodies follow sglang's PR template with a motivation sentence paraphrasing the report.

`reference_importance` is the report's own verdict. The report calls three of the fixes
"代码重构" (refactor); their titles say Fix and so does the heuristic (type is not pinned there).
The expected importances follow the rule table of bot/analysis/importance_rules.py, which differs
from the report's model on four commits: every fix in product code is at least medium (the
report has three fixes low), and moving 31 loaders into a new package is a broad architectural
move (the report says medium).

EXTRA_CASES are typical commits of other shapes: docs/test/CI-only, bots, reverts, breaking
changes, security fixes, dependency and lockfile updates, vendored imports, formatting, moves,
perf, new backends and platforms, merges, version bumps, migrations.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.models import ChangeType, Commit, FileChange, Importance, PullRequest

REPO = "sgl-project/sglang"
_TZ = ZoneInfo("Asia/Shanghai")
_MM = "python/sglang/multimodal_gen"
_RT = f"{_MM}/runtime"
_SRT = "python/sglang/srt"

F = tuple[str, int, int] | tuple[str, int, int, str] | tuple[str, int, int, str, str]


@dataclass(frozen=True)
class Case:
    """One commit and what the heuristic must conclude about it."""

    name: str
    commit: Commit
    change_type: ChangeType
    importance: Importance
    trivial: bool = False
    reference_importance: Importance | None = None  # the reference report's verdict


SGLANG_TEMPLATE = """<!-- Thank you for your contribution! Please follow these guidelines to \
enhance your pull request. If anything is unclear, submit your PR and reach out to maintainers for \
assistance. -->

## Motivation

<!-- Describe the purpose and goals of this pull request. -->

{motivation}

## Modifications

<!-- Detail the changes made in this pull request. -->

{modifications}

## Accuracy Tests

<!-- If this pull request affects model outputs, please provide accuracy test results. -->

## Benchmarking and Profiling

## Checklist

- [ ] Format your code according to the [Format code with pre-commit](https://docs.sglang.ai).
- [ ] Add unit tests according to the [Run and add unit tests](https://docs.sglang.ai).
- [ ] Update documentation according to [Write documentations](https://docs.sglang.ai).
"""


def pr_body(motivation: str, modifications: str = "") -> str:
    return SGLANG_TEMPLATE.format(motivation=motivation, modifications=modifications)


def _files(entries: Sequence[F]) -> tuple[FileChange, ...]:
    changes = []
    for entry in entries:
        path, additions, deletions, *rest = entry
        status = rest[0] if rest else "modified"
        previous = rest[1] if len(rest) > 1 else None
        changes.append(
            FileChange(
                path=path,
                status=status,
                additions=additions,
                deletions=deletions,
                previous_path=previous,
            )
        )
    return tuple(changes)


def _as_changes(files: Sequence[F] | tuple[FileChange, ...]) -> tuple[FileChange, ...]:
    if all(isinstance(entry, FileChange) for entry in files):
        return tuple(entry for entry in files if isinstance(entry, FileChange))
    return _files([entry for entry in files if not isinstance(entry, FileChange)])


def make_commit(
    title: str,
    files: Sequence[F] | tuple[FileChange, ...],
    *,
    sha: str | None = None,
    author: str = "Contributor",
    login: str | None = None,
    when: str = "2026-02-08 12:00:00",
    body: str = "",
    pr: int | None = None,
    pr_title: str | None = None,
    pr_body_text: str = "",
    labels: tuple[str, ...] = (),
    parents: int = 1,
    repo: str = REPO,
) -> Commit:
    """A Commit as a source would build it; totals are the sums over the files."""
    changes = _as_changes(files)
    digest = sha or hashlib.sha1(title.encode()).hexdigest()
    message = title + (f"\n\n{body}" if body else "")
    pull = None
    if pr is not None:
        pull = PullRequest(
            number=pr,
            title=pr_title if pr_title is not None else title.rsplit(" (#", 1)[0],
            body=pr_body_text,
            labels=labels,
            url=f"https://github.com/{repo}/pull/{pr}",
        )
    return Commit(
        repo=repo,
        sha=digest,
        title=title,
        message=message,
        author=author,
        author_login=login,
        committed_at=datetime.fromisoformat(when).replace(tzinfo=_TZ),
        url=f"https://github.com/{repo}/commit/{digest}",
        parents=tuple(hashlib.sha1(f"{digest}{i}".encode()).hexdigest() for i in range(parents)),
        files=changes,
        additions=sum(change.additions for change in changes),
        deletions=sum(change.deletions for change in changes),
        pr=pull,
    )


# --- The reference day ------------------------------------------------------------------------

_ASCEND_FILES: list[F] = [
    (f"{_RT}/platforms/npu.py", 260, 0, "added"),
    (f"{_RT}/platforms/__init__.py", 48, 6),
    (f"{_RT}/platforms/interface.py", 42, 9),
    (f"{_RT}/platforms/cuda.py", 6, 2),
    (f"{_RT}/platforms/rocm.py", 4, 1),
    (f"{_RT}/platforms/mps.py", 5, 1),
    (f"{_RT}/layers/activation.py", 38, 4),
    (f"{_RT}/layers/layernorm.py", 84, 30),
    (f"{_RT}/layers/custom_op.py", 22, 3),
    (f"{_RT}/layers/triton_ops.py", 130, 40),
    (f"{_RT}/layers/linear.py", 9, 4),
    (f"{_RT}/layers/rotary_embedding.py", 31, 6),
    (f"{_RT}/layers/attention/selector.py", 14, 2),
    (f"{_RT}/layers/attention/backends/ascend_fa.py", 118, 0, "added"),
    (f"{_RT}/distributed/parallel_state.py", 27, 34),
    (f"{_RT}/distributed/device_communicators/npu_communicator.py", 64, 0, "added"),
    (f"{_RT}/distributed/__init__.py", 3, 1),
    (f"{_RT}/managers/gpu_worker.py", 19, 9),
    (f"{_RT}/managers/scheduler.py", 6, 3),
    (f"{_RT}/server_args.py", 12, 4),
    (f"{_RT}/utils/common.py", 25, 8),
    (f"{_RT}/utils/perf_logger.py", 7, 5),
    (f"{_RT}/models/dits/wanvideo.py", 11, 6),
    (f"{_RT}/models/dits/flux.py", 9, 5),
    (f"{_RT}/models/dits/qwen_image.py", 13, 7),
    (f"{_RT}/models/vaes/autoencoder_kl_qwenimage.py", 8, 6),
    (f"{_RT}/models/vaes/wanvae.py", 10, 8),
    (f"{_RT}/models/encoders/t5.py", 4, 3),
    (f"{_RT}/models/encoders/qwen2_5vl.py", 6, 4),
    (f"{_RT}/pipelines_core/stages/denoising.py", 17, 12),
    (f"{_RT}/pipelines_core/stages/decoding.py", 5, 4),
    (f"{_RT}/pipelines_core/stages/text_encoding.py", 4, 3),
    (f"{_RT}/pipelines_core/composed_pipeline_base.py", 6, 3),
    (f"{_RT}/loader/fsdp_load.py", 8, 6),
    (f"{_RT}/loader/component_loader.py", 9, 7),
    (f"{_RT}/entrypoints/diffusion_generator.py", 5, 3),
    (f"{_RT}/launch_server.py", 4, 2),
    (f"{_MM}/utils.py", 11, 5),
    (f"{_MM}/envs.py", 6, 0),
    (f"{_MM}/configs/pipeline_configs/base.py", 5, 3),
    (".github/workflows/pr-test-npu.yml", 96, 1),
    (".github/workflows/pr-test-multimodal-gen.yml", 3, 1),
    (f"{_MM}/test/server/ascend/__init__.py", 0, 0, "added"),
    (f"{_MM}/test/server/ascend/conftest.py", 41, 0, "added"),
    (f"{_MM}/test/server/ascend/test_server_1_npu.py", 87, 0, "added"),
    (f"{_MM}/test/server/ascend/test_server_2_npu.py", 79, 0, "added"),
    (f"{_MM}/test/server/ascend/test_server_8_npu.py", 82, 0, "added"),
    (f"{_MM}/test/server/ascend/testcase_configs_npu.py", 154, 0, "added"),
    (f"{_MM}/test/server/ascend/perf_baselines_npu.json", 212, 0, "added"),
    (f"{_MM}/test/server/test_server_utils.py", 18, 6),
    (f"{_MM}/test/server/testcase_configs.py", 7, 2),
    (f"{_MM}/test/run_suite.py", 24, 3),
    (f"{_MM}/test/unit/test_platform_detection.py", 58, 0, "added"),
    ("python/pyproject_npu.toml", 4, 2),
    ("docker/npu.Dockerfile", 21, 5),
    ("scripts/ci/npu_ci_install_dependency.sh", 18, 6),
    ("docs/platforms/ascend_npu.md", 82, 0, "added"),
    ("docs/diffusion/installation.md", 12, 2),
]

_LOADERS = [
    "adapter_loader",
    "bridge_loader",
    "image_encoder_loader",
    "scheduler_loader",
    "text_encoder_loader",
    "transformer_loader",
    "vae_loader",
    "vl_encoder_loader",
    "vocoder_loader",
]
_LOADER_FILES: list[F] = [
    *(
        (f"{_RT}/loader/component_loaders/{name}.py", 2, 2, "renamed", f"{_RT}/loader/{name}.py")
        for name in _LOADERS
    ),
    (
        f"{_RT}/loader/component_loaders/component_loader.py",
        28,
        21,
        "renamed",
        f"{_RT}/loader/component_loader.py",
    ),
    (f"{_RT}/loader/component_loaders/__init__.py", 3, 0, "added"),
    (f"{_RT}/loader/__init__.py", 6, 8),
    (f"{_RT}/pipelines_core/composed_pipeline_base.py", 5, 5),
    (f"{_RT}/pipelines_core/stages/decoding.py", 2, 2),
    (f"{_RT}/pipelines_core/stages/denoising.py", 2, 2),
    (f"{_RT}/pipelines_core/stages/text_encoding.py", 2, 2),
    (f"{_RT}/pipelines_core/stages/image_encoding.py", 2, 2),
    (f"{_RT}/pipelines_core/stages/encoding.py", 1, 1),
    (f"{_RT}/pipelines_core/lora_pipeline.py", 2, 2),
    (f"{_RT}/loader/fsdp_load.py", 2, 2),
    (f"{_RT}/loader/utils.py", 3, 3),
    (f"{_RT}/loader/weight_utils.py", 1, 1),
    (f"{_RT}/models/registry.py", 2, 2),
    (f"{_RT}/managers/gpu_worker.py", 1, 1),
    (f"{_RT}/utils/layerwise_offload.py", 2, 2),
    (f"{_RT}/pipelines/wan_pipeline.py", 2, 2),
    (f"{_RT}/pipelines/flux.py", 2, 2),
    (f"{_RT}/pipelines/qwen_image.py", 2, 2),
    (f"{_RT}/pipelines/hunyuan_video.py", 2, 2),
    (f"{_MM}/test/server/test_server_utils.py", 2, 2),
    (f"{_MM}/test/unit/test_component_loader.py", 4, 4),
]

KV_CACHE_PATCH = """@@ -1482,7 +1482,20 @@ class ModelRunner:
         if self.server_args.kv_cache_dtype == "auto":
             quant_config = getattr(self.model_config, "quantization_config", None)
             if quant_config is not None and quant_config.get("kv_cache_scheme") == "fp8":
-                self.kv_cache_dtype = torch.float8_e4m3fn
+                self.kv_cache_dtype = torch.float8_e4m3fn
+                self.server_args.kv_cache_dtype = TORCH_DTYPE_TO_KV_CACHE_STR[
+                    self.kv_cache_dtype
+                ]
+                logger.info(
+                    "Detected FP8 KV cache in the checkpoint; "
+                    "setting server_args.kv_cache_dtype=%s",
+                    self.server_args.kv_cache_dtype,
+                )
"""


def _reference() -> list[Case]:
    def case(
        name: str,
        sha: str,
        title: str,
        author: str,
        time: str,
        files: list[F],
        change_type: ChangeType,
        importance: Importance,
        motivation: str,
        *,
        trivial: bool = False,
        labels: tuple[str, ...] = ("run-ci",),
        patches: dict[str, str] | None = None,
        report: Importance | None = None,  # the report's verdict where the rule table differs
    ) -> Case:
        pr = int(title.rsplit("(#", 1)[1].rstrip(")"))
        changes = _files(files)
        if patches:
            changes = tuple(
                change.model_copy(update={"patch": patches[change.path]})
                if change.path in patches
                else change
                for change in changes
            )
        commit = make_commit(
            title,
            changes,
            sha=sha,
            author=author,
            when=f"2026-02-08 {time}",
            body=f"Co-authored-by: {author} <{author.replace(' ', '')}@users.noreply.github.com>",
            pr=pr,
            pr_body_text=pr_body(motivation),
            labels=labels,
        )
        return Case(
            name,
            commit,
            change_type,
            importance,
            trivial,
            reference_importance=report or importance,
        )

    return [
        case(
            "ascend_platform",
            "00248d85c798c6c4cb84aa5a7ac7685178867219",
            "[diffusion] platform: support WAN/FLUX/Qwen-Image/Qwen-Image-edit on Ascend (#13662)",
            "Makcum888e",
            "10:45:30",
            _ASCEND_FILES,
            ChangeType.FEATURE,
            Importance.HIGH,
            "Run the WAN, FLUX and Qwen-Image diffusion pipelines on Huawei Ascend NPUs. "
            "This adds an NPU platform plugin, HCCL as the distributed backend and NPU kernels.",
            labels=("run-ci", "npu", "diffusion"),
        ),
        case(
            "component_loaders_refactor",
            "a41aff12437d2f6bf624118faa17fcc7053f837f",
            "[diffusion] refactor: group component loaders under the component_loaders/ "
            "directory (#18438)",
            "Mick",
            "23:02:27",
            _LOADER_FILES,
            ChangeType.REFACTOR,
            Importance.HIGH,
            "The loader package mixes component loaders with weight utilities; moving the "
            "loaders into their own sub-package makes the layout easier to navigate.",
            report=Importance.MEDIUM,
        ),
        case(
            "sequence_shard",
            "43eecd8265deefe82e84b4225800f3c021e2ad87",
            "[diffusion] feat: support efficient sequence shard (#18161)",
            "wxy",
            "21:09:39",
            [
                (f"{_MM}/configs/sample/sampling_params.py", 31, 2),
                (f"{_MM}/configs/pipeline_configs/base.py", 7, 0),
                (f"{_RT}/models/dits/wanvideo.py", 126, 9),
                (f"{_RT}/pipelines_core/stages/denoising.py", 9, 1),
            ],
            ChangeType.FEATURE,
            Importance.MEDIUM,
            "Sequence parallelism currently adjusts the frame count so that it divides the SP "
            "size; sharding the sequence dimension directly avoids that and saves memory.",
        ),
        case(
            "kv_cache_dtype_sync",
            "d71ccd886096544e216f125eb92177e6b9974bd4",
            "fix: sync server_args.kv_cache_dtype when detecting FP8 KV cache (#18394)",
            "Zack Yu",
            "14:10:59",
            [(f"{_SRT}/model_executor/model_runner.py", 14, 1)],
            ChangeType.FIX,
            Importance.MEDIUM,
            "When an FP8 KV cache is detected from the checkpoint only self.kv_cache_dtype is "
            "updated, so server_args.kv_cache_dtype still reports auto to later consumers.",
            patches={f"{_SRT}/model_executor/model_runner.py": KV_CACHE_PATCH},
        ),
        case(
            "kimi_nvfp4_mapping",
            "7b836593108559f8db954375f0e64bb38637363e",
            "fix: fix NVFP4 Kimi-K2.5 weight mapping and exclude list (#18370)",
            "Mohammad Miadh Angkad",
            "10:23:48",
            [
                (f"{_SRT}/layers/quantization/modelopt_quant.py", 30, 3),
                (f"{_SRT}/models/kimi_k25.py", 11, 0),
            ],
            ChangeType.FIX,
            Importance.MEDIUM,
            "The NVFP4 checkpoint of Kimi-K2.5 uses HF-style weight names, so loading fails and "
            "the exclude_modules list does not match the SGLang module names.",
        ),
        case(
            "trtllm_mla_k_scale",
            "031a652b936ce0a3e468b2de7411293b05d1c189",
            "Fix TRT-LLM MLA backend applying k_scale to BF16 KV cache in BMM1 (#18396)",
            "debo3",
            "23:11:16",
            [(f"{_SRT}/layers/attention/trtllm_mla_backend.py", 18, 4)],
            ChangeType.FIX,
            Importance.MEDIUM,
            "k_scale must only be applied when the KV cache is FP8; with a BF16 cache the BMM1 "
            "output was scaled twice.",
            report=Importance.LOW,
        ),
        case(
            "qwen3_modelopt_launch",
            "ca36d88fa640bcdfc85fec2a267d6a2efa2052a7",
            "[ModelOpt] Fix broken Qwen3-235B-A22B-Instruct-2507-NVFP4 launch (#18189)",
            "Yi Zhong",
            "22:35:28",
            [(f"{_SRT}/models/qwen3_moe.py", 9, 0)],
            ChangeType.FIX,
            Importance.MEDIUM,
            "Launching the NVFP4 checkpoint fails because the fused modules are not mapped to "
            "their sub-weights when excluded layers are matched.",
            report=Importance.LOW,
        ),
        case(
            "notebook_ci",
            "f600965b0ee2251558718c9e559fe6585b7b0e42",
            "[CI] fix: notebook ci may not working (#18417)",
            "shuwenn",
            "14:26:35",
            [(".github/workflows/execute-notebook.yml", 27, 6)],
            ChangeType.CI,
            Importance.LOW,
            "The Execute Notebooks workflow is skipped on most PRs because its path filter and "
            "gate do not match the run-ci label flow.",
            trivial=True,
        ),
        case(
            "flashinfer_backend_selection",
            "8e2e835c2f42da6afc9939a633f4acc07bcc0288",
            "[Fix] Fix backend selection after flashinfer version update (#18364)",
            "DarkSharpness",
            "11:20:41",
            [(f"{_SRT}/layers/attention/flashinfer_backend.py", 12, 8)],
            ChangeType.FIX,
            Importance.MEDIUM,
            'After the flashinfer upgrade the prefill and decode wrappers still hard-code "fa2", '
            "which picks the wrong kernels on Hopper.",
            report=Importance.LOW,
        ),
    ]


REFERENCE_CASES: list[Case] = _reference()
REFERENCE_TOTALS = {  # files, additions, deletions: as in tests/data/reference_day.py
    "ascend_platform": (58, 2113, 287),
    "component_loaders_refactor": (31, 96, 88),
    "sequence_shard": (4, 173, 12),
    "kv_cache_dtype_sync": (1, 14, 1),
    "kimi_nvfp4_mapping": (2, 41, 3),
    "trtllm_mla_k_scale": (1, 18, 4),
    "qwen3_modelopt_launch": (1, 9, 0),
    "notebook_ci": (1, 27, 6),
    "flashinfer_backend_selection": (1, 12, 8),
}


# --- Other typical commits --------------------------------------------------------------------

WHITESPACE_PATCH = """@@ -210,9 +210,9 @@ class Scheduler:
     def get_next_batch_to_run(self):
-        if self.running_batch is None or self.running_batch.is_empty() :
+        if self.running_batch is None or self.running_batch.is_empty():
             return None
-        new_batch=self.get_new_batch_prefill()
+        new_batch = self.get_new_batch_prefill()
-        return new_batch{trailing}
+        return new_batch
""".format(trailing="   ")

REMOVED_DEF_PATCH = """@@ -88,22 +88,6 @@ class SamplingBatchInfo:
-    def merge_bias_tensor(self, lhs, rhs, bs1, bs2, device, default):
-        if lhs is None and rhs is None:
-            return None
-        lhs = lhs if lhs is not None else torch.full((bs1, 1), default, device=device)
-        rhs = rhs if rhs is not None else torch.full((bs2, 1), default, device=device)
-        return torch.cat([lhs, rhs])
+    # Bias tensors are merged by the penalizer orchestrator now.
     def _private_helper(self):
         pass
"""


def _extras() -> list[Case]:
    srt = _SRT
    cases = [
        Case(
            "untyped_title_adding_a_module",
            make_commit(
                "Heuristic analyzer: path kinds, size and keywords",
                [
                    ("bot/analysis/heuristic.py", 380, 0, "added"),
                    ("bot/analysis/footprint.py", 150, 0, "added"),
                    ("tests/bot/analysis/test_heuristic.py", 200, 0, "added"),
                    ("digestbot/wiring.py", 4, 1),
                ],
            ),
            ChangeType.FEATURE,
            Importance.MEDIUM,
        ),
        Case(
            "docs_only",
            make_commit(
                "docs: add Ascend NPU deployment guide for diffusion models (#18470)",
                [
                    ("docs/platforms/ascend_npu_diffusion.md", 120, 0, "added"),
                    ("docs/index.rst", 1, 0),
                ],
                pr=18470,
            ),
            ChangeType.DOCS,
            Importance.LOW,
            trivial=True,
        ),
        Case(
            "readme_typo_fix",
            make_commit("Fix typo in README", [("README.md", 1, 1)]),
            ChangeType.DOCS,
            Importance.LOW,
            trivial=True,
        ),
        Case(
            "tests_only",
            make_commit(
                "[Test] add unit tests for WeightsMapper prefix handling (#18480)",
                [("test/srt/test_weights_mapper.py", 96, 0, "added")],
                pr=18480,
            ),
            ChangeType.TEST,
            Importance.LOW,
            trivial=True,
        ),
        Case(
            "dependabot_bump",
            make_commit(
                "Bump jinja2 from 3.1.4 to 3.1.6 in /python (#18490)",
                [("python/pyproject.toml", 1, 1)],
                author="dependabot[bot]",
                login="dependabot[bot]",
                pr=18490,
                pr_body_text="Bumps [jinja2](https://github.com/pallets/jinja) from 3.1.4 to 3.1.6."
                "\n\n<details>\n<summary>Release notes</summary>\n</details>",
                labels=("dependencies", "python"),
            ),
            ChangeType.BUILD,
            Importance.LOW,
            trivial=True,
        ),
        Case(
            "renovate_dev_dependency",
            make_commit(
                "chore(deps): update dependency ruff to v0.9.2",
                [("requirements-dev.txt", 1, 1)],
                author="renovate[bot]",
                login="renovate[bot]",
            ),
            ChangeType.BUILD,
            Importance.LOW,
            trivial=True,
        ),
        Case(
            "pre_commit_ci_autoupdate",
            make_commit(
                "[pre-commit.ci] pre-commit autoupdate",
                [(".pre-commit-config.yaml", 3, 3)],
                author="pre-commit-ci[bot]",
                login="pre-commit-ci[bot]",
            ),
            ChangeType.CHORE,
            Importance.LOW,
            trivial=True,
        ),
        Case(
            "revert_feature",
            make_commit(
                'Revert "[diffusion] feat: support efficient sequence shard (#18161)" (#18501)',
                [
                    (f"{_MM}/configs/sample/sampling_params.py", 2, 31),
                    (f"{_MM}/configs/pipeline_configs/base.py", 0, 7),
                    (f"{_RT}/models/dits/wanvideo.py", 9, 126),
                    (f"{_RT}/pipelines_core/stages/denoising.py", 1, 9),
                ],
                pr=18501,
                body="This reverts commit 43eecd8265deefe82e84b4225800f3c021e2ad87.",
            ),
            ChangeType.REVERT,
            Importance.MEDIUM,
        ),
        Case(
            "revert_fix",
            make_commit(
                'Revert "fix: sync server_args.kv_cache_dtype when detecting FP8 KV cache '
                '(#18394)" (#18502)',
                [(f"{srt}/model_executor/model_runner.py", 1, 14)],
                pr=18502,
            ),
            ChangeType.REVERT,
            Importance.MEDIUM,
        ),
        Case(
            "breaking_bang",
            make_commit(
                "feat(api)!: remove the deprecated /generate_stream endpoint (#18510)",
                [
                    (f"{srt}/entrypoints/http_server.py", 3, 85),
                    ("docs/basic_usage/native_api.md", 2, 40),
                    ("test/srt/test_srt_endpoint.py", 0, 35),
                ],
                pr=18510,
            ),
            ChangeType.FEATURE,
            Importance.HIGH,
        ),
        Case(
            "breaking_footer",
            make_commit(
                "refactor: rename --mem-fraction-static to --mem-fraction (#18511)",
                [
                    (f"{srt}/server_args.py", 12, 12),
                    ("docs/advanced_features/server_arguments.md", 3, 3),
                ],
                pr=18511,
                body="BREAKING CHANGE: the old flag is no longer accepted.",
            ),
            ChangeType.REFACTOR,
            Importance.HIGH,
        ),
        Case(
            "drop_python_version",
            make_commit(
                "Drop support for Python 3.9 (#18512)",
                [
                    ("python/pyproject.toml", 2, 2),
                    (".github/workflows/pr-test.yml", 1, 1),
                    (f"{srt}/utils/common.py", 3, 25),
                ],
                pr=18512,
            ),
            ChangeType.REFACTOR,
            Importance.HIGH,
        ),
        Case(
            "deprecation",
            make_commit(
                "Deprecate `--enable-flashinfer-mla` in favor of `--attention-backend flashinfer` "
                "(#18513)",
                [(f"{srt}/server_args.py", 15, 2)],
                pr=18513,
            ),
            ChangeType.REFACTOR,
            Importance.MEDIUM,
        ),
        Case(
            "security_template_injection",
            make_commit(
                "fix: sanitize chat templates to prevent server-side template injection (#18520)",
                [
                    (f"{srt}/conversation.py", 40, 6),
                    (f"{srt}/entrypoints/openai/serving_chat.py", 8, 2),
                    ("test/srt/test_chat_template_sandbox.py", 64, 0, "added"),
                ],
                pr=18520,
            ),
            ChangeType.SECURITY,
            Importance.HIGH,
        ),
        Case(
            "cve_bump",
            make_commit(
                "Bump torch to 2.6.0 to address CVE-2025-32434 (#18521)",
                [("python/pyproject.toml", 1, 1), ("docker/Dockerfile", 1, 1)],
                pr=18521,
            ),
            ChangeType.SECURITY,
            Importance.HIGH,
        ),
        Case(
            "lockfile_refresh",
            make_commit("chore: refresh uv.lock (#18530)", [("uv.lock", 812, 790)], pr=18530),
            ChangeType.BUILD,
            Importance.LOW,
            trivial=True,
        ),
        Case(
            "runtime_dependency_bump",
            make_commit(
                "[Deps] Bump flashinfer to 0.6.3 (#18531)",
                [("python/pyproject.toml", 2, 2)],
                pr=18531,
            ),
            ChangeType.BUILD,
            Importance.MEDIUM,
        ),
        Case(
            "vendored_import",
            make_commit(
                "Vendor CUTLASS 3.9 headers into sgl-kernel/3rdparty (#18540)",
                [
                    (
                        f"sgl-kernel/3rdparty/cutlass/include/cutlass/gemm/kernel/k{i:04d}.hpp",
                        250,
                        0,
                        "added",
                    )
                    for i in range(1200)
                ],
                pr=18540,
            ),
            ChangeType.CHORE,
            Importance.LOW,
            trivial=True,
        ),
        Case(
            "formatting_by_title",
            make_commit(
                "style: apply ruff format to srt/managers (#18550)",
                [
                    (f"{srt}/managers/{name}.py", 33, 31)
                    for name in (
                        "scheduler",
                        "tokenizer_manager",
                        "detokenizer_manager",
                        "io_struct",
                        "schedule_batch",
                        "schedule_policy",
                        "tp_worker",
                        "cache_controller",
                        "data_parallel_controller",
                        "session_controller",
                        "utils",
                        "mm_utils",
                    )
                ],
                pr=18550,
            ),
            ChangeType.CHORE,
            Importance.LOW,
            trivial=True,
        ),
        Case(
            "formatting_by_patch",
            make_commit(
                "Tidy up scheduler.py (#18551)",
                (
                    FileChange(
                        path=f"{srt}/managers/scheduler.py",
                        additions=3,
                        deletions=3,
                        patch=WHITESPACE_PATCH,
                    ),
                ),
                pr=18551,
            ),
            ChangeType.CHORE,
            Importance.LOW,
            trivial=True,
        ),
        Case(
            "rename_only_refactor",
            make_commit(
                "refactor: move sampling helpers into the sampling/ package (#18560)",
                [
                    *(
                        (f"{srt}/sampling/{name}.py", 0, 0, "renamed", f"{srt}/{name}.py")
                        for name in (
                            "sampling_params",
                            "sampling_batch_info",
                            "penaltylib",
                            "custom_logit_processor",
                            "top_p_top_k",
                            "min_p",
                        )
                    ),
                    (f"{srt}/sampling/__init__.py", 6, 0, "added"),
                ],
                pr=18560,
            ),
            ChangeType.REFACTOR,
            Importance.MEDIUM,
        ),
        Case(
            "perf_kernel",
            make_commit(
                "perf: speed up fused MoE triton kernel for small batch sizes (#18570)",
                [
                    (f"{srt}/layers/moe/fused_moe_triton/fused_moe.py", 84, 31),
                    (
                        "benchmark/kernels/fused_moe_triton/benchmark_small_batch.py",
                        120,
                        0,
                        "added",
                    ),
                ],
                pr=18570,
            ),
            ChangeType.PERF,
            Importance.MEDIUM,
        ),
        Case(
            "new_attention_backend",
            make_commit(
                "feat: add FlashMLA attention backend for DeepSeek models (#18580)",
                [
                    (f"{srt}/layers/attention/flashmla_backend.py", 412, 0, "added"),
                    (f"{srt}/model_executor/model_runner.py", 9, 1),
                    (f"{srt}/server_args.py", 6, 1),
                    ("test/srt/test_flashmla_backend.py", 140, 0, "added"),
                ],
                pr=18580,
            ),
            ChangeType.FEATURE,
            Importance.HIGH,
        ),
        Case(
            "amd_hardware_support",
            make_commit(
                "[AMD] Add support for MI355X (gfx950) (#18581)",
                [
                    (f"{srt}/utils/common.py", 22, 3),
                    (f"{srt}/layers/quantization/fp8_kernel.py", 31, 6),
                    ("docker/rocm.Dockerfile", 8, 2),
                ],
                pr=18581,
            ),
            ChangeType.FEATURE,
            Importance.HIGH,
        ),
        Case(
            "ci_only",
            make_commit(
                "ci: cache pip downloads in the nightly workflow (#18590)",
                [(".github/workflows/nightly-test.yml", 9, 2)],
                pr=18590,
            ),
            ChangeType.CI,
            Importance.LOW,
            trivial=True,
        ),
        Case(
            "merge_without_pr",
            make_commit(
                "Merge branch 'main' into feat/npu-graph",
                [(f"{srt}/managers/scheduler.py", 120, 40), (f"{srt}/server_args.py", 30, 5)],
                parents=2,
            ),
            ChangeType.CHORE,
            Importance.LOW,
            trivial=True,
        ),
        Case(
            "merge_with_pr",
            make_commit(
                "Merge pull request #18600 from intel/xpu-platform",
                [
                    (f"{_RT}/platforms/xpu.py", 180, 0, "added"),
                    (f"{_RT}/platforms/__init__.py", 12, 2),
                    (f"{_RT}/layers/layernorm.py", 20, 4),
                ],
                parents=2,
                pr=18600,
                pr_title="Support Intel XPU platform for diffusion models",
            ),
            ChangeType.FEATURE,
            Importance.HIGH,
        ),
        Case(
            "version_bump",
            make_commit(
                "Bump version to 0.5.9 (#18610)",
                [
                    ("python/sglang/version.py", 1, 1),
                    ("python/pyproject.toml", 1, 1),
                    ("docs/get_started/install.md", 2, 2),
                ],
                pr=18610,
            ),
            ChangeType.CHORE,
            Importance.LOW,
            trivial=True,
        ),
        Case(
            "huge_untested_refactor",
            make_commit(
                "refactor: rework the overlap scheduler event loop (#18620)",
                [
                    (f"{srt}/managers/scheduler.py", 310, 190),
                    (f"{srt}/managers/tp_worker_overlap_thread.py", 160, 120),
                    (f"{srt}/managers/schedule_batch.py", 90, 40),
                    (f"{srt}/managers/scheduler_output_processor_mixin.py", 80, 40),
                    (f"{srt}/managers/utils.py", 35, 15),
                    (f"{srt}/model_executor/forward_batch_info.py", 25, 15),
                ],
                pr=18620,
            ),
            ChangeType.REFACTOR,
            Importance.MEDIUM,
        ),
        Case(
            "chinese_title_fix",
            make_commit(
                "修复调度器在空批次时的崩溃 (#18630)",
                [(f"{srt}/managers/scheduler.py", 6, 1)],
                pr=18630,
            ),
            ChangeType.FIX,
            Importance.MEDIUM,
        ),
        Case(
            "migration",
            make_commit(
                "feat: add subscriptions table (#412)",
                [
                    ("app/models/subscription.py", 40, 0, "added"),
                    ("migrations/versions/20260208_add_subscriptions.py", 35, 0, "added"),
                    ("tests/test_subscriptions.py", 60, 0, "added"),
                ],
                pr=412,
                repo="acme/webapp",
            ),
            ChangeType.FEATURE,
            Importance.MEDIUM,
        ),
        Case(
            "unknown_small",
            make_commit(
                "Kimi-K2.5 tool-call parser tweaks (#18640)",
                [(f"{srt}/function_call/kimik2_detector.py", 8, 3)],
                pr=18640,
            ),
            ChangeType.CHORE,
            Importance.LOW,
        ),
        Case(
            "removed_public_def",
            make_commit(
                "refactor: simplify sampling batch info (#18650)",
                (
                    FileChange(
                        path=f"{srt}/sampling/sampling_batch_info.py",
                        additions=1,
                        deletions=6,
                        patch=REMOVED_DEF_PATCH,
                    ),
                ),
                pr=18650,
            ),
            ChangeType.REFACTOR,
            Importance.LOW,
        ),
        Case(
            "examples_only_feature",
            make_commit(
                "feat: add OpenAI-compatible vision example (#18660)",
                [("examples/runtime/openai_vision.py", 80, 0, "added")],
                pr=18660,
            ),
            ChangeType.FEATURE,
            Importance.LOW,
            trivial=True,
        ),
    ]
    return cases


EXTRA_CASES: list[Case] = _extras()
ALL_CASES: list[Case] = REFERENCE_CASES + EXTRA_CASES
