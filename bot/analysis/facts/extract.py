"""Change facts of a whole commit: one bounded pass over every file's patch, no LLM.

Per file, each hunk's old and new sides go to the reader of its language (Python through
`ast`, C/C++/CUDA through tree-sitter, Go/Rust/JS/TS/Java through patterns), to the behaviour
patterns (environment variables, errors) and, for manifests, to the dependency reader. The
two sides of the whole commit are then compared. Bounds: a file patch over
MAX_FILE_PATCH_CHARS and everything past MAX_COMMIT_PATCH_CHARS are not read (counted in
`files_unscanned`); each list keeps its most important entries up to its cap (`omitted`
counts the rest).
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from bot.analysis.diff import Side, hunk_spans, sides
from bot.analysis.facts import behaviour, c_family, dependencies, pattern_languages, python_code
from bot.analysis.facts.definitions import DefinitionReader
from bot.analysis.facts.python_code import Setting
from bot.analysis.facts.symbols import SideIndex, compare
from bot.analysis.name_lists import last_part
from bot.analysis.paths import PathKind, extension, path_kind
from bot.models import (
    ChangeFacts,
    Commit,
    DependencyChange,
    ErrorChange,
    ExportChange,
    FileMove,
    SettingChange,
    SymbolChange,
)

log = logging.getLogger(__name__)

FACTS_VERSION = "f2"  # bump when extraction changes: cached commits then get new facts
MAX_FILE_PATCH_CHARS = 400_000
MAX_COMMIT_PATCH_CHARS = 6_000_000
MAX_SYMBOLS = 40
MAX_ITEMS = 30
MAX_MOVES = 20
MAX_TESTS = 10
NEW_FILE_ERRORS = 2

# Facts about code are read from these kinds of files only; dependencies from manifests.
_CODE_KINDS = frozenset({PathKind.CORE, PathKind.AUXILIARY, PathKind.BUILD})
_MANIFEST_KINDS = frozenset({PathKind.BUILD, PathKind.LOCK})
# Class-body fields count as configuration only in classes named like configuration.
_CONFIG_OWNER_RE = re.compile(
    r"(?:Args|Arguments|Config|Configs|Configuration|Settings|Options|Params|Parameters|Env|Envs"
    r"|Flags)$"
)

_LANGUAGES: tuple[tuple[frozenset[str], str, DefinitionReader], ...] = (
    (python_code.EXTENSIONS, "python", python_code.read_definitions),
    (c_family.EXTENSIONS, "c++", c_family.read_definitions),
    (pattern_languages.EXTENSIONS, "", pattern_languages.read_definitions),
)


def _reader(path: str) -> tuple[str, DefinitionReader] | None:
    suffix = extension(path)
    for extensions, language, reader in _LANGUAGES:
        if suffix in extensions:
            return language or suffix.lstrip("."), reader
    return None


_SettingKey = tuple[Literal["flag", "config"], str]


@dataclass
class _SettingSides:
    old: dict[_SettingKey, Setting] = field(default_factory=dict)
    new: dict[_SettingKey, Setting] = field(default_factory=dict)
    paths: dict[_SettingKey, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _ErrorSeen:
    kind: str
    function: str | None
    key: str


@dataclass
class _Collector:
    old: SideIndex = field(default_factory=SideIndex)
    new: SideIndex = field(default_factory=SideIndex)
    languages: dict[str, str] = field(default_factory=dict)
    exports_old: dict[str, python_code.ExportNames] = field(default_factory=dict)
    exports_new: dict[str, python_code.ExportNames] = field(default_factory=dict)
    settings: _SettingSides = field(default_factory=_SettingSides)
    env_old: dict[str, behaviour.EnvUse] = field(default_factory=dict)
    env_new: dict[str, behaviour.EnvUse] = field(default_factory=dict)
    env_changed: set[str] = field(default_factory=set)
    env_paths: dict[str, str] = field(default_factory=dict)
    # path -> error text -> where it is
    errors_old: dict[str, dict[str, _ErrorSeen]] = field(default_factory=lambda: defaultdict(dict))
    errors_new: dict[str, dict[str, _ErrorSeen]] = field(default_factory=lambda: defaultdict(dict))
    deps_old: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))
    deps_new: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))

    new_files: set[str] = field(default_factory=set)
    tests_added: list[str] = field(default_factory=list)

    def read_hunk(self, path: str, old: Side, new: Side, section: str) -> None:
        kind = path_kind(path)
        if kind in _MANIFEST_KINDS or any(
            line.startswith("Subproject commit") for line in (*old.lines[:2], *new.lines[:2])
        ):
            self.deps_old[path].update(dependencies.read_dependencies(path, old))
            self.deps_new[path].update(dependencies.read_dependencies(path, new))
        if kind is PathKind.TEST:
            self._tests(path, old, new, section)
        if kind not in _CODE_KINDS:
            return  # tests, docs, CI and vendored code are nobody's interface
        found = _reader(path)
        if found is not None:
            language, reader = found
            self.languages[path] = language
            for definition in reader(old, section, path):
                self.old.add(path, definition)
            for definition in reader(new, section, path):
                self.new.add(path, definition)
            if language == "python":
                self._python(path, old, new, section)
        self._behaviour(path, old, new, section)

    def _python(self, path: str, old: Side, new: Side, section: str) -> None:
        imports = path.endswith("__init__.py")
        for side, store in ((old, self.exports_old), (new, self.exports_new)):
            names = python_code.read_exports(side, imports=imports)
            known = store.setdefault(path, python_code.ExportNames(set(), set()))
            known.all_names |= names.all_names
            known.changed |= names.changed
        for side, target in ((old, self.settings.old), (new, self.settings.new)):
            for setting in python_code.read_settings(side, section):
                key = (setting.kind, setting.name)
                self.settings.paths.setdefault(key, path)
                if key not in target or setting.touched:
                    target[key] = setting

    def _tests(self, path: str, old: Side, new: Side, section: str) -> None:
        """Test functions the commit adds (the testing insight names them)."""
        found = _reader(path)
        if found is None or len(self.tests_added) >= MAX_TESTS:
            return
        _, reader = found
        before = {d.name for d in reader(old, section, path)}
        for definition in reader(new, section, path):
            name = last_part(definition.name)
            fresh = definition.touched and definition.name not in before
            if fresh and name.lower().startswith("test") and name not in self.tests_added:
                self.tests_added.append(name)

    def _behaviour(self, path: str, old: Side, new: Side, section: str) -> None:
        for side, uses_store in ((old, self.env_old), (new, self.env_new)):
            uses, changed = behaviour.read_env(side)
            for name, use in uses.items():
                known = uses_store.get(name)
                if known is None or (known.default is None and use.default is not None):
                    uses_store[name] = use
                self.env_paths.setdefault(name, path)
            self.env_changed |= changed
        for side, store in ((old, self.errors_old), (new, self.errors_new)):
            sites = behaviour.read_errors(side)
            functions = behaviour.enclosing_functions(side, [s.index for s in sites], section)
            for site in sites:
                store[path][site.text] = _ErrorSeen(site.kind, functions[site.index], site.key)


def extract_facts(commit: Commit) -> ChangeFacts:
    """The facts of `commit`'s whole diff. Pure CPU, bounded; never raises for odd patches."""
    collector = _Collector()
    moves: list[FileMove] = []
    moved_to: dict[str, str] = {}
    scanned = unscanned = 0
    budget = MAX_COMMIT_PATCH_CHARS
    for change in commit.files:
        if change.previous_path and change.previous_path != change.path:
            moves.append(FileMove(old_path=change.previous_path, new_path=change.path))
            moved_to[change.previous_path] = change.path
        patch = change.patch
        if not patch:
            unscanned += change.changes > 0
            continue
        if len(patch) > MAX_FILE_PATCH_CHARS or len(patch) > budget:
            unscanned += 1
            continue
        budget -= len(patch)
        scanned += 1
        if change.status == "added":
            collector.new_files.add(change.path)
        try:
            for span in hunk_spans(patch):
                old, new = sides(patch, span)
                collector.read_hunk(change.path, old, new, span.section)
        except (
            ValueError,
            IndexError,
            RecursionError,
        ) as exc:  # a reader bug must not cost a digest
            log.warning("facts: %s in %s skipped: %s", commit.short_sha, change.path[:120], exc)
    symbols = compare(collector.old, collector.new, moved_to, collector.languages)
    return _bounded(collector, symbols, moves).model_copy(
        update={"files_scanned": scanned, "files_unscanned": unscanned}
    )


