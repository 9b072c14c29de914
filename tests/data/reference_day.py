"""The reference report's day (sgl-project/sglang, 2026-02-08) as a neutral `Digest`, zh and en.

Source: ../shared/reference/000_314adf8128ad6e57.txt. The nine commits keep their real full SHAs,
titles, authors, local commit times (Asia/Shanghai), PR numbers, change types and importances
(1 high, 4 medium, 4 low). The Chinese analysis text is the report's own, lightly trimmed; the
English text is a faithful translation.

Conventions for text in the neutral model (it carries no markup):
- A field with several points stores them as newline-separated lines. Insight dimensions start
  each line with "• " (the report's bullets); renderers join lines with their own line breaks
  (`<br>` in a Markdown table cell).
- Inline code stays in single backticks (every target platform renders it); no bold, no links.
- Risks and recommendations use "area：advice" (full-width colon in zh, ": " in en) when the
  report names an area; renderers may show the area bold or as a table column. A
  recommendation's advice may span several lines.
"""

# ruff: noqa: E501  (report text: wide CJK lines are kept whole so they read like the report)

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.models import (
    AnalysisProvenance,
    ChangeType,
    CommitAnalysis,
    CommitSummary,
    Coverage,
    Digest,
    DigestItem,
    DigestProvenance,
    DigestStats,
    Importance,
    Insights,
    Language,
    Window,
)

REPO = "sgl-project/sglang"
REPO_URL = "https://github.com/sgl-project/sglang"
TZ = "Asia/Shanghai"
DAY = "2026-02-08"
MODEL = "gpt-oss-120b"
PROMPT_VERSION = "v1"
_ZONE = ZoneInfo(TZ)
GENERATED_AT = datetime(2026, 2, 9, 8, 0, 0, tzinfo=_ZONE)


@dataclass(frozen=True)
class _Text:
    summary: str
    scope: tuple[str, ...] = ()
    insights: Insights = field(default_factory=Insights)
    risks: tuple[str, ...] = ()
    recommendations: tuple[str, ...] = ()
    detail: str | None = None  # the change type's detail, as the report writes it in brackets
    closing: str | None = None  # the report's closing remark


@dataclass(frozen=True)
class _Entry:
    sha: str
    title: str
    author: str
    local_time: str  # "HH:MM:SS" on DAY in TZ, as the report's table shows it
    pr: int
    change_type: ChangeType
    importance: Importance
    files: int
    additions: int
    deletions: int
    zh: _Text
    en: _Text


