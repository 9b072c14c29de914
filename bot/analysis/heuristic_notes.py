"""The heuristic's risks, recommendations and insights, written from the change facts.

Every note names what it is about — the functions, parameters, settings, paths or versions of
this commit — so no sentence stands in for a fact, and none repeats across a day's digest except
where it states the same fact. Risks are titled ("title：detail"), recommendations name their
area ("area：advice"), in the digest's language; identifiers stay in `backticks` and English
text from the commit is quoted, never passed off as Chinese.

| rule         | fires when the facts show…                          | notes                  |
|--------------|-----------------------------------------------------|------------------------|
| api-removed  | public definitions removed, renamed or moved;       | risk, advice, compat.  |
|              | dropped exports                                     |                        |
| params       | public parameters removed, or added without default | risk, advice           |
| params-added | public parameters added with defaults               | compatibility insight  |
| defaults     | a public default or a setting's default changed     | risk, advice           |
| default-on   | a new setting whose default turns something on      | risk, advice, arch.    |
| validation   | new raises or checks in existing product code       | risk, advice           |
| cache-key    | a signature change of a cache / compile-key function| risk, advice           |
| dependencies | a dependency added, dropped or re-versioned         | risk, advice           |
| moves        | product modules moved to new paths                  | risk, advice, maint.   |
| breaking     | a `!`/BREAKING CHANGE marker or a breaking label    | risk, advice           |
| module-removed | product modules with public names deleted         | risk, advice           |
| security     | a security fix                                      | risk, advice, security |
| correctness  | a fix naming wrong outputs (accuracy) and/or a      | risk, advice           |
|              | crash, hang, leak or OOM (stability)                |                        |
| revert       | a revert                                            | risk, advice           |
| migration    | database migration or schema files                  | risk, advice           |
| platform     | a new platform or backend touching shared code      | advice, arch.          |
| new-api      | public definitions added                            | architecture insight   |
| kernels      | kernel sources changed in a fix or perf change      | performance insight    |
| tests        | tests added or changed alongside product code       | testing insight        |
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.analysis.name_lists import ARROW, MAX_NAMES, code, name_list
from bot.analysis.paths import C_FAMILY, PathKind, PathRoles
from bot.models import (
    ChangeFacts,
    ChangeType,
    Insights,
    Language,
    SettingChange,
    SymbolChange,
)

MAX_TEXT = 300
MAX_RISKS = 5
_COUNT_GAP_RE = re.compile(r"(等 \d+ 个) ")
MAX_RECOMMENDATIONS = 5
_CACHE_NAME = re.compile(r"cache|compile|jit|key", re.IGNORECASE)


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1].rstrip(" ,;，；") + "…"


def module_of(path: str) -> str | None:
    """The import path of a Python module file (`flashinfer/sparse/__init__.py` ->
    `flashinfer.sparse`), or None for other languages."""
    if not path.endswith(".py"):
        return None
    parts = path[:-3].split("/")
    if parts[0] in ("python", "src") and len(parts) > 2:
        parts = parts[1:]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts) if parts else None


@dataclass
class Notes:
    """Risks, recommendations and insight points being collected for one commit."""

    language: Language
    risks: list[str] = field(default_factory=list)
    advice: list[str] = field(default_factory=list)
    points: dict[str, list[str]] = field(default_factory=dict)
    fired: list[str] = field(default_factory=list)  # the rule ids, for reports and tests

    def _pick(self, en: str, zh: str) -> str:
        if self.language == "zh":
            # "`a`、`b` 等 6 个 不再" reads "等 6 个不再"; quoted text keeps its spaces.
            return _clip(_COUNT_GAP_RE.sub(r"\1", zh))
        return _clip(en)

    def risk(self, rule: str, title: tuple[str, str], detail: tuple[str, str]) -> None:
        colon = "：" if self.language == "zh" else ": "
        self.risks.append(self._pick(*title) + colon + self._pick(*detail))
        if rule not in self.fired:
            self.fired.append(rule)

    def recommend(self, rule: str, area: tuple[str, str], advice: tuple[str, str]) -> None:
        colon = "：" if self.language == "zh" else ": "
        self.advice.append(self._pick(*area) + colon + self._pick(*advice))
        if rule not in self.fired:
            self.fired.append(rule)

    def insight(self, dimension: str, text: tuple[str, str]) -> None:
        self.points.setdefault(dimension, []).append(self._pick(*text))

    def insights(self) -> Insights:
        return Insights(
            **{dim: "\n".join(f"• {p}" for p in points[:4]) for dim, points in self.points.items()}
        )


@dataclass(frozen=True)
class CommitShape:
    """What the notes need to know besides the facts."""

    change_type: ChangeType
    roles: PathRoles
    paths: tuple[str, ...]  # product files
    new_paths: frozenset[str]  # files the commit adds
    removed_modules: tuple[str, ...] = ()  # deleted product modules with public names
    deleted_paths: frozenset[str] = frozenset()  # files the commit deletes
    modified: tuple[str, ...] = ()  # product files that existed and have changed lines
    breaking: tuple[str, ...] = ()
    platform: bool = False
    revert_of: str | None = None
    migrations: tuple[str, ...] = ()
    tests_changed: int = 0
    core_files: int = 0
    short_sha: str = ""
    # A correctness fix: the failures it names ("numeric" outputs, "resource" crashes/leaks).
    failures: tuple[str, ...] = ()


def _public(changes: Iterable[SymbolChange], roles: PathRoles) -> list[SymbolChange]:
    """The changes to definitions callers can import (module-level for removals)."""
    kept = []
    for change in changes:
        if not change.public or not roles.is_surface(change.old_path or change.path):
            continue
        top_level = "." not in change.name and "::" not in change.name
        if change.kind in ("removed", "renamed", "moved") and not top_level:
            continue
        if change.path.endswith(C_FAMILY) and change.kind in ("renamed", "moved"):
            continue  # headers move and rename freely inside kernel libraries
        kept.append(change)
    order = {"renamed": 0, "moved": 1, "removed": 2}
    return sorted(kept, key=lambda c: order.get(c.kind, 3))


def _api_removed(facts: ChangeFacts, shape: CommitShape, notes: Notes) -> None:
    lang = notes.language
    gone = _public(
        (s for s in facts.symbols if s.kind in ("removed", "renamed", "moved")), shape.roles
    )
    exports = [e for e in facts.exports if e.kind == "removed"]
    if not gone and not exports:
        return
    shown: list[str] = []
    for change in gone:
        old = (change.old_name or change.name).split(".")[-1].split("::")[-1]
        new = change.name.split(".")[-1].split("::")[-1]
        if change.kind == "renamed":
            shown.append(f"{old}{ARROW}{new}")
        elif change.kind == "moved":
            target = module_of(change.path) or change.path
            shown.append(f"{new}{ARROW}{target}")
        else:
            shown.append(old)
    dropped = sorted({e.name for e in exports} - {s.split(" ")[0] for s in shown})
    modules = sorted({module_of(e.path) or e.path for e in exports})
    names = name_list(shown + dropped, lang)
    where_en = f" from `{modules[0]}`" if modules else ""
    where_zh = f"从 `{modules[0]}` " if modules else ""
    one = len(shown) + len(dropped) == 1
    notes.risk(
        "api-removed",
        ("Public API removed", "公开接口移除"),
        (
            f"{names} no longer exists under its old name; code importing it{where_en} breaks."
            if one
            else f"{names} no longer exist under their old names; code importing them{where_en} "
            "breaks.",
            f"{names} 不再以原名称存在，{where_zh}导入它们的代码会失败。",
        ),
    )
    notes.recommend(
        "api-removed",
        ("Compatibility", "兼容性"),
        (
            f"Keep aliases for {names} for a release, or document the migration.",
            f"为 {names} 保留一个版本的别名，或在发行说明中写明迁移方式。",
        ),
    )
    notes.insight(
        "compatibility",
        (
            f"Removes or renames public definitions: {names}.",
            f"移除或重命名了公开定义：{names}。",
        ),
    )


def _signatures(facts: ChangeFacts, shape: CommitShape, notes: Notes) -> None:
    lang = notes.language
    changed = _public((s for s in facts.symbols if s.kind == "signature"), shape.roles)
    for change in changed[:3]:
        name = code(change.name)
        positional = change.path.endswith(C_FAMILY)
        if positional and len(change.params_added) == len(change.params_removed):
            continue  # renamed parameters: positional callers do not notice
        required = [p for p in change.params_added if "=" not in p and not p.startswith("*")]
        optional = [p for p in change.params_added if p not in required]
        if change.params_removed:
            params = name_list(list(change.params_removed), lang)
            notes.risk(
                "params",
                ("Parameters removed", "参数移除"),
                (
                    f"{name} no longer accepts {params}; calls that pass them fail.",
                    f"{name} 不再接受 {params}，传入这些参数的调用会报错。",
                ),
            )
            notes.recommend(
                "params",
                ("Callers", "调用方"),
                (
                    f"Find calls of {name} that pass {params} and update them.",
                    f"检查传入 {params} 的 {name} 调用并同步修改。",
                ),
            )
        if required:
            params = name_list(required, lang)
            notes.risk(
                "params",
                ("New required parameters", "新增必填参数"),
                (
                    f"{name} now requires {params}; existing calls fail until they pass it.",
                    f"{name} 新增了无默认值的参数 {params}，现有调用需同步修改。",
                ),
            )
        if optional:
            params = name_list(optional, lang)
            notes.fired.append("params-added")
            notes.insight(
                "compatibility",
                (
                    f"{name} gains {params}, with defaults: existing calls keep working.",
                    f"{name} 新增参数 {params}（有默认值），现有调用不受影响。",
                ),
            )
        for default in change.defaults_changed[:2]:
            param, _, values = default.partition(": ")
            _default_changed(notes, f"{change.name}({param})", values)
    keyed = [
        c
        for c in facts.symbols
        if c.kind == "signature"
        and _CACHE_NAME.search(c.name)
        and (c.params_removed or c.params_added or c.types_changed)
        and shape.roles.kind(c.path) is PathKind.CORE
    ]
    for change in keyed[:1]:
        # A compile or lookup cache keyed on these parameters now keys differently, even when
        # the function is private: entries built before are not reused.
        name = code(change.name)
        what = name_list(
            list(change.params_removed or change.params_added or change.types_changed), lang
        )
        notes.risk(
            "cache-key",
            ("Cache key changed", "缓存键变化"),
            (
                f"{name} keys its cache differently ({what}); entries built before are not reused.",
                f"{name} 的缓存键发生变化（{what}），此前的缓存条目不会再被复用。",
            ),
        )
        notes.recommend(
            "cache-key",
            ("Validation", "验证"),
            (
                f"Run the paths that call {name} with each former key value and check that "
                "results and cache hits are as expected.",
                f"用原缓存键的各个取值调用 {name} 相关路径，确认结果正确且缓存命中符合预期。",
            ),
        )
    for change in _public((s for s in facts.symbols if s.kind == "signature"), shape.roles):
        if change.types_changed and not _CACHE_NAME.search(change.name):
            types = name_list(list(change.types_changed), lang)
            notes.insight(
                "compatibility",
                (
                    f"{code(change.name)} changes parameter types: {types}.",
                    f"{code(change.name)} 的参数类型变化：{types}。",
                ),
            )
            break


def _default_changed(notes: Notes, what: str, values: str) -> None:
    before, _, after = values.partition(" -> ")  # the facts' "old -> new" (symbols.py)
    notes.risk(
        "defaults",
        ("Default changed", "默认值变化"),
        (
            f"{code(what)} now defaults to {code(after)} instead of {code(before)}; code "
            "relying on the old default behaves differently.",
            f"{code(what)} 的默认值由 {code(before)} 改为 {code(after)}，"
            "依赖旧默认值的代码行为会改变。",
        ),
    )
    notes.recommend(
        "defaults",
        ("Release notes", "升级说明"),
        (
            f"State the new default of {code(what)}; callers that need the old behaviour pass "
            f"{code(before)} explicitly.",
            f"在发行说明中注明 {code(what)} 的新默认值；"
            f"需要旧行为的调用方显式传入 {code(before)}。",
        ),
    )


def _settings(facts: ChangeFacts, shape: CommitShape, notes: Notes) -> None:
    lang = notes.language
    toggles = [s for s in facts.settings if s.on_by_default]
    for setting in toggles[:2]:
        name = code(setting.name)
        off = setting.off_value
        label = _setting_label(setting, lang)
        notes.risk(
            "default-on",
            ("New path on by default", "默认开启的新路径"),
            (
                f"the new {label} {name} defaults to {code(setting.new or '')}: after the upgrade "
                "the code it guards runs without anyone opting in.",
                f"新增{label} {name}，默认值为 {code(setting.new or '')}：升级后它控制的新代码路径"
                "无需开启即会生效。",
            ),
        )
        notes.recommend(
            "default-on",
            ("Fallback switch", "回退开关"),
            (
                f"If results or speed regress, set {name} to {code(off)} and report it.",
                f"若结果或性能出现异常，将 {name} 设为 {code(off)} 关闭新路径并反馈。",
            ),
        )
        notes.insight(
            "architecture",
            (
                f"Adds the {label} {name} (default {code(setting.new or '')}).",
                f"新增{label} {name}（默认 {code(setting.new or '')}）。",
            ),
        )
    for setting in facts.settings:
        if setting.change == "default":
            _default_changed(notes, setting.name, f"{setting.old} -> {setting.new}")
        elif setting.change == "removed" and setting.path not in shape.deleted_paths:
            label = _setting_label(setting, lang)
            notes.risk(
                "defaults",
                ("Setting removed", "配置项移除"),
                (
                    f"the {label} {code(setting.name)} is gone; deployments that set it lose "
                    "its effect.",
                    f"{label} {code(setting.name)} 被移除，设置了它的部署将失去相应效果。",
                ),
            )


def _removed_modules(shape: CommitShape, notes: Notes) -> None:
    if not shape.removed_modules:
        return
    modules = sorted({module_of(path) or path for path in shape.removed_modules})
    package = posixpath.commonpath([m.replace(".", "/") for m in modules]).replace("/", ".")
    if len(modules) > 1 and package.count(".") >= 1:
        names = (
            f"{code(package)} 下的 {len(modules)} 个模块"
            if notes.language == "zh"
            else f"{len(modules)} modules under {code(package)}"
        )
    else:
        names = name_list(modules, notes.language)
    notes.risk(
        "module-removed",
        ("Modules deleted", "模块删除"),
        (
            f"{names} no longer exists; code that imports it breaks."
            if len(modules) == 1
            else f"{names} no longer exist; code that imports them breaks.",
            f"{names} 已被删除，导入它们的代码会失败。",
        ),
    )
    notes.recommend(
        "module-removed",
        ("Dependants", "依赖方"),
        (
            f"Search downstream code and notebooks for imports of {names} before upgrading.",
            f"升级前在下游代码和 notebook 中查找对 {names} 的导入。",
        ),
    )


def _setting_label(setting: SettingChange, language: Language) -> str:
    if language == "zh":
        return {"env": "环境变量", "flag": "命令行参数", "config": "配置项"}[setting.kind]
    return {"env": "environment variable", "flag": "CLI flag", "config": "config field"}[
        setting.kind
    ]


def _validation(facts: ChangeFacts, shape: CommitShape, notes: Notes) -> None:
    added = [
        e
        for e in facts.errors
        if e.change == "added"
        and e.path not in shape.new_paths
        and shape.roles.kind(e.path) is PathKind.CORE
    ]
    if not added:
        return
    added.sort(key=lambda e: "'" not in e.text)  # an example with its message reads best
    first = added[0]
    where = code(first.function) if first.function else code(first.path)
    count = len(added)
    notes.risk(
        "validation",
        ("New validation", "新增校验"),
        (
            f"{where} and {count - 1} more place(s) now reject inputs they used to accept, e.g. "
            f"{code(first.text)}."
            if count > 1
            else f"{where} now rejects inputs it used to accept: {code(first.text)}.",
            f"{where} 等 {count} 处新增检查，此前可运行的输入可能被拒绝，例如 {code(first.text)}。"
            if count > 1
            else f"{where} 新增检查，此前可运行的输入可能被拒绝：{code(first.text)}。",
        ),
    )
    callers = f"callers of {where}" if first.function else f"callers of code in {where}"
    callers_zh = f"{where} 的调用方" if first.function else f"调用 {where} 中代码的一方"
    notes.recommend(
        "validation",
        ("Callers", "调用方"),
        (
            f"Check that {callers} meet the new condition ({code(first.text)}).",
            f"确认{' ' if callers_zh.startswith('`') else ''}{callers_zh}满足新的检查条件"
            f"（{code(first.text)}）。",
        ),
    )


def _dependencies(facts: ChangeFacts, notes: Notes) -> None:
    lang = notes.language
    if not facts.dependencies:
        return
    parts: list[str] = []
    for dep in facts.dependencies[:MAX_NAMES]:
        if dep.old is None:
            parts.append(f"+{dep.name} {dep.new or ''}".strip())
        elif dep.new is None:
            parts.append(f"-{dep.name}")
        else:
            parts.append(f"{dep.name} {dep.old or '*'}{ARROW}{dep.new or '*'}")
    text = name_list(parts, lang)
    notes.risk(
        "dependencies",
        ("Dependencies changed", "依赖变化"),
        (
            f"{text}; environments pinned to the old versions must be updated.",
            f"{text}，锁定旧版本的环境需要同步升级。",
        ),
    )
    target = next((dep for dep in facts.dependencies if dep.new), None)
    if target is None:
        return  # only removals: nothing to install
    version = " ".join(filter(None, (code(target.name), target.new)))
    notes.recommend(
        "dependencies",
        ("Environment", "环境"),
        (
            f"Install {version} in a clean environment and run the test suite once.",
            f"在干净环境中安装 {version} 后完整运行一次测试。",
        ),
    )


def _moves(facts: ChangeFacts, shape: CommitShape, notes: Notes) -> None:
    product = [m for m in facts.moves if shape.roles.kind(m.new_path) is PathKind.CORE]
    if not product:
        return
    pairs = {(posixpath.dirname(m.old_path), posixpath.dirname(m.new_path)) for m in product}
    old, new = sorted(pairs)[0]
    count = len(product)
    if old == new:
        old, new = product[0].old_path, product[0].new_path
    notes.risk(
        "moves",
        ("Modules moved", "模块迁移"),
        (
            f"{count} file(s) moved, e.g. `{old}`{ARROW}`{new}`; imports of the old paths break "
            "unless aliases stay.",
            f"{count} 个文件被移动（如 `{old}`{ARROW}`{new}`），按旧路径导入会失败，除非保留别名。",
        ),
    )
    notes.recommend(
        "moves",
        ("Import paths", "导入路径"),
        (
            f"Update imports of `{old}`, or keep a re-export there for a release.",
            f"更新对 `{old}` 的导入，或在旧路径保留一个版本的转发导入。",
        ),
    )
    notes.insight(
        "maintainability",
        (
            f"Reorganises {count} file(s): `{old}`{ARROW}`{new}`.",
            f"重组了 {count} 个文件的目录：`{old}`{ARROW}`{new}`。",
        ),
    )


# How a commit said it breaks something (classification._breaking's reasons), in words.
_BREAKING_WHY = {
    "bang": ("a `!` in its title", "标题带 `!` 标记"),
    "footer": ("a BREAKING CHANGE footer", "BREAKING CHANGE 说明"),
    "keyword": ("its title", "标题注明"),
    "label": ("a breaking-change label", "破坏性变更标签"),
    "removal": ("a title that drops support", "标题表明移除对某些版本或功能的支持"),
    "api-removal": ("a title that removes API or options", "标题表明移除接口或选项"),
}


def _markers(shape: CommitShape, notes: Notes) -> None:
    if shape.breaking:
        zh = notes.language == "zh"
        why = ("、" if zh else ", ").join(
            _BREAKING_WHY.get(reason, (reason, reason))[zh] for reason in shape.breaking
        )
        notes.risk(
            "breaking",
            ("Breaking change", "破坏性变更"),
            (f"the commit declares itself breaking ({why}).", f"提交声明了破坏性变更（{why}）。"),
        )
        notes.recommend(
            "breaking",
            ("Upgrade", "升级"),
            (
                f"Before upgrading past {shape.short_sha}, check the code that relies on what it "
                "changes or removes.",
                f"升级到包含 {shape.short_sha} 的版本前，检查依赖其变更或移除内容的代码。",
            ),
        )
    if shape.change_type is ChangeType.SECURITY:
        notes.risk(
            "security",
            ("Security fix", "安全修复"),
            (
                f"deployments without {shape.short_sha} may be exposed.",
                f"未包含 {shape.short_sha} 的部署可能存在风险。",
            ),
        )
        notes.recommend(
            "security",
            ("Upgrade", "升级"),
            (
                f"Upgrade to a version that contains {shape.short_sha} promptly.",
                f"尽快升级到包含 {shape.short_sha} 的版本。",
            ),
        )
        notes.insight(
            "security",
            (
                f"Security fix in {name_list(list(shape.paths), 'en')}.",
                f"安全修复，涉及 {name_list(list(shape.paths), 'zh')}。",
            ),
        )
    if shape.revert_of is not None:
        quoted = shape.revert_of[:120]
        notes.risk(
            "revert",
            ("Revert", "回滚"),
            (
                f"what “{quoted}” added is gone again.",
                f"“{quoted}”引入的行为被撤销。",
            ),
        )
        notes.recommend(
            "revert",
            ("Dependants", "依赖方"),
            (
                f"Check code written against “{quoted}”.",
                f"检查基于“{quoted}”编写的代码。",
            ),
        )
    if shape.migrations:
        paths = name_list(list(shape.migrations), notes.language)
        notes.risk(
            "migration",
            ("Schema migration", "数据库迁移"),
            (f"touches {paths}.", f"涉及 {paths}。"),
        )
        notes.recommend(
            "migration",
            ("Database", "数据库"),
            (
                f"Back up the database, then apply {paths}.",
                f"升级前备份数据库，再执行 {paths}。",
            ),
        )


def _additions(facts: ChangeFacts, shape: CommitShape, notes: Notes) -> None:
    lang = notes.language
    added = _public((s for s in facts.symbols if s.kind == "added"), shape.roles)
    if added and shape.change_type in (ChangeType.FEATURE, ChangeType.PERF, ChangeType.REFACTOR):
        names = name_list([s.name for s in added], lang)
        notes.fired.append("new-api")
        notes.insight(
            "architecture",
            (f"Adds public definitions: {names}.", f"新增公开定义：{names}。"),
        )
    if shape.platform:
        shared = list(shape.modified)
        if shared:
            paths = name_list(shared, lang)
            notes.recommend(
                "platform",
                ("Regression tests", "回归测试"),
                (
                    f"Re-run the existing platforms' tests: the new platform changed {paths}.",
                    f"新平台修改了共享代码 {paths}，需在现有平台上重新运行测试。",
                ),
            )
    kernels = [p for p in shape.paths if shape.roles.is_kernel(p)]
    if kernels and shape.change_type in (ChangeType.FIX, ChangeType.PERF):
        notes.fired.append("kernels")
        names = name_list(kernels, lang)
        notes.insight(
            "performance",
            (f"Kernel sources changed: {names}.", f"涉及内核源码：{names}。"),
        )
    tests = list(facts.tests_added)
    if tests:
        notes.fired.append("tests")
        notes.insight(
            "testing",
            (
                f"Adds tests {name_list(tests, lang)}.",
                f"新增测试 {name_list(tests, lang)}。",
            ),
        )
    elif shape.tests_changed and shape.core_files:
        notes.fired.append("tests")
        notes.insight(
            "testing",
            (
                f"{shape.tests_changed} test file(s) change alongside {shape.core_files} "
                "source file(s).",
                f"同时修改了 {shape.tests_changed} 个测试文件与 {shape.core_files} 个源码文件。",
            ),
        )


def _correctness(shape: CommitShape, notes: Notes) -> None:
    if not shape.failures:
        return
    kernels = [p for p in shape.modified if shape.roles.is_kernel(p)] or list(shape.modified)
    if not kernels:
        return
    where = name_list(kernels, notes.language)
    if "numeric" in shape.failures:
        notes.risk(
            "correctness",
            ("Outputs change", "输出变化"),
            (
                f"the fix in {where} changes results in the cases it corrects; accuracy "
                "baselines recorded before it may move.",
                f"{where} 中的修复会改变其所修正情形下的输出，此前记录的精度基线可能随之变化。",
            ),
        )
        notes.recommend(
            "correctness",
            ("Accuracy", "精度验证"),
            (
                f"Re-run the accuracy tests that cover {where}.",
                f"重新运行覆盖 {where} 的精度测试。",
            ),
        )
    if "resource" in shape.failures:
        notes.risk(
            "correctness",
            ("Runtime behaviour", "运行时行为"),
            (
                f"the fix in {where} changes memory use, synchronisation or failure handling; "
                "runs that used to crash, hang or run out of memory now take another path.",
                f"{where} 中的修复改变了内存占用、同步或出错处理，此前会崩溃、卡死或内存不足的运行"
                "将走不同的路径。",
            ),
        )
        notes.recommend(
            "correctness",
            ("Stability", "稳定性验证"),
            (
                f"Re-run the long-running, concurrent and memory-heavy tests that exercise "
                f"{where}, and watch peak memory.",
                f"重新运行覆盖 {where} 的长时间、并发与大内存测试，并关注内存峰值。",
            ),
        )


def write_notes(facts: ChangeFacts, shape: CommitShape, language: Language) -> Notes:
    """All notes the facts support, most telling first, bounded."""
    notes = Notes(language)
    _markers(shape, notes)
    _correctness(shape, notes)
    _api_removed(facts, shape, notes)
    _signatures(facts, shape, notes)
    _settings(facts, shape, notes)
    _removed_modules(shape, notes)
    _validation(facts, shape, notes)
    _dependencies(facts, notes)
    _moves(facts, shape, notes)
    _additions(facts, shape, notes)
    notes.risks = notes.risks[:MAX_RISKS]
    notes.advice = list(dict.fromkeys(notes.advice))[:MAX_RECOMMENDATIONS]
    return notes
