"""What a changed path is: its kind (core, tests, docs, CI, build...) and its role (kernel, API).

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
| ownership | CODEOWNERS, OWNERS, MAINTAINERS files                                               |
| auxiliary | examples/, benchmark(s)/, scripts/, tools/, demo(s)/, notebooks/, assets/           |
| core      | everything else                                                                     |

Roles refine core files. Defaults that work for a big repository nobody configured:
- kernel: CUDA/HIP/Metal sources (`.cu`, `.cuh`, `.hip`, `.metal`), and files under a `csrc/`,
  `kernels/`, `*_kernels/`, `cuda/`, `triton/` or `include/` directory;
- public API: core files outside private packages (no path part starting with `_`, apart from
  `__init__.py`); headers under `include/`.
A repository's `[repos.paths]` TOML table adds globs per role (`core`, `kernels`, `public_api`);
a `public_api` list replaces the default rule, so a repository can say exactly what its API is.
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from bot.config import PathRolesConfig


class PathKind(StrEnum):
    """What a changed file is, from its path alone."""

    CORE = "core"
    TEST = "test"
    DOCS = "docs"
    CI = "ci"
    BUILD = "build"  # dependency manifests, Dockerfiles, build scripts
    LOCK = "lock"
    VENDORED = "vendored"  # third-party or generated code
    OWNERSHIP = "ownership"  # CODEOWNERS and friends
    AUXILIARY = "auxiliary"  # examples, benchmarks, scripts, repo metadata


_CI_DIRS = frozenset({".circleci", ".buildkite", ".azure-pipelines", "ci", ".ci", ".gitlab"})
_CI_FILES = frozenset(
    {".gitlab-ci.yml", ".travis.yml", "azure-pipelines.yml", "jenkinsfile", "appveyor.yml"}
    | {".pre-commit-config.yaml", "codecov.yml", ".codecov.yml", "tox.ini", "noxfile.py"}
)
_VENDOR_DIRS = frozenset(
    {"vendor", "vendored", "third_party", "thirdparty", "3rdparty", "external"}
    | {"node_modules", "_vendor", "deps"}
)
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
_OWNERSHIP_FILES = frozenset({"codeowners", "owners", "maintainers", "owners_aliases"})
_AUX_DIRS = frozenset(
    {"examples", "example", "benchmark", "benchmarks", "bench", "samples", "demo", "demos"}
    | {"scripts", "tools", "playground", "notebooks", "assets"}
)
_GENERATED_RE = re.compile(r"(?:_pb2(?:_grpc)?\.pyi?|\.pb\.go|\.min\.(?:js|css)|\.generated\.\w+)$")
SURFACE_DEPTH = 3
C_FAMILY = (".c", ".cc", ".cpp", ".cxx", ".cu", ".cuh", ".h", ".hh", ".hpp", ".hxx", ".inl")
_HEADERS = (".h", ".hpp", ".hh", ".cuh", ".hxx")
_SOURCES_ONLY = (".c", ".cc", ".cpp", ".cxx", ".cu", ".inl")
_KERNEL_EXTENSIONS = (".cu", ".cuh", ".hip", ".metal", ".cl", ".ptx")
_KERNEL_DIRS = frozenset({"csrc", "kernels", "kernel", "cuda", "triton", "include", "hip"})


def path_kind(path: str) -> PathKind:
    """Classify one path; the order is the table's (first match wins)."""
    lowered = path.lower()
    parts = lowered.split("/")
    name = parts[-1]
    dirs = set(parts[:-1])
    if dirs & _VENDOR_DIRS or _GENERATED_RE.search(name):
        return PathKind.VENDORED
    if name in _OWNERSHIP_FILES:
        return PathKind.OWNERSHIP
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


def extension(path: str) -> str:
    """The lower-cased file extension with its dot (".cu"); "" for none or a dotfile."""
    name = path.rsplit("/", 1)[-1]
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""