_HIGH_ZH = _Text(
    detail="新增 Ascend NPU 平台支持",
    summary=(
        "本次提交在 `sglang` 的多模态生成运行时中引入对华为 Ascend NPU（HCCL）平台的完整适配。"
        "新增平台插件、设备抽象、分布式后端切换、NPU 专用算子封装，并在 CI 与测试套件中加入 NPU 场景，"
        "以实现 WAN/FLUX/Qwen‑Image 系列模型在 Ascend 上的推理与性能基准。"
    ),
    scope=(
        "`python/sglang/multimodal_gen/runtime/platforms/*`（新增 `npu.py`、扩展平台检测、统一 device 接口）",
        "设备抽象层 `get_local_torch_device`、分布式后端 `hccl` 切换",
        "多模态生成算子层：`activation.py、layernorm.py、custom_op.py、triton_ops.py、linear.py` 等，"
        "加入 NPU 路径或兼容实现",
        "分布式与模型并行初始化 `parallel_state.py`、`gpu_worker.py` 等",
        "CI 工作流 `.github/workflows/pr-test-npu.yml` 增加 NPU 测试作业",
        "测试套件 `sglang/multimodal_gen/test/*` 新增 NPU 基准与性能回归",
        "依赖文件 `pyproject_npu.toml` 增加 `addict` 与 `cache-dit` 版本升级",
    ),
    insights=Insights(
        architecture=(
            "• 新增 PlatformEnum.NPU，实现统一的 `Platform` 抽象，使得代码在 `cuda/hip/mps/musa` "
            "之外可透明切换到 NPU。\n"
            "• `get_device()` 与 `get_torch_distributed_backend_str()` 分支扩展，NPU 使用 "
            '`torch.device("npu")` 与 `hccl`（Huawei Collective Communication Library），'
            "保持与现有分布式框架一致。\n"
            "• 将设备相关硬编码 (`torch.cuda.*`) 替换为 `torch.get_device_module()`，"
            "实现平台无关的统一调用，降低后续新增平台的侵入成本。"
        ),
        performance=(
            "• 引入 NPU 专属算子（`torch_npu.npu_rms_norm`, `torch_npu.npu_add_rms_norm`, "
            "`torch_npu.npu_swiglu` 等），在 `layernorm`、`activation`、`custom_op` 中直接走硬件加速，"
            "预计在 Ascend 910/910B/910C 上比 CUDA 版提升 20%‑40%（取决于模型规模）。\n"
            "• 对 triton 相关 kernel 的 `warp_size` 获取改为 `torch.get_device_module()`，"
            "兼容 NPU 的 device query，避免因属性缺失导致的运行时异常。\n"
            "• 在 `triton_ops.py` 为 NPU 实现 fallback（scale‑shift、rotary）实现，"
            "以规避当前 Ascend triton bug，确保功能完整性，虽牺牲少量性能但保证正确性。\n"
            "• `torch.compile(..., disable=current_platform.is_npu())` 关闭在 NPU 上的 "
            "Torch‑Inductor 编译，防止不兼容的图优化导致崩溃。"
        ),
        security=(
            "• 仅新增对系统环境变量的读取（`ASCEND_RT_VISIBLE_DEVICES`），与原有 CUDA/ROCM 环境一致，"
            "无外部网络调用或特权操作。\n"
            "• CI 中引入的缓存代理与内部镜像源对外部请求均通过受信任的私有域名，未引入新安全风险。"
        ),
        maintainability=(
            "• 通过平台插件化（`npu_platform_plugin`）实现自动检测，代码路径统一在 "
            "`runtime/platforms/__init__.py`。\n"
            "• 大量对 `torch.cuda.*` 的替换为抽象 `torch.get_device_module()`，提升跨平台代码的一致性，"
            "后续添加新硬件只需实现对应平台类。\n"
            "• NPU 相关实现均放在 `if _is_npu:` 条件分支，未使用的路径仍保持原有实现，降低回归风险。"
        ),
        compatibility=(
            "• 对非 NPU 环境保持原有行为：`is_amp_supported` 在 NPU 上返回 `True`（默认开启 amp），"
            "在 MPS 上返回 `False`。\n"
            "• `parallel_state.init_distributed_environment` 新增 "
            "`backend=current_platform.get_torch_distributed_backend_str()` 参数，确保在 CUDA、ROCM、"
            "MUSA 仍使用原有 NCCL/MCCL，而 NPU 自动选 HCCL。"
        ),
        testing=(
            "• CI 新增 `multimodal-gen-test-1-npu-a3` 作业，执行基于 Ascend A3 Docker 镜像的完整推理套件。\n"
            "• 新增 NPU 基准 JSON 与 pytest 参数化测试，确保性能回归能够自动捕获。"
        ),
    ),
    risks=(
        "硬件依赖缺失：在未装载 Ascend 驱动或 `torch_npu` 包的环境中导入 `sglang` 仍会尝试 "
        "`import torch_npu`，可能抛出 `ImportError`。虽有 `try/except` 包裹在平台检测，但在某些路径"
        "（如 `activation.py`）仍直接 `import torch_npu`，需在非 NPU 环境加上保护。",
        "分布式后端兼容性：`hccl` 尚未在 CI 完全验证跨节点的容错与超时行为，特别是 "
        "`distributed_init_method` 的字符串拼接（`tcp://127.0.0.1:{port}`）在多机环境下需替换为实际 IP。",
        "编译关闭导致性能回退：`torch.compile(..., disable=current_platform.is_npu())` 会禁用 "
        "Torch‑Inductor 对 NPU 的 JIT 编译，若未来 NPU 支持更高效的 Inductor 后可能需要手动打开。",
        "triton fallback 精度/性能：`fuse_scale_shift_native` 与 `apply_rotary_embedding_native` "
        "为纯 Python 实现，可能在大模型上产生显著性能下降。应在后期升级 Ascend triton 后移除。",
        "CI 环境依赖：CI 采用内部镜像 `swr.cn-southwest-2.myhuaweicloud.com/...`，外部贡献者若在本地跑 CI "
        "可能无法获取相同镜像，导致 CI 失败。",
        "模型路径硬编码：NPU 测试用例中 `model_path` 固定为本地缓存路径，若 CI 环境未预先下载模型，"
        "会触发网络下载或缓存失效。",
    ),
    recommendations=(
        "代码安全：在所有直接 `import torch_npu` 前加入 `try: import torch_npu except ImportError: "
        "torch_npu = None`，并在使用前检查 `torch_npu is not None`。\n"
        "为平台检测添加日志提示 “NPU not available, falling back to CPU”。",
        "分布式部署：为 `hccl` 添加环境变量 `RANK_TABLE_FILE` 或 `RANK_SIZE` 的自动化生成，"
        "确保多机训练/推理时 `distributed_init_method` 能正确解析。",
        "性能验证：在正式发布前，对比 NPU 与 CUDA 同等模型的吞吐量与延迟，记录基准并在 "
        "`perf_baselines_npu.json` 中更新。\n"
        "对 `triton_ops` 中的 fallback 实现进行基准评估，确定是否需要进一步优化或提交 upstream。",
    ),
)

