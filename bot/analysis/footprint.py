"""A commit's footprint: its files sorted into kinds (core, tests, docs, CI, build...) and sizes.

Path kinds, in the order they are tested (first match wins):

| kind      | paths                                                                               |
|-----------|-------------------------------------------------------------------------------------|
| vendored  | under vendor/, third_party/, 3rdparty/, external/, node_modules/; generated files    |
|           | (`*_pb2.py`, `*.pb.go`, `*.min.js`, `*.generated.*`)                                |
| ci        | .github/**, a `ci/` directory, .gitlab-ci.yml, .travis.yml, Jenkinsfile,            |
|           | .pre-commit-config.yaml, tox.ini, noxfile.py, codecov.yml                           |
| lock      | uv.lock, poetry.lock, package-lock.json, yarn.lock, Cargo.lock, go.sum, ...          |
| build     | pyproject*.toml, setup.py/cfg, requirements*.txt, package.json, go.mod, Cargo.toml, |
|           | Dockerfiles, docker/, Makefile, CMakeLists.txt, *.cmake                             |
| test      | a test/, tests/, testing/, spec/, e2e/ directory; test_*.py, *_test.*, *.spec.*,    |
|           | conftest.py                                                                         |
| docs      | docs/, doc/, website/; *.md, *.rst, *.adoc, *.mdx; README, CHANGELOG, LICENSE, ...   |
| auxiliary | examples/, benchmark(s)/, scripts/, tools/, demo(s)/, notebooks/, assets/           |
| core      | everything else                                                                     |

"Core files" exclude pure renames (renamed with no changed line). The patch scan is bounded
(`PATCH_SCAN_CHARS` in all, `PATCH_SCAN_FILE_CHARS` per file, one linear pass per line) and only
looks at core files, for two facts: whether only whitespace changed, and which public
definitions (`def`/`class`, JS `export`, Go exported `func`) were removed and not re-added
anywhere in the commit — reported only when every core patch was inspected in full.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum

from bot.analysis.heuristic_rules import HUB_MODULE_STEMS, PATCH_SCAN_CHARS, PATCH_SCAN_FILE_CHARS
from bot.models import Commit, FileChange

MAX_NAMED_PATHS = 8
MAX_REMOVED_NAMES = 5


class PathKind(StrEnum):
    """What a changed file is, from its path alone."""

    CORE = "core"
    TEST = "test"
    DOCS = "docs"
    CI = "ci"
    BUILD = "build"  # dependency manifests, Dockerfiles, build scripts
    LOCK = "lock"
    VENDORED = "vendored"  # third-party or generated code
    AUXILIARY = "auxiliary"  # examples, benchmarks, scripts, repo metadata


_CI_DIRS = frozenset({".circleci", ".buildkite", ".azure-pipelines", "ci", ".ci", ".gitlab"})
_CI_FILES = frozenset(
    {".gitlab-ci.yml", ".travis.yml", "azure-pipelines.yml", "jenkinsfile", "appveyor.yml"}
    | {".pre-commit-config.yaml", "codecov.yml", ".codecov.yml", "tox.ini", "noxfile.py"}
)
_VENDOR_DIRS = frozenset(
    {"vendor", "vendored", "third_party", "thirdparty", "3rdparty", "external"}
)
_VENDOR_DIRS_EXTRA = frozenset({"node_modules", "_vendor", "deps"})
_LOCK_FILES = frozenset(
    {"uv.lock", "poetry.lock", "pipfile.lock", "package-lock.json", "yarn.lock", "pnpm-lock.yaml"}
    | {"cargo.lock", "go.sum", "gemfile.lock", "composer.lock", "pdm.lock", "bun.lockb"}
)
_MANIFEST_RE = re.compile(
    r"^(?:pyproject[\w.-]*\.toml|setup\.py|setup\.cfg|requirements[\w.-]*\.(?:txt|in)"
    r"|package\.json|go\.mod|cargo\.toml|gemfile|pom\.xml|build\.gradle(?:\.kts)?"
    r"|environment[\w.-]*\.ya?ml|pipfile|manifest\.in)$"
)
_BUILD_FILE_RE = re.compile(
    r"^(?:dockerfile[\w.-]*|[\w.-]+\.dockerfile|makefile|cmakelists\.txt|[\w.-]+\.cmake"
    r"|\.dockerignore|meson\.build|build\.rs|justfile|docker-compose[\w.-]*\.ya?ml)$"
)
_DEV_MANIFEST_RE = re.compile(r"(?:dev|test|docs?|lint|ci)(?:[._-]|$)")
_TEST_DIRS = frozenset({"test", "tests", "testing", "__tests__", "spec", "specs", "e2e"})
_TEST_FILE_RE = re.compile(
    r"^(?:test_[\w.-]+|[\w.-]+_test\.\w+|[\w.-]+\.(?:test|spec)\.\w+|conftest\.py)$"
)
_DOCS_DIRS = frozenset({"docs", "doc", "documentation", "docs_src", "website"})
_DOC_EXTENSIONS = (".md", ".rst", ".adoc", ".mdx")
_DOC_FILE_RE = re.compile(
    r"^(?:readme|changelog|changes|license|contributing|authors|notice|copying)"
    r"(?:\.(?:md|rst|txt|adoc))?$"
)
_AUX_DIRS = frozenset(
    {"examples", "example", "benchmark", "benchmarks", "bench", "samples", "demo", "demos"}
    | {"scripts", "tools", "playground", "notebooks", "assets"}
)
_GENERATED_RE = re.compile(r"(?:_pb2(?:_grpc)?\.pyi?|\.pb\.go|\.min\.(?:js|css)|\.generated\.\w+)$")
_MIGRATION_DIRS = frozenset({"migrations", "migration", "alembic", "migrate", "schema_migrations"})


def path_kind(path: str) -> PathKind:
    """Classify one path. Order matters: vendored, CI, lock, build, test, docs, auxiliary, core."""
    lowered = path.lower()
    parts = lowered.split("/")
    name = parts[-1]
    dirs = set(parts[:-1])
    if dirs & _VENDOR_DIRS or dirs & _VENDOR_DIRS_EXTRA or _GENERATED_RE.search(name):
        return PathKind.VENDORED
    if parts[0] == ".github" or dirs & _CI_DIRS or name in _CI_FILES:
        return PathKind.CI
    if name in _LOCK_FILES:
        return PathKind.LOCK
    if _MANIFEST_RE.match(name) or _BUILD_FILE_RE.match(name) or "docker" in dirs:
        return PathKind.BUILD
    if dirs & _TEST_DIRS or _TEST_FILE_RE.match(name):
        return PathKind.TEST
    if dirs & _DOCS_DIRS or name.endswith(_DOC_EXTENSIONS) or _DOC_FILE_RE.match(name):
        return PathKind.DOCS
    if dirs & _AUX_DIRS:
        return PathKind.AUXILIARY
    return PathKind.CORE


def is_runtime_manifest(path: str) -> bool:
    """A dependency manifest that ships with the package (not dev/test/docs requirements)."""
    lowered = path.lower()
    parts = lowered.split("/")
    name = parts[-1]
    if not _MANIFEST_RE.match(name) or set(parts[:-1]) & (_TEST_DIRS | _DOCS_DIRS | _CI_DIRS):
        return False
    stem = name.split(".", 1)[0]
    return not any(_DEV_MANIFEST_RE.match(piece) for piece in re.split(r"[_-]", stem)[1:])


def is_migration(path: str) -> bool:
    lowered = path.lower()
    parts = lowered.split("/")
    return bool(set(parts[:-1]) & _MIGRATION_DIRS) or (
        lowered.endswith(".sql") and ("schema" in lowered or "migrat" in lowered)
    )


def is_hub_module(path: str) -> bool:
    """A module most requests go through (runner, scheduler, server args, config, engine, API)."""
    name = path.rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[0].lower() in HUB_MODULE_STEMS


def is_platform_file(path: str) -> bool:
    """A file that by its place or name implements one platform or backend."""
    lowered = path.lower()
    parts = lowered.split("/")
    stem = parts[-1].rsplit(".", 1)[0]
    in_platform_dir = bool(set(parts[:-1]) & {"platforms", "platform", "backends", "devices"})
    return in_platform_dir or stem.endswith(("_backend", "_platform", "_device"))


_DEF_RE = re.compile(
    r"(?:async\s+def|def|class)\s+(?P<py>[A-Za-z_]\w{0,60})"
    r"|export\s+(?:default\s+)?(?:async\s+)?(?:function|class|const|let|interface|type)\s+"
    r"(?P<js>[A-Za-z_$][\w$]{0,60})"
    r"|func\s+(?:\([^)]{0,80}\)\s*)?(?P<go>[A-Z]\w{0,60})"
)
_DEF_STARTS = ("def ", "async def ", "class ", "export ", "func ")
_INDENT_SYNTAX = (".py", ".pyi", ".yaml", ".yml", "makefile", ".mk", ".nim", ".coffee", ".haml")
_HEADER_STARTS = ("+++ a/", "+++ b/", "+++ /dev/null", "--- a/", "--- b/", "--- /dev/null")


def _public_name(line: str) -> str | None:
    body = line.lstrip()
    if not body.startswith(_DEF_STARTS):
        return None
    match = _DEF_RE.match(body)
    if not match:
        return None
    name = match.group("py") or match.group("js") or match.group("go")
    if not name or name.startswith("_"):
        return None
    return name


@dataclass
class _PatchScan:
    budget: int = PATCH_SCAN_CHARS
    complete: bool = True  # every core file with changed lines was inspected in full
    inspected: int = 0
    whitespace_only: bool = True
    removed: set[str] = field(default_factory=set)
    added: set[str] = field(default_factory=set)

    def scan(self, change: FileChange) -> None:
        patch = change.patch
        if change.changes == 0:
            return
        if patch is None or len(patch) > PATCH_SCAN_FILE_CHARS or len(patch) > self.budget:
            self.complete = False
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
            name = _public_name(line[1:])
            if line[0] == "-":
                if squeezed:
                    minus[squeezed] += 1
                if name:
                    self.removed.add(name)
            else:
                if squeezed:
                    plus[squeezed] += 1
                if name:
                    self.added.add(name)
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
    hub_files: int = 0  # core files that are hub modules
    runtime_manifests: int = 0
    migrations: tuple[str, ...] = ()  # a bounded sample of migration/schema paths
    added_platform_files: tuple[str, ...] = ()  # a bounded sample
    whitespace_only: bool = False  # core code changed, and only in whitespace
    removed_public: tuple[str, ...] = ()  # public definitions removed and not re-added

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


def measure(commit: Commit) -> Footprint:
    """The commit's footprint. Linear in the number of files; patch inspection is bounded."""
    kinds: Counter[PathKind] = Counter()
    core_files = core_lines = renamed_core = hub_files = runtime_manifests = 0
    migrations: list[str] = []
    platform_files: list[str] = []
    scan = _PatchScan()
    file_additions = file_deletions = 0
    for change in commit.files:
        kind = path_kind(change.path)
        kinds[kind] += 1
        file_additions += change.additions
        file_deletions += change.deletions
        if kind is PathKind.BUILD and is_runtime_manifest(change.path):
            runtime_manifests += 1
        if kind is not PathKind.CORE:
            continue
        if change.previous_path and change.previous_path != change.path:
            renamed_core += 1
        if change.changes == 0:
            continue
        core_files += 1
        core_lines += change.changes
        hub_files += is_hub_module(change.path)
        if is_migration(change.path) and len(migrations) < MAX_NAMED_PATHS:
            migrations.append(change.path)
        added_platform = change.status == "added" and is_platform_file(change.path)
        if added_platform and len(platform_files) < MAX_NAMED_PATHS:
            platform_files.append(change.path)
        scan.scan(change)
    additions = commit.additions or file_additions
    deletions = commit.deletions or file_deletions
    removed = sorted(scan.removed - scan.added) if scan.complete else []
    return Footprint(
        files=len(commit.files),
        additions=additions,
        deletions=deletions,
        kinds=dict(sorted(kinds.items())),
        core_files=core_files,
        core_lines=core_lines,
        renamed_core=renamed_core,
        hub_files=hub_files,
        runtime_manifests=runtime_manifests,
        migrations=tuple(migrations),
        added_platform_files=tuple(platform_files),
        whitespace_only=scan.whitespace_only and scan.inspected > 0 and core_files > 0,
        removed_public=tuple(removed[:MAX_REMOVED_NAMES]),
    )