def is_runtime_manifest(path: str) -> bool:
    """A dependency manifest that ships with the package (not dev/test/docs requirements)."""
    lowered = path.lower()
    parts = lowered.split("/")
    name = parts[-1]
    if not _MANIFEST_RE.match(name) or set(parts[:-1]) & (_TEST_DIRS | _DOCS_DIRS | _CI_DIRS):
        return False
    stem = name.split(".", 1)[0]
    return not any(_DEV_MANIFEST_RE.match(piece) for piece in re.split(r"[_-]", stem)[1:])


def _matches(path: str, globs: Sequence[str]) -> bool:
    return any(
        fnmatch.fnmatchcase(path, glob + "*" if glob.endswith("/") else glob) for glob in globs
    )


@dataclass(frozen=True)
class PathRoles:
    """A repository's path roles: its own globs on top of the defaults above."""

    core: tuple[str, ...] = ()
    kernels: tuple[str, ...] = ()
    public_api: tuple[str, ...] = ()

    @classmethod
    def of(cls, config: PathRolesConfig) -> PathRoles:
        """The roles a repository's `[repos.paths]` table asks for."""
        if not (config.core or config.kernels or config.public_api):
            return DEFAULT_ROLES
        return cls(core=config.core, kernels=config.kernels, public_api=config.public_api)

    @property
    def fingerprint(self) -> str:
        """A short stable id of the globs ("" for the defaults): analyses made under other
        roles are other cache entries, so tuning `[repos.paths]` takes effect at once."""
        if not (self.core or self.kernels or self.public_api):
            return ""
        roles = (self.core, self.kernels, self.public_api)
        text = "\x1f".join("\x1e".join(globs) for globs in roles)
        return hashlib.sha256(text.encode()).hexdigest()[:8]

    def _describe(self, path: str) -> tuple[PathKind, bool, bool]:
        return _describe(self, path)

    def kind(self, path: str) -> PathKind:
        return self._describe(path)[0]

    def is_kernel(self, path: str) -> bool:
        return self._describe(path)[1]

    def is_public_api(self, path: str) -> bool:
        return self._describe(path)[2]

    def is_surface(self, path: str) -> bool:
        """Can callers import from `path`? The `public_api` globs when configured; else Python
        modules at most SURFACE_DEPTH levels into a package (`pkg/x.py`,
        `pkg/sub/__init__.py`), and C/C++ headers under `include/` (sources are
        implementation, whatever they declare)."""
        if self.public_api:
            return self.is_public_api(path)
        parts = path.split("/")
        if parts[0] in ("python", "src") and len(parts) > 2:
            parts = parts[1:]
        if not self.is_public_api(path):
            return False
        if path.endswith(_HEADERS):
            return parts[0] == "include"
        if path.endswith(_SOURCES_ONLY):
            return False
        return len(parts) <= SURFACE_DEPTH


DEFAULT_ROLES = PathRoles()


# The rules and notes ask about the same paths many times per commit (a 3,000-file commit:
# ten thousand lookups); roles are frozen, so the answers are cached per (roles, path).
@functools.lru_cache(maxsize=65_536)
def _describe(roles: PathRoles, path: str) -> tuple[PathKind, bool, bool]:
    """(kind, kernel?, public API?) of `path` under `roles`."""
    kind = PathKind.CORE if _matches(path, roles.core) else path_kind(path)
    lowered = path.lower()
    parts = lowered.split("/")
    kernel = kind is PathKind.CORE and (
        _matches(path, roles.kernels)
        or lowered.endswith(_KERNEL_EXTENSIONS)
        or bool(set(parts[:-1]) & _KERNEL_DIRS)
        or any(part.endswith("_kernels") for part in parts[:-1])
    )
    if roles.public_api:
        api = _matches(path, roles.public_api)
    else:
        private = any(
            part.startswith("_") and part not in ("__init__.py", "__main__.py") for part in parts
        )
        api = kind is PathKind.CORE and not private
    return kind, kernel, api