_HIGH_EN = _Text(
    detail="new Ascend NPU platform support",
    summary=(
        "This commit adds complete support for Huawei Ascend NPUs (HCCL) to the multimodal "
        "generation runtime of `sglang`. It adds a platform plugin, a device abstraction, a "
        "switchable distributed backend and NPU-specific operator wrappers, and adds NPU scenarios "
        "to CI and the test suite, so that the WAN/FLUX/Qwen-Image model families can run inference "
        "and performance benchmarks on Ascend."
    ),
    scope=(
        "`python/sglang/multimodal_gen/runtime/platforms/*` (new `npu.py`, extended platform "
        "detection, unified device interface)",
        "Device abstraction `get_local_torch_device` and the switch to the `hccl` distributed backend",
        "Multimodal generation operators: `activation.py, layernorm.py, custom_op.py, "
        "triton_ops.py, linear.py` and others gain NPU paths or compatible implementations",
        "Distributed and model-parallel initialisation: `parallel_state.py`, `gpu_worker.py` and others",
        "CI workflow `.github/workflows/pr-test-npu.yml` adds an NPU test job",
        "Test suite `sglang/multimodal_gen/test/*` adds NPU benchmarks and performance regressions",
        "Dependency file `pyproject_npu.toml` adds `addict` and upgrades `cache-dit`",
    ),
    insights=Insights(
        architecture=(
            "• Adds PlatformEnum.NPU behind the unified `Platform` abstraction, so the code can "
            "switch transparently to NPUs besides `cuda/hip/mps/musa`.\n"
            "• Extends `get_device()` and `get_torch_distributed_backend_str()`: NPUs use "
            '`torch.device("npu")` and `hccl` (Huawei Collective Communication Library), '
            "consistent with the existing distributed framework.\n"
            "• Replaces device-specific hard-coding (`torch.cuda.*`) with "
            "`torch.get_device_module()`, a platform-neutral call that lowers the cost of adding "
            "further platforms."
        ),
        performance=(
            "• Introduces NPU-specific operators (`torch_npu.npu_rms_norm`, "
            "`torch_npu.npu_add_rms_norm`, `torch_npu.npu_swiglu`, ...) used directly in "
            "`layernorm`, `activation` and `custom_op`; expected to be 20%-40% faster than the "
            "CUDA path on Ascend 910/910B/910C, depending on model size.\n"
            "• Triton kernels now read `warp_size` through `torch.get_device_module()`, which "
            "supports the NPU device query and avoids runtime errors from missing attributes.\n"
            "• `triton_ops.py` gets NPU fallbacks (scale-shift, rotary) that work around a current "
            "Ascend triton bug: slightly slower, but correct.\n"
            "• `torch.compile(..., disable=current_platform.is_npu())` turns Torch-Inductor off on "
            "NPUs so incompatible graph optimisations cannot crash."
        ),
        security=(
            "• Only adds reading an environment variable (`ASCEND_RT_VISIBLE_DEVICES`), like the "
            "existing CUDA/ROCm settings; no network calls or privileged operations.\n"
            "• The cache proxy and internal mirrors used in CI go through trusted private domains; "
            "no new security risk."
        ),
        maintainability=(
            "• Platform plugins (`npu_platform_plugin`) give automatic detection, with the code "
            "path unified in `runtime/platforms/__init__.py`.\n"
            "• Many `torch.cuda.*` calls become the abstract `torch.get_device_module()`, making "
            "cross-platform code consistent; new hardware only needs its platform class.\n"
            "• NPU code sits behind `if _is_npu:` branches; other paths keep their implementation, "
            "which lowers the regression risk."
        ),
        compatibility=(
            "• Non-NPU environments keep their behaviour: `is_amp_supported` returns `True` on NPUs "
            "(amp on by default) and `False` on MPS.\n"
            "• `parallel_state.init_distributed_environment` gains a "
            "`backend=current_platform.get_torch_distributed_backend_str()` argument, so CUDA, ROCm "
            "and MUSA still use NCCL/MCCL while NPUs pick HCCL automatically."
        ),
        testing=(
            "• CI adds the `multimodal-gen-test-1-npu-a3` job, running the full inference suite in "
            "the Ascend A3 Docker image.\n"
            "• Adds NPU benchmark JSON and parametrised pytest tests so performance regressions are "
            "caught automatically."
        ),
    ),
    risks=(
        "Missing hardware dependencies: importing `sglang` where the Ascend driver or the "
        "`torch_npu` package is absent still tries `import torch_npu` and may raise "
        "`ImportError`. Platform detection is wrapped in `try/except`, but some paths (such as "
        "`activation.py`) import `torch_npu` directly and need a guard on non-NPU machines.",
        "Distributed backend compatibility: CI has not fully validated `hccl`'s cross-node fault "
        "tolerance and timeouts; in particular the string-built `distributed_init_method` "
        "(`tcp://127.0.0.1:{port}`) must use the real IP on multiple machines.",
        "Performance loss from disabled compilation: `torch.compile(..., "
        "disable=current_platform.is_npu())` disables Torch-Inductor JIT on NPUs; it may need to be "
        "turned back on once Inductor supports NPUs well.",
        "Triton fallback accuracy/performance: `fuse_scale_shift_native` and "
        "`apply_rotary_embedding_native` are pure Python and may be much slower on large models. "
        "Remove them after upgrading Ascend triton.",
        "CI environment dependency: CI uses the internal image "
        "`swr.cn-southwest-2.myhuaweicloud.com/...`; external contributors running CI locally may "
        "not get the same image, and CI fails.",
        "Hard-coded model paths: NPU tests fix `model_path` to a local cache path; if CI has not "
        "downloaded the model beforehand, tests trigger downloads or cache misses.",
    ),
    recommendations=(
        "Code safety: guard every direct `import torch_npu` with `try: import torch_npu except "
        "ImportError: torch_npu = None` and check `torch_npu is not None` before use.\n"
        "Log \u201cNPU not available, falling back to CPU\u201d from platform detection.",
        "Distributed deployment: generate the `RANK_TABLE_FILE` or `RANK_SIZE` environment "
        "variables for `hccl` automatically so `distributed_init_method` resolves correctly on "
        "several machines.",
        "Performance validation: before release, compare NPU and CUDA throughput and latency on "
        "the same models and record the baselines in `perf_baselines_npu.json`.\n"
        "Benchmark the fallbacks in `triton_ops` to decide whether to optimise them further or "
        "send a fix upstream.",
    ),
)

