"""A commit's footprint: its files sorted into kinds (bot/analysis/paths.py) and sizes.

"Core files" exclude pure renames (renamed with no changed line). One bounded patch scan
(`PATCH_SCAN_CHARS` in all, `PATCH_SCAN_FILE_CHARS` per file) tells whether only whitespace
changed in core files; what definitions changed is the change facts' job (bot/analysis/facts).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from bot.analysis.heuristic_rules import PATCH_SCAN_CHARS, PATCH_SCAN_FILE_CHARS
from bot.analysis.paths import DEFAULT_ROLES, PathKind, PathRoles
from bot.models import Commit, FileChange

__all__ = ["Footprint", "measure"]

MAX_NAMED_PATHS = 8
_MIGRATION_DIRS = frozenset({"migrations", "migration", "alembic", "migrate", "schema_migrations"})


def is_migration(path: str) -> bool:
    lowered = path.lower()
    parts = lowered.split("/")
    return bool(set(parts[:-1]) & _MIGRATION_DIRS) or (
        lowered.endswith(".sql") and ("schema" in lowered or "migrat" in lowered)
    )


def is_platform_file(path: str) -> bool:
    """A file that by its place or name implements one platform or backend."""
    lowered = path.lower()
    parts = lowered.split("/")
    stem = parts[-1].rsplit(".", 1)[0]
    in_platform_dir = bool(set(parts[:-1]) & {"platforms", "platform", "backends", "devices"})
    return in_platform_dir or stem.endswith(("_backend", "_platform", "_device"))


_INDENT_SYNTAX = (".py", ".pyi", ".yaml", ".yml", "makefile", ".mk", ".nim", ".coffee", ".haml")
_HEADER_STARTS = ("+++ a/", "+++ b/", "+++ /dev/null", "--- a/", "--- b/", "--- /dev/null")


@dataclass
class _WhitespaceScan:
    """Whether every inspected core patch only moves whitespace (bounded)."""

    budget: int = PATCH_SCAN_CHARS
    inspected: int = 0
    whitespace_only: bool = True

    def scan(self, change: FileChange) -> None:
        patch = change.patch
        if change.changes == 0:
            return
        if patch is None or len(patch) > PATCH_SCAN_FILE_CHARS or len(patch) > self.budget:
            self.whitespace_only = False
            return
        self.budget -= len(patch)
        self.inspected += 1
        indent_matters = change.path.lower().endswith(_INDENT_SYNTAX)
        minus: Counter[str] = Counter()
        plus: Counter[str] = Counter()
        changed = False
        for line in patch.splitlines():
            if not line or line[0] not in "+-" or line.startswith(_HEADER_STARTS):
                continue
            changed = True
            squeezed = "".join(line[1:].split())
            if indent_matters and squeezed:
                # Indentation is syntax here: moving a line in or out of a block is no format fix.
                squeezed = f"{len(line[1:]) - len(line[1:].lstrip())}:{squeezed}"
            if squeezed:
                (minus if line[0] == "-" else plus)[squeezed] += 1
        if not changed or minus != plus:
            self.whitespace_only = False


@dataclass(frozen=True)
class Footprint:
    """What a commit touches, by kind and size. Built in one pass over the file list."""

    files: int = 0
    additions: int = 0
    deletions: int = 0
    kinds: dict[PathKind, int] = field(default_factory=dict)  # files per kind
    core_files: int = 0  # core files with changed lines
    core_lines: int = 0
    renamed_core: int = 0  # core files moved or renamed
    migrations: tuple[str, ...] = ()  # a bounded sample of migration/schema paths
    added_platform_files: tuple[str, ...] = ()  # a bounded sample
    whitespace_only: bool = False  # core code changed, and only in whitespace

    @property
    def lines(self) -> int:
        return self.additions + self.deletions

    def count(self, *kinds: PathKind) -> int:
        return sum(self.kinds.get(kind, 0) for kind in kinds)

    @property
    def only(self) -> PathKind | None:
        """The single kind of every file (lock files count as build), or None when mixed."""
        present = {PathKind.BUILD if kind is PathKind.LOCK else kind for kind in self.kinds}
        return next(iter(present)) if len(present) == 1 else None

    @property
    def touches_core(self) -> bool:
        return self.count(PathKind.CORE) > 0

    @property
    def touches_tests(self) -> bool:
        return self.count(PathKind.TEST) > 0


def measure(commit: Commit, roles: PathRoles = DEFAULT_ROLES) -> Footprint:
    """The commit's footprint. Linear in the number of files; patch inspection is bounded."""
    kinds: Counter[PathKind] = Counter()
    core_files = core_lines = renamed_core = 0
    migrations: list[str] = []
    platform_files: list[str] = []
    scan = _WhitespaceScan()
    file_additions = file_deletions = 0
    for change in commit.files:
        kind = roles.kind(change.path)
        kinds[kind] += 1
        file_additions += change.additions
        file_deletions += change.deletions
        if kind is not PathKind.CORE:
            continue
        if change.previous_path and change.previous_path != change.path:
            renamed_core += 1
        if change.changes == 0:
            continue
        core_files += 1
        core_lines += change.changes
        if is_migration(change.path) and len(migrations) < MAX_NAMED_PATHS:
            migrations.append(change.path)
        added_platform = change.status == "added" and is_platform_file(change.path)
        if added_platform and len(platform_files) < MAX_NAMED_PATHS:
            platform_files.append(change.path)
        scan.scan(change)
    additions = commit.additions or file_additions
    deletions = commit.deletions or file_deletions
    return Footprint(
        files=len(commit.files),
        additions=additions,
        deletions=deletions,
        kinds=dict(sorted(kinds.items())),
        core_files=core_files,
        core_lines=core_lines,
        renamed_core=renamed_core,
        migrations=tuple(migrations),
        added_platform_files=tuple(platform_files),
        whitespace_only=scan.whitespace_only and scan.inspected > 0 and core_files > 0,
    )
