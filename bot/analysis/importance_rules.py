"""The heuristic's importance rules as one table: the first rule that applies decides.

| rule id                | applies when                                                     |
|------------------------|------------------------------------------------------------------|
| low:bot                | a bot account wrote it                                           |
| low:merge              | a merge commit without a pull request                           |
| low:no-product-code    | only tests, docs, CI, scripts, benchmarks, examples, ownership   |
|                        | or lock files change (whatever the size)                         |
| low:version-bump       | a release or version bump                                       |
| low:formatting         | formatting or whitespace only                                    |
| low:wording            | typo, wording, comment or docstring fixes that change no         |
|                        | definition, setting, error or dependency                         |
| low:compile-time       | performance work on compile, JIT or build time                   |
| high:security          | a security fix                                                   |
| high:breaking          | the commit declares itself breaking (`!`, BREAKING CHANGE, label,|
|                        | "remove support for…"; a title that only says it removes an API  |
|                        | counts when the facts show a public name, export or setting gone)|
| high:api-removed       | the facts show a public definition of the API surface removed,   |
|                        | renamed or moved, or an export dropped                           |
| high:new-platform      | a new hardware target, platform or backend (title words, or a    |
|                        | new module under platforms/)                                     |
| high:new-subsystem     | ≥ 10,000 lines of new product files                              |
| high:architecture      | product modules moved en masse (≥ 10), or a restructure of ≥ 20  |
|                        | product files                                                    |
| medium:correctness     | a fix in kernels or core code naming a correctness or memory-    |
|                        | safety failure (out of bounds, overflow, race, NaN, hang, …)     |
| medium:deprecation     | deprecates existing behaviour or API                             |
| medium:module-removed  | product modules with public names deleted (outside the surface)  |
| medium:exports-removed | product modules stop exporting names (outside the surface)       |
| medium:new-parameters  | public functions gain or lose parameters                         |
| medium:default-changed | a default that changes behaviour (changed default, new setting   |
|                        | on by default, a setting removed from a file that lives on)      |
| medium:validation      | new raises or checks in existing product code                    |
| medium:dependencies    | a runtime dependency is added, dropped or re-versioned           |
| medium:fix             | any other fix in product code                                    |
| medium:feature         | a feature in product code                                        |
| medium:perf            | performance work in product code                                 |
| medium:revert          | a revert of product code                                         |
| medium:refactor        | a refactor of ≥ 3 product files and ≥ 100 lines, or one that     |
|                        | moves files                                                      |
| low:small-change       | everything else: small, local upkeep                             |

"API surface" is what a caller can import (`PathRoles.is_surface`): modules at most two levels
into a package and their `__init__` exports, headers under `include/`, or the repository's
`public_api` globs. Only module-level definitions count as removed API; in C/C++ only a real
removal of a non-kernel declaration (headers move and rename freely inside kernel libraries).
Kernels and core code come from bot/analysis/paths.py (per-repository TOML tuning). The rule
that decided is recorded in the analysis (`provenance.rule`) and its reason is shown in
`details` and in the JSON output.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from bot.analysis.cleaner import clean_text
from bot.analysis.footprint import Footprint
from bot.analysis.heuristic_rules import HARDWARE_TAGS, PLATFORM_PREFIXES, TitleParts
from bot.analysis.paths import C_FAMILY, PathKind, PathRoles, is_runtime_manifest
from bot.models import ChangeFacts, ChangeType, Commit, Importance, Language, SymbolChange

NEW_SUBSYSTEM_LINES = 10_000
MASS_MOVE_FILES = 10
RESTRUCTURE_FILES = 20
REFACTOR_FILES = 3
REFACTOR_LINES = 100
_PRODUCT = frozenset({PathKind.CORE})

# Failures a fix names. Numeric: the outputs were wrong; resource: the process crashed, hung,
# leaked or ran out of memory. A fix can name both.
_NUMERIC_FAILURE_RE = re.compile(
    r"out[- ]of[- ]bounds?|\boob\b|overflow|underflow|\bnan\b|\binf\b|corrupt|misalign"
    r"|wrong (?:result|output|value)|incorrect (?:result|output|value)|uninitiali[sz]ed"
    r"|invalid read|silently|mismatch|precision loss|loss of precision"
    # "numerical"/"accuracy" only as a failure ("the numerical contract is unchanged" is none)
    r"|numerical(?:ly)? (?:error|issue|instabilit|mismatch|difference|drift|wrong|incorrect)"
    r"|accuracy (?:drop|loss|regression|issue|bug|degradation|problem)"
    r"|(?:bad|low|wrong|poor|degraded|broken) accuracy"
)
_RESOURCE_FAILURE_RE = re.compile(
    r"\brace\b|race condition|data race|deadlock|livelock|\bhang|illegal (?:memory|address"
    r"|instruction)|segfault|seg fault|crash|use[- ]after[- ]free|memory leak|\bleak"
    r"|double free|invalid write|\boom\b|out of memory"
)
# The title's subject is the wording ("fix typo in …", "update docstrings of …"), not a code
# fix that mentions comments or docs somewhere ("fix crash when docs URL is missing").
_WORDING_RE = re.compile(
    r"^(?:(?:fix|correct|update|improve|clarify|polish|tweak|reword|clean(?:\s+up)?)\w*\s+"
    r"(?:\w+\s+)?)?(?:typos?|spelling|misspell\w*|grammar|wording|duplicated words?|comments?"
    r"|docstrings?|documentation|docs?)\b"
)
_COMPILE_TIME_RE = re.compile(
    r"compile[- ]time|compilation time|reduce compile|faster (?:jit|compile|build)|build time"
    r"|\bjit (?:time|overhead)|recompil"
)
_DEPRECATION_RE = re.compile(
    r"\bdeprecat(?:e|es|ed|ing|ion)\b|\bmark(?:ed|s)? .{0,60}\bas deprecated\b"
)
_RESTRUCTURE_RE = re.compile(
    r"\b(?:restructure|reorgani[sz]e|taxonomy|re-?architect|overhaul|rewrite|split \w+ into)\b"
)
_ARCH = (
    r"(?:sm[ _]?\d{2,3}[a-z]?|sm\d+x|rubin|blackwell|hopper|ampere|ada|gb\d{3}|b[23]00|h[12]00"
    r"|mi\d{3}x?|gfx\d{3,4}|ascend|npu|rocm|hip|xpu|tpu|hpu|gaudi|musa|mlu|metal|apple silicon"
    r"|aarch64|arm64|risc-?v|jetson)"
)
_TARGET_VERBS = (
    r"(?:add|adds|added|enable|enables|initial|introduce|introduces|bring[- ]up|brings up|port"
    r"|ports|integrate|integrates|reland|relands|relanded)"
)
_VERB_TARGET_RE = re.compile(rf"\b{_TARGET_VERBS}\s+(?:\w+\s+){{0,2}}?{_ARCH}\s+support\b")
_NEW_TARGET_RE = re.compile(
    rf"\b{_TARGET_VERBS}\s+(?:\w+\s+){{0,2}}?{_ARCH}\s+support\b"
    rf"|\b{_ARCH}\s+support\b(?!\s+(?:in|for)\s+(?:the\s+)?\w+\s+kernels?)"
    rf"|\bsupport\s+(?:for\s+)?{_ARCH}\b\s*(?:$|\(|,|\band\b)"
    rf"|\bkernels?\s+for\s+{_ARCH}\b"
)
_ARCH_RE = re.compile(rf"\b{_ARCH}\b")
_PLATFORM_FILE_RE = re.compile(r"(?:^|/)platforms?/|_platform\.\w+$")
_PLATFORM_SUPPORT_RE = re.compile(
    rf"\bsupport(?:s|ed)?\b.{{0,40}}\b{_ARCH}\b.{{0,20}}\b(?:platform|backend|devices?|gpus?)\b"
)
_BACKEND_RE = re.compile(r"\bbackends?\b")
_NEW_BACKEND_RE = re.compile(
    r"\b(?:add|adds|added|new|introduce|introduces|integrate|integrates|port|ports)\b.{0,80}?"
    r"\bbackends?\b|\bbackend\b.{0,40}\b(?:for|on)\b"
)


@dataclass(frozen=True)
class Signals:
    """What the importance rules look at, computed once per commit."""

    commit: Commit
    change_type: ChangeType
    title: TitleParts
    footprint: Footprint
    facts: ChangeFacts
    roles: PathRoles
    trivial_reason: str | None  # bot, merge, version-bump, formatting: decided by the type rules
    declared_breaking: tuple[str, ...]  # what the message says (classification._breaking)
    revert: bool

    @cached_property
    def breaking(self) -> tuple[str, ...]:
        """The declared reasons that hold: a title that only says it removes an API
        ("api-removal") counts when the facts show a public name, export or setting gone."""
        return tuple(
            why
            for why in self.declared_breaking
            if why != "api-removal" or self.removed_names or self.settings_dropped
        )

    @cached_property
    def lowered_title(self) -> str:
        return self.title.clean.lower()

    @cached_property
    def product_paths(self) -> tuple[str, ...]:
        return tuple(
            change.path
            for change in self.commit.files
            if self.roles.kind(change.path) in _PRODUCT or is_runtime_manifest(change.path)
        )

    @cached_property
    def product_set(self) -> frozenset[str]:
        return frozenset(self.product_paths)

    @cached_property
    def touches_product(self) -> bool:
        return bool(self.product_paths)

    @cached_property
    def product_lines(self) -> int:
        paths = self.product_set
        return sum(change.changes for change in self.commit.files if change.path in paths)

    @cached_property
    def kernels(self) -> tuple[str, ...]:
        return tuple(p for p in self.product_paths if self.roles.is_kernel(p))

    @cached_property
    def new_product_lines(self) -> int:
        return sum(
            change.additions
            for change in self.commit.files
            if change.status == "added" and self.roles.kind(change.path) in _PRODUCT
        )

    @cached_property
    def moved_product(self) -> int:
        return sum(
            1
            for change in self.commit.files
            if change.previous_path
            and change.previous_path != change.path
            and self.roles.kind(change.path) in _PRODUCT
        )

    def _api_symbol(self, symbol: SymbolChange) -> bool:
        """A module-level public definition callers could import, gone under its old name."""
        if not symbol.public or "." in symbol.name or "::" in symbol.name:
            return False
        if symbol.language in ("c++", "c") or symbol.path.endswith(C_FAMILY):
            # Headers move and rename freely inside kernel libraries: only a real removal of
            # a non-kernel declaration counts.
            return symbol.kind == "removed" and "__global__" not in (symbol.before or "")
        return symbol.kind in ("removed", "renamed", "moved")

    @cached_property
    def api_removed(self) -> tuple[str, ...]:
        gone = [
            s.old_name or s.name
            for s in self.facts.symbols
            if self._api_symbol(s) and self.roles.is_surface(s.old_path or s.path)
        ]
        gone += [
            e.name
            for e in self.facts.exports
            if e.kind == "removed" and self.roles.is_surface(e.path)
        ]
        return tuple(dict.fromkeys(gone))

    @cached_property
    def deleted_paths(self) -> frozenset[str]:
        return frozenset(c.path for c in self.commit.files if c.status == "removed")

    @cached_property
    def removed_names(self) -> tuple[str, ...]:
        """Public module-level names any product module lost, at any depth."""
        names = [
            s.old_name or s.name
            for s in self.facts.symbols
            if s.kind in ("removed", "renamed")
            and s.public
            and "." not in s.name
            and "::" not in s.name
            and self.roles.kind(s.old_path or s.path) in _PRODUCT
        ]
        names += self.exports_dropped
        return tuple(dict.fromkeys(names))

    @cached_property
    def settings_dropped(self) -> tuple[str, ...]:
        """Settings removed from files that live on (a deleted script takes its flags along:
        that is the module's removal, not a setting's)."""
        return tuple(
            s.name
            for s in self.facts.settings
            if s.change == "removed" and s.path not in self.deleted_paths
        )

    @cached_property
    def exports_dropped(self) -> tuple[str, ...]:
        """Names product modules stop exporting (`__init__` imports, `__all__`), any depth."""
        return tuple(
            dict.fromkeys(
                e.name
                for e in self.facts.exports
                if e.kind == "removed" and self.roles.kind(e.path) in _PRODUCT
            )
        )

    @cached_property
    def removed_modules(self) -> tuple[str, ...]:
        """Deleted product modules that defined or exported public names."""
        public = {s.path for s in self.facts.symbols if s.kind == "removed" and s.public}
        public |= {e.path for e in self.facts.exports if e.kind == "removed"}
        return tuple(
            sorted(
                path
                for path in self.deleted_paths & public
                if self.roles.kind(path) is PathKind.CORE
            )
        )

    @cached_property
    def parameters_changed(self) -> tuple[str, ...]:
        changed = []
        for s in self.facts.symbols:
            if s.kind != "signature" or not s.public or not self.roles.is_surface(s.path):
                continue
            positional = s.language in ("c++", "c") or s.path.endswith(C_FAMILY)
            if positional and len(s.params_added) == len(s.params_removed):
                continue  # renaming a C/C++ parameter breaks nobody; arity does
            if s.params_added or s.params_removed:
                changed.append(s.name)
        return tuple(changed)

    @cached_property
    def defaults_changed(self) -> tuple[str, ...]:
        names = [
            s.name
            for s in self.facts.symbols
            if s.kind == "signature" and s.public and s.defaults_changed
        ]
        names += [s.name for s in self.facts.settings if s.change == "default" or s.on_by_default]
        names += self.settings_dropped
        return tuple(dict.fromkeys(names))

    @cached_property
    def new_checks(self) -> tuple[str, ...]:
        new_files = {c.path for c in self.commit.files if c.status == "added"}
        return tuple(
            e.text
            for e in self.facts.errors
            if e.change == "added"
            and e.path not in new_files
            and self.roles.kind(e.path) in _PRODUCT
        )

    @cached_property
    def runtime_dependencies(self) -> tuple[str, ...]:
        """Runtime dependencies that change: from the facts, or, for a manifest whose patch
        the source did not send, the manifest itself."""
        names = [d.name for d in self.facts.dependencies if is_runtime_manifest(d.path)]
        names += [
            c.path
            for c in self.commit.files
            if c.patch is None and c.changes and is_runtime_manifest(c.path)
        ]
        return tuple(names)

    @cached_property
    def new_platform(self) -> bool:
        if (
            self.change_type not in (ChangeType.FEATURE, ChangeType.CHORE)
            or not self.touches_product
        ):
            return False  # performance work on existing hardware is not a new target
        title = self.lowered_title
        feature = self.change_type is ChangeType.FEATURE
        if feature and self.title.prefix in PLATFORM_PREFIXES:
            return True
        if feature and any(tag in HARDWARE_TAGS for tag in self.title.tags):
            return True
        if _NEW_TARGET_RE.search(title) and self.change_type is ChangeType.FEATURE:
            return True
        if _ARCH_RE.search(title) and _VERB_TARGET_RE.search(self.lead):
            return True  # "SM 107 reland": the body says what the title only names
        adds_files = any(
            c.status == "added" for c in self.commit.files if c.path in self.product_set
        )
        if feature and _PLATFORM_SUPPORT_RE.search(title):
            return True
        if feature and any(
            _PLATFORM_FILE_RE.search(p) for p in self.footprint.added_platform_files
        ):
            return True  # a new module under platforms/, or a *_platform module
        backend = _NEW_BACKEND_RE.search(title) or _BACKEND_RE.search(title)
        return feature and adds_files and backend is not None

    @cached_property
    def body(self) -> str:
        """The cleaned body, lower-cased: no PR-template headings ("## Accuracy Tests")."""
        return clean_text(self.commit.body[:4000]).lower()

    @cached_property
    def lead(self) -> str:
        """The first paragraph of the cleaned body (what the author leads with)."""
        return self.body.split("\n\n", 1)[0]

    @cached_property
    def failures(self) -> tuple[str, ...]:
        """What a fix says it fixes: "numeric" (wrong or NaN outputs, out-of-bounds reads) and/or
        "resource" (crashes, hangs, leaks, out of memory, races), from title and body."""
        text = self.lowered_title + " " + self.body[:2000]
        kinds = [
            kind
            for kind, pattern in (
                ("numeric", _NUMERIC_FAILURE_RE),
                ("resource", _RESOURCE_FAILURE_RE),
            )
            if pattern.search(text)
        ]
        return tuple(kinds)

    @cached_property
    def correctness_words(self) -> bool:
        return bool(self.failures)


@dataclass(frozen=True)
class ImportanceRule:
    """One row of the table: when it applies, what it decides, and why (en, zh)."""

    id: str
    importance: Importance
    applies: Callable[[Signals], bool]
    reason: tuple[str, str]
    confidence: float  # how sure the heuristic is when this rule decides (for LLM triage)
    trivial: bool = False  # a low rule that needs no reading: the LLM triage may skip the patch

    def explain(self, language: Language) -> str:
        return self.reason[1] if language == "zh" else self.reason[0]


_NO_CODE_TYPES = (ChangeType.DOCS, ChangeType.TEST, ChangeType.CI)


def _wording(s: Signals) -> bool:
    return (
        bool(_WORDING_RE.search(s.lowered_title))
        and s.facts.empty
        and s.change_type
        in (
            ChangeType.DOCS,
            ChangeType.FIX,
            ChangeType.CHORE,
        )
    )


IMPORTANCE_RULES: tuple[ImportanceRule, ...] = (
    ImportanceRule(
        "low:bot",
        Importance.LOW,
        lambda s: s.trivial_reason == "bot",
        ("written by a bot account", "由机器人账号提交"),
        0.95,
        trivial=True,
    ),
    ImportanceRule(
        "low:merge",
        Importance.LOW,
        lambda s: s.trivial_reason == "merge",
        ("a merge commit without a pull request", "没有关联 PR 的合并提交"),
        0.95,
        trivial=True,
    ),
    ImportanceRule(
        "low:no-product-code",
        Importance.LOW,
        lambda s: not s.touches_product,
        (
            "changes no product code (only tests, docs, CI, scripts, benchmarks or ownership)",
            "未修改产品代码（仅涉及测试、文档、CI、脚本、基准或代码归属）",
        ),
        0.95,
        trivial=True,
    ),
    ImportanceRule(
        "low:version-bump",
        Importance.LOW,
        lambda s: s.trivial_reason == "version-bump",
        ("a version bump", "版本号更新"),
        0.95,
        trivial=True,
    ),
    ImportanceRule(
        "low:formatting",
        Importance.LOW,
        lambda s: s.trivial_reason == "formatting",
        ("formatting or whitespace only", "仅格式或空白调整"),
        0.95,
        trivial=True,
    ),
    ImportanceRule(
        "low:wording",
        Importance.LOW,
        _wording,
        (
            "wording, comment or docstring fixes that change no definition or setting",
            "仅修正措辞、注释或文档字符串，不改变任何定义或配置",
        ),
        0.9,
        trivial=True,
    ),
    ImportanceRule(
        "low:compile-time",
        Importance.LOW,
        lambda s: (
            s.change_type is ChangeType.PERF and bool(_COMPILE_TIME_RE.search(s.lowered_title))
        ),
        ("speeds up compilation, not the code users run", "优化编译耗时，不影响运行时行为"),
        0.8,
    ),
    ImportanceRule(
        "high:security",
        Importance.HIGH,
        lambda s: s.change_type is ChangeType.SECURITY,
        ("a security fix", "安全修复"),
        0.85,
    ),
    ImportanceRule(
        "high:breaking",
        Importance.HIGH,
        lambda s: bool(s.breaking) and s.change_type not in _NO_CODE_TYPES,
        ("the commit declares a breaking change", "提交声明了破坏性变更"),
        0.85,
    ),
    ImportanceRule(
        "high:api-removed",
        Importance.HIGH,
        lambda s: bool(s.api_removed) and not s.revert,
        (
            "removes, renames or moves public API that callers import",
            "移除、重命名或迁移了调用方会导入的公开接口",
        ),
        0.9,
    ),
    ImportanceRule(
        "high:new-platform",
        Importance.HIGH,
        lambda s: s.new_platform,
        ("adds a new hardware target, platform or backend", "新增硬件目标、平台或后端"),
        0.8,
    ),
    ImportanceRule(
        "high:new-subsystem",
        Importance.HIGH,
        lambda s: (
            s.change_type in (ChangeType.FEATURE, ChangeType.PERF, ChangeType.REFACTOR)
            and s.new_product_lines >= NEW_SUBSYSTEM_LINES
        ),
        (
            "adds a whole new subsystem (≥ 10,000 new lines)",
            "新增完整子系统（新增代码 ≥ 10,000 行）",
        ),
        0.8,
    ),
    ImportanceRule(
        "high:architecture",
        Importance.HIGH,
        lambda s: (
            s.moved_product >= MASS_MOVE_FILES
            or (
                s.change_type is ChangeType.REFACTOR
                and bool(_RESTRUCTURE_RE.search(s.lowered_title))
                and len(s.product_paths) >= RESTRUCTURE_FILES
            )
        ),
        ("a broad architectural move", "大范围的架构调整"),
        0.8,
    ),
    ImportanceRule(
        "medium:correctness",
        Importance.MEDIUM,
        lambda s: (
            s.change_type in (ChangeType.FIX, ChangeType.REVERT)
            and s.touches_product
            and s.correctness_words
        ),
        (
            "fixes a correctness or memory-safety failure in kernels or core code",
            "修复了内核或核心代码中的正确性或内存安全问题",
        ),
        0.85,
    ),
    ImportanceRule(
        "medium:deprecation",
        Importance.MEDIUM,
        lambda s: (
            s.change_type not in _NO_CODE_TYPES and bool(_DEPRECATION_RE.search(s.lowered_title))
        ),
        ("deprecates existing behaviour or API", "弃用了现有行为或接口"),
        0.8,
    ),
    ImportanceRule(
        "medium:module-removed",
        Importance.MEDIUM,
        lambda s: bool(s.removed_modules) and not s.revert,
        (
            "deletes product modules whose public names callers could import",
            "删除了调用方可能导入其公开名称的产品模块",
        ),
        0.8,
    ),
    ImportanceRule(
        "medium:exports-removed",
        Importance.MEDIUM,
        lambda s: bool(s.exports_dropped) and not s.revert,
        ("product modules stop exporting names", "产品模块不再导出某些名称"),
        0.8,
    ),
    ImportanceRule(
        "medium:new-parameters",
        Importance.MEDIUM,
        lambda s: bool(s.parameters_changed),
        ("public functions gain or lose parameters", "公开函数的参数有增减"),
        0.85,
    ),
    ImportanceRule(
        "medium:default-changed",
        Importance.MEDIUM,
        lambda s: bool(s.defaults_changed),
        ("a default changes behaviour", "默认值变化会改变行为"),
        0.85,
    ),
    ImportanceRule(
        "medium:validation",
        Importance.MEDIUM,
        lambda s: bool(s.new_checks),
        ("existing code paths reject inputs they used to accept", "现有代码路径新增了输入校验"),
        0.75,
    ),
    ImportanceRule(
        "medium:dependencies",
        Importance.MEDIUM,
        lambda s: bool(s.runtime_dependencies),
        ("runtime dependencies change", "运行时依赖发生变化"),
        0.8,
    ),
    ImportanceRule(
        "medium:fix",
        Importance.MEDIUM,
        lambda s: s.change_type is ChangeType.FIX and s.touches_product,
        ("a fix in product code", "产品代码中的缺陷修复"),
        0.65,
    ),
    ImportanceRule(
        "medium:feature",
        Importance.MEDIUM,
        lambda s: s.change_type is ChangeType.FEATURE and s.touches_product,
        ("a new feature in product code", "产品代码中的新功能"),
        0.7,
    ),
    ImportanceRule(
        "medium:perf",
        Importance.MEDIUM,
        lambda s: s.change_type is ChangeType.PERF and s.touches_product,
        ("performance work in product code", "产品代码中的性能优化"),
        0.7,
    ),
    ImportanceRule(
        "medium:revert",
        Importance.MEDIUM,
        lambda s: s.change_type is ChangeType.REVERT and s.touches_product,
        ("reverts a change to product code", "回滚了产品代码的变更"),
        0.7,
    ),
    ImportanceRule(
        "medium:refactor",
        Importance.MEDIUM,
        lambda s: (
            s.change_type is ChangeType.REFACTOR
            and (
                (len(s.product_paths) >= REFACTOR_FILES and s.product_lines >= REFACTOR_LINES)
                or s.moved_product > 0
            )
        ),
        ("a refactor across several product files", "涉及多个产品文件的重构"),
        0.65,
    ),
    ImportanceRule(
        "low:small-change",
        Importance.LOW,
        lambda s: True,
        ("small, local upkeep", "小范围的日常维护"),
        0.6,
    ),
)
RULES_BY_ID = {rule.id: rule for rule in IMPORTANCE_RULES}


def decide(signals: Signals) -> ImportanceRule:
    """The first rule of the table that applies (the last one always does)."""
    return next(rule for rule in IMPORTANCE_RULES if rule.applies(signals))