_ENTRIES: tuple[_Entry, ...] = (
    _Entry(
        sha="00248d85c798c6c4cb84aa5a7ac7685178867219",
        title="[diffusion] platform: support WAN/FLUX/Qwen-Image/Qwen-Image-edit on Ascend (#13662)",
        author="Makcum888e",
        local_time="10:45:30",
        pr=13662,
        change_type=ChangeType.FEATURE,
        importance=Importance.HIGH,
        files=58,
        additions=2113,
        deletions=287,
        zh=_HIGH_ZH,
        en=_HIGH_EN,
    ),
    _Entry(
        sha="a41aff12437d2f6bf624118faa17fcc7053f837f",
        title="[diffusion] refactor: group component loaders under the component_loaders/ directory (#18438)",
        author="Mick",
        local_time="23:02:27",
        pr=18438,
        change_type=ChangeType.REFACTOR,
        importance=Importance.MEDIUM,
        files=31,
        additions=96,
        deletions=88,
        zh=_Text(
            closing=(
                "总体而言，此次重构提升了代码组织性，但需要确认自动注册路径与兼容层的细节，以免在实际部署或第三方使用时产生意外的 import 错误。"
            ),
            summary=(
                "将所有模型组件的 Loader（adapter、bridge、image_encoder、scheduler、text_encoder、"
                "transformer、vae、vl_encoder、vocoder 等）统一迁入 "
                "`sglang.multimodal_gen.runtime.loader.component_loaders/` 子目录，并相应更新了内部 "
                "import 路径；`ComponentLoader` 的自动注册逻辑也改为在该子包下搜索。"
            ),
            scope=(
                "`sglang.multimodal_gen.runtime.loader.*` 中的所有 Loader 实现",
                "`pipelines_core` 各 stage（decoding、denoising 等）以及 `composed_pipeline_base.py` 中的 import",
                "动态注册机制 (`ComponentLoader._ensure_loaders_registered`)",
            ),
            recommendations=(
                "注册路径错误：`ComponentLoader` 中将 `package_name` 设为 "
                '`"sglang.multimodal_gen.runtime.loader.component_loaders.component_loaders"`，'
                "多了一级 `component_loaders`，导致 `pkgutil.iter_modules` 可能找不到实际的 loader 模块，"
                "运行时会报 “module not found”。建议改为 "
                '`"sglang.multimodal_gen.runtime.loader.component_loaders"` 并确保 `__init__.py` 正确导出子模块。',
                "向后兼容：外部代码可能仍使用旧路径（如 `sglang.multimodal_gen.runtime.loader.adapter_loader`）。"
                "若没有提供别名或迁移文档，升级后会出现 `ImportError`。可以在旧路径下添加 thin wrapper "
                "或在 `__init__.py` 中做导入转发，并在发行说明中给出迁移指引。",
                "循环依赖风险：多数 Loader 现在通过 `from …component_loaders.component_loader import "
                "ComponentLoader` 引入。检查是否还有旧的相对导入残留，防止在 `ComponentLoader` 加载时触发循环依赖。",
                "测试覆盖：请运行完整单元/集成测试，特别是涉及 `ComponentLoader.register` 的路径检测、"
                "模型分布式加载 (FSDP) 以及 pipeline 执行。若有失效的测试，需要相应更新 import。",
                "文档同步：更新 `docs/` 中关于 “Component Loader” 的章节，说明新目录结构及对应的 import 示例。",
            ),
        ),
        en=_Text(
            closing=(
                "Overall the refactor improves the code's organisation; check the registration path and the compatibility layer so deployments and third parties do not hit unexpected import errors."
            ),
            summary=(
                "Moves every model component loader (adapter, bridge, image_encoder, scheduler, "
                "text_encoder, transformer, vae, vl_encoder, vocoder, ...) into the "
                "`sglang.multimodal_gen.runtime.loader.component_loaders/` subpackage and updates "
                "the internal import paths; `ComponentLoader`'s automatic registration now searches "
                "that subpackage."
            ),
            scope=(
                "All loader implementations in `sglang.multimodal_gen.runtime.loader.*`",
                "Imports in the `pipelines_core` stages (decoding, denoising, ...) and "
                "`composed_pipeline_base.py`",
                "The dynamic registration (`ComponentLoader._ensure_loaders_registered`)",
            ),
            recommendations=(
                "Wrong registration path: `ComponentLoader` sets `package_name` to "
                '`"sglang.multimodal_gen.runtime.loader.component_loaders.component_loaders"`, '
                "one `component_loaders` too many, so `pkgutil.iter_modules` may not find the real "
                "loader modules and fail at run time with \u201cmodule not found\u201d. Use "
                '`"sglang.multimodal_gen.runtime.loader.component_loaders"` and make sure '
                "`__init__.py` exports the submodules.",
                "Backward compatibility: external code may still import the old paths (such as "
                "`sglang.multimodal_gen.runtime.loader.adapter_loader`). Without aliases or a "
                "migration note, upgrades raise `ImportError`. Add thin wrappers at the old paths or "
                "re-export from `__init__.py`, and explain the move in the release notes.",
                "Circular import risk: most loaders now import `from "
                "…component_loaders.component_loader import ComponentLoader`. Check for leftover "
                "relative imports that could create a cycle while `ComponentLoader` loads.",
                "Test coverage: run the full unit and integration tests, especially path discovery "
                "in `ComponentLoader.register`, distributed model loading (FSDP) and pipeline "
                "execution; update imports in any failing tests.",
                "Documentation: update the \u201cComponent Loader\u201d section in `docs/` with the new "
                "layout and matching import examples.",
            ),
        ),
    ),
    _Entry(
        sha="43eecd8265deefe82e84b4225800f3c021e2ad87",
        title="[diffusion] feat: support efficient sequence shard (#18161)",
        author="wxy",
        local_time="21:09:39",
        pr=18161,
        change_type=ChangeType.FEATURE,
        importance=Importance.MEDIUM,
        files=4,
        additions=173,
        deletions=12,
        zh=_Text(
            detail="为序列并行（Sequence‑Parallel）加入 Shard 支持",
            closing=(
                "整体来看，此次改动为多序列并行提供了高效切分路径，影响主要在视频模型前向和采样配置，需在分布式环境中充分回归测试以确保兼容性与显存/吞吐提升。"
            ),
            summary=(
                "在 `SamplingParams` 中新增 `enable_sequence_shard` 标志并提供 CLI 参数 "
                "`--enable-sequence-shard`，开启后自动关闭帧数调整。\n"
                "`preprocess_vae_image` 里加入对 `batch.enable_sequence_shard` 的快速返回，避免原有视频‑SP 逻辑。\n"
                "`WanVideo` 模型实现了序列维度切分：用 `lru_cache` 预计算仅针对本 rank 的 RoPE 位置信息；"
                "对 `hidden_states` 按 SP 大小进行 padding、reshape、切片；前向结束后再 `all_gather` 并去除 Padding。"
            ),
            scope=(
                "`python/sglang/multimodal_gen/configs/sample/sampling_params.py`（采样参数与 CLI）",
                "`python/sglang/multimodal_gen/configs/pipeline_configs/base.py`（前处理流水线）",
                "`python/sglang/multimodal_gen/runtime/models/dits/wanvideo.py`（核心 video‑model 前向）",
                "依赖 `get_sp_world_size / get_sp_parallel_rank / sequence_model_parallel_all_gather` 的分布式运行时模块",
            ),
            recommendations=(
                "兼容性：确认在未开启 `enable_sequence_shard` 时行为保持不变；`sp_size>1` 时才会触发新路径，避免单卡误触。",
                "性能验证：在多卡 SP 环境下对比 `torch.distributed` 的 `all_gather` 开销与原 SP 逻辑，"
                "确保 padding 与 reshape 不产生额外显存碎片。",
                "正确性：新增 `_compute_rope_for_sequence_shard` 依赖 `frame_stride_local` 与 `width_local`，"
                "需要在不同分辨率/帧率组合下做单元测试，防止索引越界。",
                "日志与调试：已加入 `logger.info` 提示开启状态，建议在关键步骤（padding、rank‑slice、gather）"
                "再加调试日志，方便定位分布式错误。",
                "文档：更新用户手册，说明开启后“frame adjustment”会被关闭，序列维度必须能被 `sp_size` 整除或自动 padding。",
            ),
        ),
        en=_Text(
            detail="sequence-parallel shard support",
            closing=(
                "Overall the change gives sequence parallelism an efficient sharding path; it mainly affects the video model's forward pass and the sampling config, and needs thorough regression tests in distributed setups."
            ),
            summary=(
                "Adds an `enable_sequence_shard` flag to `SamplingParams` with the CLI option "
                "`--enable-sequence-shard`; enabling it turns frame-count adjustment off.\n"
                "`preprocess_vae_image` returns early when `batch.enable_sequence_shard` is set, "
                "skipping the old video-SP logic.\n"
                "The `WanVideo` model shards the sequence dimension: `lru_cache` precomputes the RoPE "
                "positions of the local rank only; `hidden_states` are padded, reshaped and sliced "
                "by the SP size; after the forward pass they are `all_gather`ed and the padding removed."
            ),
            scope=(
                "`python/sglang/multimodal_gen/configs/sample/sampling_params.py` (sampling "
                "parameters and CLI)",
                "`python/sglang/multimodal_gen/configs/pipeline_configs/base.py` (preprocessing "
                "pipeline)",
                "`python/sglang/multimodal_gen/runtime/models/dits/wanvideo.py` (core video-model "
                "forward pass)",
                "Distributed runtime modules behind `get_sp_world_size / get_sp_parallel_rank / "
                "sequence_model_parallel_all_gather`",
            ),
            recommendations=(
                "Compatibility: confirm nothing changes while `enable_sequence_shard` is off; the new "
                "path should only trigger when `sp_size>1`, never by accident on one GPU.",
                "Performance: on multi-GPU SP setups, compare the `all_gather` cost of "
                "`torch.distributed` with the old SP logic and check that padding and reshaping do "
                "not fragment GPU memory.",
                "Correctness: the new `_compute_rope_for_sequence_shard` depends on "
                "`frame_stride_local` and `width_local`; unit-test it across resolutions and frame "
                "rates to rule out out-of-range indices.",
                "Logging and debugging: `logger.info` already reports the mode; add debug logs at the "
                "key steps (padding, rank slice, gather) to locate distributed errors.",
                "Documentation: tell users that enabling it turns \u201cframe adjustment\u201d off and "
                "that the sequence length must be divisible by `sp_size` or gets padded.",
            ),
        ),
    ),
    _Entry(
        sha="d71ccd886096544e216f125eb92177e6b9974bd4",
        title="fix: sync server_args.kv_cache_dtype when detecting FP8 KV cache (#18394)",
        author="Zack Yu",
        local_time="14:10:59",
        pr=18394,
        change_type=ChangeType.FIX,
        importance=Importance.MEDIUM,
        files=1,
        additions=14,
        deletions=1,
        zh=_Text(
            closing=(
                "通过上述同步，运行时参数与内部实现保持一致，降低因 dtype 不匹配导致的推理错误或性能异常。"
            ),
            summary=(
                "在 `model_runner.py` 中，当检测到 FP8 KV‑cache 时，原先只修改 `self.kv_cache_dtype`，"
                "导致 `server_args.kv_cache_dtype` 与实际 dtype 不一致，进而在后续调度或日志里出现冲突。"
                "此次提交新增 `TORCH_DTYPE_TO_KV_CACHE_STR` 映射表，并在设置 `self.kv_cache_dtype` 的分支里"
                "同步更新 `self.server_args.kv_cache_dtype`，确保两者保持一致。"
            ),
            scope=(
                "`python/sglang/srt/model_executor/model_runner.py`（KV‑cache 类型检测与配置）",
                "依赖 `server_args.kv_cache_dtype` 的启动参数解析、模型编译与日志输出模块",
            ),
            recommendations=(
                "兼容性检查：`torch.float8_*` 仅在 PyTorch≥2.1 中可用，建议在导入前加版本 guard，"
                "防止在旧版环境抛 AttributeError。",
                '文档同步：更新配置文档，说明 `kv_cache_dtype` 现在支持 `"fp8_e4m3"`、`"fp8_e5m2"` 与 `"bf16"`。',
                "测试覆盖：补充包含 FP8、BF16、默认 dtype 的单元测试，验证 `server_args.kv_cache_dtype` "
                "与 `self.kv_cache_dtype` 始终一致。",
                "日志审计：若已有监控依赖旧的 `server_args.kv_cache_dtype` 值，需确认不会产生误报。",
            ),
        ),
        en=_Text(
            closing=(
                "With this sync the runtime arguments and the implementation agree, which avoids inference errors or slowdowns from a dtype mismatch."
            ),
            summary=(
                "When `model_runner.py` detected an FP8 KV cache it only changed "
                "`self.kv_cache_dtype`, leaving `server_args.kv_cache_dtype` out of step with the "
                "real dtype and causing conflicts in later scheduling and logs. The commit adds a "
                "`TORCH_DTYPE_TO_KV_CACHE_STR` mapping and updates `self.server_args.kv_cache_dtype` "
                "in the same branch that sets `self.kv_cache_dtype`, keeping the two consistent."
            ),
            scope=(
                "`python/sglang/srt/model_executor/model_runner.py` (KV-cache dtype detection and "
                "configuration)",
                "Argument parsing, model compilation and logging that read `server_args.kv_cache_dtype`",
            ),
            recommendations=(
                "Compatibility: `torch.float8_*` only exists in PyTorch>=2.1; add a version guard "
                "before using it so older environments do not raise AttributeError.",
                'Documentation: state that `kv_cache_dtype` now supports `"fp8_e4m3"`, '
                '`"fp8_e5m2"` and `"bf16"`.',
                "Test coverage: add unit tests with FP8, BF16 and the default dtype checking that "
                "`server_args.kv_cache_dtype` always equals `self.kv_cache_dtype`.",
                "Log audit: if monitoring relies on the old `server_args.kv_cache_dtype` value, make "
                "sure it does not raise false alarms.",
            ),
        ),
    ),
    _Entry(
        sha="7b836593108559f8db954375f0e64bb38637363e",
        title="fix: fix NVFP4 Kimi-K2.5 weight mapping and exclude list (#18370)",
        author="Mohammad Miadh Angkad",
        local_time="10:23:48",
        pr=18370,
        change_type=ChangeType.FIX,
        importance=Importance.MEDIUM,
        files=2,
        additions=41,
        deletions=3,
        zh=_Text(
            closing=(
                "总体来看，此次改动精准定位了 NVFP4 权重前缀不匹配的问题，修复路径清晰且对现有代码影响有限。"
            ),
            summary=(
                "为 NVIDIA Kimi‑K2.5‑NVFP4 权重映射加入统一的 `WeightsMapper`，并在量化配置中统一处理 "
                "`exclude_modules` 前缀；在 `KimiK25ForConditionalGeneration` 中使用该映射，"
                "使 HF‑style 权重文件能够直接加载。"
            ),
            scope=(
                "`python/sglang/srt/layers/quantization/modelopt_quant.py`：新增 `apply_weight_name_mapper` "
                "方法，实现对 `exclude_modules` 列表的前缀映射与去重。",
                "`python/sglang/srt/models/kimi_k25.py`：为 Kimi‑K2.5 模型声明 `hf_to_sglang_mapper`，"
                "在 `load_weights` 前对权重键进行映射。",
                "相关工具 `sglang.srt.models.utils.WeightsMapper`（未改动，但被新加入的代码依赖）。",
            ),
            recommendations=(
                "映射实现可靠性：`WeightsMapper.apply_list` 与 `apply` 必须在所有键上保持幂等，"
                "避免出现未映射的残留前缀导致加载错误。\n"
                "`apply_weight_name_mapper` 中使用 `dict.fromkeys` 去重，仅在 Python≥3.7 保证顺序，"
                "确认项目运行环境满足此要求。",
                "兼容性验证：该映射仅针对 NVFP4 的 HF 配置；若以后引入其他模型的不同前缀，需要在相应模型类中"
                "显式声明 `hf_to_sglang_mapper`。\n"
                "对不需要映射的模型（如已有的 DeepSeek、LLaMA 等），`mapper` 为 `None`，保持原有行为。",
                "测试与监控：增加针对 `exclude_modules` 映射的单元测试；在 CI 中加入对 "
                "`KimiK25ForConditionalGeneration.load_weights` 的集成测试，使用官方 HF 权重文件确保完整加载不报错。",
                "性能考虑：权重映射在加载阶段执行一次，开销极小；若后续出现大批量权重转移（如分片加载），"
                "可考虑缓存映射结果。",
            ),
        ),
        en=_Text(
            closing=(
                "Overall the change pins down the NVFP4 weight-prefix mismatch with a clear fix and little impact on existing code."
            ),
            summary=(
                "Adds a unified `WeightsMapper` for the NVIDIA Kimi-K2.5-NVFP4 weight mapping and "
                "handles `exclude_modules` prefixes uniformly in the quantization config; "
                "`KimiK25ForConditionalGeneration` uses the mapping so HF-style weight files load "
                "directly."
            ),
            scope=(
                "`python/sglang/srt/layers/quantization/modelopt_quant.py`: new "
                "`apply_weight_name_mapper` method that maps and deduplicates the prefixes of the "
                "`exclude_modules` list.",
                "`python/sglang/srt/models/kimi_k25.py`: declares `hf_to_sglang_mapper` for "
                "Kimi-K2.5 and maps weight keys before `load_weights`.",
                "The helper `sglang.srt.models.utils.WeightsMapper` (unchanged, but the new code "
                "depends on it).",
            ),
            recommendations=(
                "Mapping reliability: `WeightsMapper.apply_list` and `apply` must be idempotent on "
                "every key, or leftover unmapped prefixes break loading.\n"
                "`apply_weight_name_mapper` deduplicates with `dict.fromkeys`, which keeps order only "
                "on Python>=3.7; confirm the runtime meets that.",
                "Compatibility: the mapping only covers the NVFP4 HF config; models with other "
                "prefixes must declare their own `hf_to_sglang_mapper`.\n"
                "Models that need no mapping (DeepSeek, LLaMA, ...) keep `mapper` as `None` and "
                "behave as before.",
                "Tests and monitoring: add unit tests for the `exclude_modules` mapping and a CI "
                "integration test of `KimiK25ForConditionalGeneration.load_weights` with the "
                "official HF weights.",
                "Performance: mapping runs once at load time and costs little; cache the result if "
                "large sharded loads appear later.",
            ),
        ),
    ),
    _Entry(
        sha="031a652b936ce0a3e468b2de7411293b05d1c189",
        title="Fix TRT-LLM MLA backend applying k_scale to BF16 KV cache in BMM1 (#18396)",
        author="debo3",
        local_time="23:11:16",
        pr=18396,
        change_type=ChangeType.REFACTOR,
        importance=Importance.LOW,
        files=1,
        additions=18,
        deletions=4,
        zh=_Text(
            summary=(
                "在 TRT-LLM MLA 后端实现中，仅在 KV 缓存为 FP8 时才使用 `k_scale`，并在非 FP8 场景下记录"
                "一次性警告，防止错误缩放。新增日志记录并完善注释。"
            ),
            scope=("python/sglang/srt/layers/attention/trtllm_mla_backend.py",),
        ),
        en=_Text(
            summary=(
                "The TRT-LLM MLA backend now applies `k_scale` only when the KV cache is FP8 and "
                "logs a one-time warning otherwise, preventing wrong scaling. Adds logging and "
                "clearer comments."
            ),
            scope=("python/sglang/srt/layers/attention/trtllm_mla_backend.py",),
        ),
    ),
    _Entry(
        sha="ca36d88fa640bcdfc85fec2a267d6a2efa2052a7",
        title="[ModelOpt] Fix broken Qwen3-235B-A22B-Instruct-2507-NVFP4 launch (#18189)",
        author="Yi Zhong",
        local_time="22:35:28",
        pr=18189,
        change_type=ChangeType.REFACTOR,
        importance=Importance.LOW,
        files=1,
        additions=9,
        deletions=0,
        zh=_Text(
            summary=(
                "在 `Qwen3MoeForCausalLM` 中新增 `packed_modules_mapping`，映射融合模块到其子权重，"
                "确保量化配置（如 ModelOpt FP4）在排除模块时能正确识别对应层。"
            ),
            scope=("python/sglang/srt/models/qwen3_moe.py",),
        ),
        en=_Text(
            summary=(
                "Adds `packed_modules_mapping` to `Qwen3MoeForCausalLM`, mapping fused modules to "
                "their sub-weights so quantization configs (such as ModelOpt FP4) recognise the right "
                "layers when excluding modules."
            ),
            scope=("python/sglang/srt/models/qwen3_moe.py",),
        ),
    ),
    _Entry(
        sha="f600965b0ee2251558718c9e559fe6585b7b0e42",
        title="[CI] fix: notebook ci may not working (#18417)",
        author="shuwenn",
        local_time="14:26:35",
        pr=18417,
        change_type=ChangeType.CI,
        importance=Importance.LOW,
        files=1,
        additions=27,
        deletions=6,
        zh=_Text(
            summary=(
                "优化 Execute‑Notebooks 工作流，新增 PR gate 检查、排除 Markdown 路径，改为依据 `run-ci` "
                "标签或 gate 成功决定执行，防止 notebook CI 未触发。"
            ),
            scope=(".github/workflows/execute-notebook.yml",),
        ),
        en=_Text(
            summary=(
                "Reworks the Execute-Notebooks workflow: adds a PR gate check, ignores Markdown paths "
                "and runs on the `run-ci` label or a passing gate, so notebook CI is no longer "
                "skipped."
            ),
            scope=(".github/workflows/execute-notebook.yml",),
        ),
    ),
    _Entry(
        sha="8e2e835c2f42da6afc9939a633f4acc07bcc0288",
        title="[Fix] Fix backend selection after flashinfer version update (#18364)",
        author="DarkSharpness",
        local_time="11:20:41",
        pr=18364,
        change_type=ChangeType.REFACTOR,
        importance=Importance.LOW,
        files=1,
        additions=12,
        deletions=8,
        zh=_Text(
            summary=(
                "在 `flashinfer_backend.py` 中新增 `prefill_backend`、`decode_backend` 成员，统一使用这些属性"
                '而非硬编码 `"fa2"`，修复 FlashInfer 版本升级后后端选择错误的问题。'
            ),
            scope=("python/sglang/srt/layers/attention/flashinfer_backend.py",),
        ),
        en=_Text(
            summary=(
                "Adds `prefill_backend` and `decode_backend` members to `flashinfer_backend.py` and "
                'uses them instead of a hard-coded `"fa2"`, fixing backend selection after the '
                "FlashInfer upgrade."
            ),
            scope=("python/sglang/srt/layers/attention/flashinfer_backend.py",),
        ),
    ),
)

