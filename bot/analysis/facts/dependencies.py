"""Dependency facts: which packages a manifest adds, drops or moves to another version.

Python requirement strings are parsed with `packaging` (PEP 508), so a pyproject change that
only renames package data or edits a tool section yields no dependency at all. package.json,
Cargo.toml and go.mod lines are read with patterns; a submodule's "Subproject commit" line
is a dependency pinned by commit.
"""

from __future__ import annotations

import re

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from bot.analysis.diff import Side

MAX_SPEC_CHARS = 60

_PY_REQUIREMENTS_RE = re.compile(
    r"(?:^|/)requirements[\w.-]*\.(?:txt|in)$|(?:^|/)constraints[\w.-]*\.txt$"
)
_PY_QUOTED_RE = re.compile(r"^\s*[\"'](?P<req>[^\"'#]{1,200})[\"']\s*,?\s*(?:#.*)?$")
_PY_MANIFEST_RE = re.compile(r"(?:^|/)(?:pyproject[\w.-]*\.toml|setup\.py|setup\.cfg)$")
_JS_DEP_RE = re.compile(
    r"^\s*\"(?P<name>(?:@[\w.-]+/)?[\w.-]+)\"\s*:\s*\"(?P<spec>(?:[~^<>=]*\s*\d[\w.+-]*"
    r"(?:\s*(?:\|\||-|<|>|=)[^\"]*)?|workspace:[^\"]*|npm:[^\"]*|latest|\*))\"\s*,?\s*$"
)
_CARGO_DEP_RE = re.compile(
    r"^\s*(?P<name>[\w-]+)\s*=\s*(?:\"(?P<spec>[^\"]{1,60})\"|\{[^}]*\bversion\s*=\s*\""
    r"(?P<spec2>[^\"]{1,60})\"[^}]*\})\s*$"
)
_GO_DEP_RE = re.compile(r"^\s*(?:require\s+)?(?P<name>[\w.-]+\.[\w./-]+)\s+(?P<spec>v\d[\w.+-]*)")
_SUBMODULE_RE = re.compile(r"^Subproject commit (?P<sha>[0-9a-f]{7,40})")


def _python_requirement(text: str) -> tuple[str, str] | None:
    text = text.split(";", 1)[0].strip() if "://" not in text else text.strip()
    if not text or text.startswith(("-", "#")):
        return None
    try:
        requirement = Requirement(text)
    except InvalidRequirement:
        return None
    spec = str(requirement.specifier) or (requirement.url or "")
    return canonicalize_name(requirement.name), spec[:MAX_SPEC_CHARS]


def _line_dependency(path: str, line: str) -> tuple[str, str] | None:
    name = path.rsplit("/", 1)[-1].lower()
    if _PY_REQUIREMENTS_RE.search(path.lower()):
        return _python_requirement(line.split("#", 1)[0])
    if _PY_MANIFEST_RE.search(path.lower()):
        quoted = _PY_QUOTED_RE.match(line)
        if quoted:
            found = _python_requirement(quoted.group("req"))
            # A bare word could be a package name, a module or a data path: only versioned
            # requirements count in a manifest's lists.
            return found if found and found[1] else None
        return None
    if name == "package.json":
        match = _JS_DEP_RE.match(line)
        return (match.group("name"), match.group("spec")) if match else None
    if name == "cargo.toml":
        match = _CARGO_DEP_RE.match(line)
        if match and match.group("name") not in ("version", "edition", "name", "rust-version"):
            return match.group("name"), match.group("spec") or match.group("spec2") or ""
        return None
    if name == "go.mod":
        match = _GO_DEP_RE.match(line)
        return (match.group("name"), match.group("spec")) if match else None
    return None


def read_dependencies(path: str, side: Side) -> dict[str, str]:
    """name -> version specifier of every dependency on the side's changed lines."""
    found: dict[str, str] = {}
    for line in side.changed_lines():
        submodule = _SUBMODULE_RE.match(line)
        if submodule:
            found[path] = submodule.group("sha")[:12]
            continue
        dependency = _line_dependency(path, line)
        if dependency is not None:
            found[dependency[0]] = dependency[1]
    return found