_SYMBOL_RANK = {"removed": 0, "renamed": 1, "moved": 2, "signature": 3, "added": 4}


def _bounded(
    collector: _Collector, symbols: list[SymbolChange], moves: list[FileMove]
) -> ChangeFacts:
    """The facts, each list cut to its cap with its most important entries first."""
    symbols.sort(key=lambda s: (not s.public, _SYMBOL_RANK[s.kind], s.path, s.name))
    added_classes = {
        s.name for s in symbols if s.kind == "added" and (s.after or "").startswith("class")
    }
    exports = _exports(collector)
    settings = _settings(collector, added_classes)
    errors, skipped_errors = _errors(collector)
    deps = _dependencies(collector)
    omitted = skipped_errors + sum(
        max(0, len(items) - cap)
        for items, cap in (
            (symbols, MAX_SYMBOLS),
            (exports, MAX_ITEMS),
            (settings, MAX_ITEMS),
            (errors, MAX_ITEMS),
            (deps, MAX_ITEMS),
            (moves, MAX_MOVES),
        )
    )
    return ChangeFacts(
        version=FACTS_VERSION,
        symbols=tuple(symbols[:MAX_SYMBOLS]),
        exports=tuple(exports[:MAX_ITEMS]),
        settings=tuple(settings[:MAX_ITEMS]),
        errors=tuple(errors[:MAX_ITEMS]),
        dependencies=tuple(deps[:MAX_ITEMS]),
        moves=tuple(moves[:MAX_MOVES]),
        tests_added=tuple(collector.tests_added[:MAX_TESTS]),
        omitted=omitted,
    )