OVERVIEW = {
    "zh": (
        "本日 sglang 的重点是多模态生成运行时新增华为 Ascend NPU 平台支持（#13662），涉及设备抽象、"
        "分布式后端与 CI。其余提交集中在量化权重映射与 KV cache dtype 的修复，以及 diffusion 组件的"
        "目录重构和序列并行切分。合入 NPU 支持后，请留意非 NPU 环境下的 `torch_npu` 导入保护。"
    ),
    "en": (
        "The day's main change adds Huawei Ascend NPU support to the multimodal generation "
        "runtime (#13662), touching the device abstraction, the distributed backend and CI. The "
        "other commits fix quantized weight mapping and the KV cache dtype, restructure the "
        "diffusion component loaders and add sequence sharding. After the NPU merge, watch the "
        "`torch_npu` import guards on non-NPU machines."
    ),
}


def _committed_at(entry: _Entry) -> datetime:
    hour, minute, second = (int(part) for part in entry.local_time.split(":"))
    return datetime(2026, 2, 8, hour, minute, second, tzinfo=_ZONE)


def reference_window() -> Window:
    """2026-02-08 as one local day in Asia/Shanghai."""
    start = datetime(2026, 2, 8, tzinfo=_ZONE)
    return Window(start=start, end=start + timedelta(days=1), tz=TZ, label=DAY)


def reference_commit_summaries() -> tuple[CommitSummary, ...]:
    """The nine commits as a listing returns them, newest first (the report's table order)."""
    ordered = sorted(_ENTRIES, key=_committed_at, reverse=True)
    return tuple(
        CommitSummary(
            repo=REPO,
            sha=entry.sha,
            title=entry.title,
            author=entry.author,
            committed_at=_committed_at(entry),
            parents=(f"{index:040x}",),
            url=f"{REPO_URL}/commit/{entry.sha}",
        )
        for index, entry in enumerate(ordered, start=1)
    )


def reference_analyses(language: Language = "zh") -> dict[str, CommitAnalysis]:
    """Each commit's analysis in `language`, keyed by full SHA."""
    result: dict[str, CommitAnalysis] = {}
    for entry in _ENTRIES:
        text = entry.zh if language == "zh" else entry.en
        result[entry.sha] = CommitAnalysis(
            sha=entry.sha,
            change_type=entry.change_type,
            importance=entry.importance,
            summary=text.summary,
            change_type_detail=text.detail,
            scope=text.scope,
            insights=text.insights,
            risks=text.risks,
            recommendations=text.recommendations,
            closing=text.closing,
            provenance=AnalysisProvenance(
                analyzer="llm",
                model=MODEL,
                prompt_version=PROMPT_VERSION,
                language=language,
                coverage=Coverage(
                    files_total=entry.files,
                    files_sent=entry.files,
                    lines_total=entry.additions + entry.deletions,
                    lines_sent=entry.additions + entry.deletions,
                ),
                prompt_tokens=900 + 40 * entry.files,
                completion_tokens=1200 if entry.importance is Importance.HIGH else 450,
            ),
        )
    return result