def _exports(collector: _Collector) -> list[ExportChange]:
    out: list[ExportChange] = []
    for path in sorted(set(collector.exports_old) | set(collector.exports_new)):
        empty = python_code.ExportNames(set(), set())
        old = collector.exports_old.get(path, empty)
        new = collector.exports_new.get(path, empty)
        out.extend(
            ExportChange(kind="removed", name=name, path=path)
            for name in sorted(old.changed - new.all_names)
        )
        out.extend(
            ExportChange(kind="added", name=name, path=path)
            for name in sorted(new.changed - old.all_names)
        )
    out.sort(key=lambda e: (e.kind != "removed", e.path, e.name))
    return out


SettingKind = Literal["env", "flag", "config"]


def _setting_change(
    kind: SettingKind, name: str, path: str, old: _Default | None, new: _Default | None
) -> SettingChange | None:
    """What happened to one setting between the sides (None: nothing a caller would see)."""
    if old is None and new is not None:
        return SettingChange(kind=kind, change="added", name=name, path=path, new=new.default)
    if new is None and old is not None:
        return SettingChange(kind=kind, change="removed", name=name, path=path, old=old.default)
    if old is not None and new is not None and old.default != new.default:
        if kind == "env" and not (old.default and new.default):
            return None  # one read names a default, another does not: no evidence of a change
        return SettingChange(
            kind=kind, change="default", name=name, path=path, old=old.default, new=new.default
        )
    return None


@dataclass(frozen=True)
class _Default:
    default: str | None


def _settings(collector: _Collector, added_classes: set[str]) -> list[SettingChange]:
    out: list[SettingChange] = []
    sides = collector.settings
    for key in sorted(set(sides.old) | set(sides.new)):
        kind, name = key
        if kind == "config":
            owner = name.rsplit(".", 1)[0]
            if owner in added_classes or not _CONFIG_OWNER_RE.search(owner):
                continue
        before, after = sides.old.get(key), sides.new.get(key)
        if not ((before and before.touched) or (after and after.touched)):
            continue
        change = _setting_change(
            kind,
            name,
            sides.paths[key],
            _Default(before.default) if before else None,
            _Default(after.default) if after else None,
        )
        if change is not None:
            out.append(change)
    for name in sorted(collector.env_changed):
        old_use, new_use = collector.env_old.get(name), collector.env_new.get(name)
        change = _setting_change(
            "env",
            name,
            collector.env_paths.get(name, ""),
            _Default(old_use.default) if old_use else None,
            _Default(new_use.default) if new_use else None,
        )
        if change is not None:
            out.append(change)
    out.sort(key=lambda s: ({"removed": 0, "default": 1, "added": 2}[s.change], s.kind, s.name))
    return out


def _error(
    change: Literal["added", "removed"], text: str, seen: _ErrorSeen, path: str
) -> ErrorChange:
    return ErrorChange(
        change=change,
        kind="raise" if seen.kind == "raise" else "check",
        text=text,
        path=path,
        function=seen.function,
    )


def _unmatched(
    side: Mapping[str, _ErrorSeen], other: Mapping[str, _ErrorSeen]
) -> dict[str, _ErrorSeen]:
    """Errors of `side` not on `other`: the same raise, or the same check condition under
    another macro or message (`assert(c)` -> `TORCH_CHECK(c, "…")`), is on both."""
    keys = {seen.key for seen in other.values()} - {""}
    return {
        text: seen
        for text, seen in side.items()
        if text not in other and (not seen.key or seen.key not in keys)
    }


def _errors(collector: _Collector) -> tuple[list[ErrorChange], int]:
    """Errors added or removed; a new file's own checks are its design, not a behaviour
    change, so only its first few raises are kept (the rest count as omitted)."""
    out: list[ErrorChange] = []
    skipped = 0
    for path in sorted(set(collector.errors_old) | set(collector.errors_new)):
        old, new = collector.errors_old.get(path, {}), collector.errors_new.get(path, {})
        added = list(_unmatched(new, old).items())
        if path in collector.new_files:
            raises = [(text, seen) for text, seen in added if seen.kind == "raise"]
            skipped += len(added) - min(len(raises), NEW_FILE_ERRORS)
            added = raises[:NEW_FILE_ERRORS]
        out.extend(_error("added", text, seen, path) for text, seen in added)
        out.extend(
            _error("removed", text, seen, path) for text, seen in _unmatched(old, new).items()
        )
    out.sort(key=lambda e: (e.path in collector.new_files, e.change != "added", e.kind != "raise"))
    return out, skipped


def _dependencies(collector: _Collector) -> list[DependencyChange]:
    out: list[DependencyChange] = []
    for path in sorted(set(collector.deps_old) | set(collector.deps_new)):
        old, new = collector.deps_old.get(path, {}), collector.deps_new.get(path, {})
        for name in sorted(set(old) | set(new)):
            before, after = old.get(name), new.get(name)
            if before != after:
                out.append(DependencyChange(name=name, path=path, old=before, new=after))
    return out