def reference_items(language: Language = "zh") -> tuple[DigestItem, ...]:
    """The digest items sorted like a Digest: importance high→low, then newest first."""
    summaries = {summary.sha: summary for summary in reference_commit_summaries()}
    analyses = reference_analyses(language)
    ordered = sorted(
        _ENTRIES, key=lambda entry: (entry.importance.rank, -_committed_at(entry).timestamp())
    )
    return tuple(
        DigestItem(
            commit=summaries[entry.sha],
            pr_number=entry.pr,
            pr_url=f"{REPO_URL}/pull/{entry.pr}",
            files_changed=entry.files,
            additions=entry.additions,
            deletions=entry.deletions,
            analysis=analyses[entry.sha],
        )
        for entry in ordered
    )


def reference_digest(language: Language = "zh", *, with_overview: bool = False) -> Digest:
    """The reference report's digest; `with_overview` adds a three-sentence day overview."""
    items = reference_items(language)
    analyses = [item.analysis for item in items]
    return Digest(
        repo=REPO,
        repo_url=REPO_URL,
        window=reference_window(),
        language=language,
        items=items,
        stats=DigestStats(total=9, high=1, medium=4, low=4),
        overview=OVERVIEW[language] if with_overview else None,
        provenance=DigestProvenance(
            generated_at=GENERATED_AT,
            analyzers=("llm",),
            model=MODEL,
            prompt_version=PROMPT_VERSION,
            llm_analyses=len(analyses),
            prompt_tokens=sum(a.provenance.prompt_tokens for a in analyses),
            completion_tokens=sum(a.provenance.completion_tokens for a in analyses),
        ),
    )


def reference_digest_with_overview(language: Language = "zh") -> Digest:
    """`reference_digest` with its day overview."""
    return reference_digest(language, with_overview=True)


def empty_digest(language: Language = "en") -> Digest:
    """The same repo and day with no commits (a quiet day)."""
    return Digest(
        repo=REPO,
        repo_url=REPO_URL,
        window=reference_window(),
        language=language,
        provenance=DigestProvenance(generated_at=GENERATED_AT),
    )


def big_digest(count: int = 60) -> Digest:
    """The reference day's commits repeated under new SHAs: several messages' worth."""
    base = reference_digest("en")
    items = []
    for index in range(count):
        item = base.items[index % len(base.items)]
        sha = f"{index:06x}" + item.commit.sha[6:]
        items.append(
            item.model_copy(
                update={
                    "commit": item.commit.model_copy(update={"sha": sha}),
                    "analysis": item.analysis.model_copy(update={"sha": sha}),
                }
            )
        )
    return base.model_copy(update={"items": tuple(items)})
