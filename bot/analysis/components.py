"""A commit's impact scope: component names from the repo's glob map, else meaningful directories.

Shared by both analyzers. The heuristic calls `derive_scope`; the LLM analyzer passes the model's
scope through `ground_scope`, which keeps only entries that exist in the commit (a file path, a
directory of one, or a configured component whose globs match one of its files) — see the
"Grounding" rule of the design brief. A top-level directory is shown with its slash (`csrc/`).

Component map: `{glob: name}` from the repo's config, matched with `fnmatch.fnmatchcase` against
each file path (so `*` also crosses `/`). A glob ending in `/` means "everything under this
directory". When several globs match a file, the most specific wins: most literal (non-wildcard)
characters, then the longer glob, then the alphabetically first glob (for determinism).

Without a matching component a file counts toward a directory prefix: the root segments of common
layouts (`python/<pkg>/`, `src/<pkg>/`, `lib/`, `packages/`, ...) are kept but not counted, then up
to three meaningful directory levels follow (`python/sglang/srt/layers/quantization`). When the
`MAX_SCOPE` heaviest of those cover less than `SCOPE_MIN_SHARE` of the weight, the prefixes get
one level shorter, down to the layout root (`python/sglang`) or the top directory. Commits of at
most `FILE_SCOPE_MAX_FILES` files list the files themselves. Entries are ordered by changed lines
(additions + deletions + 1 per file) descending, then by name.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.models import Commit

MAX_SCOPE = 6
MAX_SCOPE_ENTRY_CHARS = 200  # longer entries are dropped, never cut (a cut path is not grounded)
FILE_SCOPE_MAX_FILES = 3
MEANINGFUL_DEPTHS = (3, 2, 1, 0)
SCOPE_MIN_SHARE = 0.6  # the listed entries must cover this share of the changed lines, else shorten

# Layout roots that say nothing about the component: `python/sglang/...`, `src/pkg/...`.
_PACKAGE_ROOTS = frozenset({"python", "src"})  # followed by a package name, skipped too
_PLAIN_ROOTS = frozenset({"lib", "libs", "packages", "pkg", "crates", "apps", "source"})
_CANDIDATE_STRIP = " \t\r\n`'\"“”‘’"


@dataclass(frozen=True)
class ComponentMap:
    """A compiled `{glob: name}` map; build it once per commit, match many paths."""

    rules: tuple[tuple[re.Pattern[str], str, str], ...]  # (compiled glob, glob, name)

    @classmethod
    def compile(cls, components: Mapping[str, str]) -> ComponentMap:
        rules: list[tuple[tuple[int, int, str], re.Pattern[str], str, str]] = []
        for glob, name in components.items():
            clean_name = " ".join(str(name).split())
            if not glob or not clean_name or len(clean_name) > MAX_SCOPE_ENTRY_CHARS:
                continue
            pattern = glob + "*" if glob.endswith("/") else glob
            literal = sum(1 for char in glob if char not in "*?[]")
            # Sort most specific first; ties by glob text keep the order independent of the dict.
            key = (-literal, -len(glob), glob)
            rules.append((key, re.compile(fnmatch.translate(pattern)), glob, clean_name))
        rules.sort(key=lambda rule: rule[0])
        return cls(tuple((compiled, glob, name) for _, compiled, glob, name in rules))

    def match(self, path: str) -> str | None:
        """The component of the most specific glob matching `path`, or None."""
        for compiled, _, name in self.rules:
            if compiled.match(path):
                return name
        return None

    def names(self) -> frozenset[str]:
        return frozenset(name for _, _, name in self.rules)


def meaningful_prefix(path: str, depth: int) -> str:
    """`path`'s directory cut after `depth` meaningful levels; a root-level file is itself."""
    parts = path.split("/")
    dirs = parts[:-1]
    if not dirs or "" in dirs:
        # Root files ("README.md") and odd paths ("/x", "a//b") are their own scope entry.
        return path
    skip = 0
    if dirs[0] in _PACKAGE_ROOTS:
        skip = 2 if len(dirs) > 2 else 1
    elif dirs[0] in _PLAIN_ROOTS:
        skip = 1
    return "/".join(dirs[: max(1, skip + depth)])


def _commit_paths(commit: Commit) -> list[str]:
    paths = [change.path for change in commit.files]
    paths.extend(change.previous_path for change in commit.files if change.previous_path)
    return paths


def _ranked(weights: Mapping[str, int], limit: int) -> tuple[str, ...]:
    ordered = sorted(weights.items(), key=lambda item: (-item[1], item[0]))
    return tuple(name for name, _ in ordered[:limit])


def derive_scope(
    commit: Commit, components: Mapping[str, str], *, limit: int = MAX_SCOPE
) -> tuple[str, ...]:
    """The commit's scope: matched component names, else directory prefixes, most-touched first."""
    component_map = ComponentMap.compile(components)
    by_component: dict[str, int] = {}
    unmatched: list[tuple[str, int]] = []
    for change in commit.files:
        if not change.path:
            continue
        weight = change.changes + 1
        name = component_map.match(change.path) if component_map.rules else None
        if name is not None:
            by_component[name] = by_component.get(name, 0) + weight
        else:
            unmatched.append((change.path, weight))

    by_path: dict[str, int] = {}
    if len(commit.files) <= FILE_SCOPE_MAX_FILES:
        for path, weight in unmatched:
            by_path[path] = by_path.get(path, 0) + weight
    else:
        total = sum(weight for _, weight in unmatched)
        room = max(1, limit - len(by_component))
        for depth in MEANINGFUL_DEPTHS:
            by_path = {}
            for path, weight in unmatched:
                prefix = meaningful_prefix(path, depth)
                by_path[prefix] = by_path.get(prefix, 0) + weight
            shown = sorted(by_path.values(), reverse=True)[:room]
            if sum(shown) >= total * SCOPE_MIN_SHARE:
                break

    merged = dict(by_path)
    for name, weight in by_component.items():
        merged[name] = merged.get(name, 0) + weight
    return ground_scope(_ranked(merged, len(merged)), commit, components, limit=limit)


def normalize_candidate(candidate: str) -> str:
    """An LLM's scope entry without quotes, `./`, trailing `/`, `/*` or `/**`."""
    text = candidate.strip(_CANDIDATE_STRIP)
    while text.startswith("./"):
        text = text[2:]
    for suffix in ("/**", "/*", "/"):
        while text.endswith(suffix) and len(text) > len(suffix):
            text = text[: -len(suffix)]
    return text


def ground_scope(
    candidates: Iterable[str],
    commit: Commit,
    components: Mapping[str, str],
    *,
    limit: int = MAX_SCOPE,
) -> tuple[str, ...]:
    """Keep the candidates that exist in `commit`: a path, a directory of one, or a component.

    Order is kept, duplicates and over-long entries are dropped, at most `limit` are returned.
    """
    paths = _commit_paths(commit)
    known_paths = set(paths)
    directories: set[str] = set()
    for path in paths:
        index = path.find("/")
        while index > 0:
            directories.add(path[:index])
            index = path.find("/", index + 1)
    component_map = ComponentMap.compile(components)
    matched_components: set[str] = set()
    if component_map.rules:
        for path in paths:
            name = component_map.match(path)
            if name is not None:
                matched_components.add(name)

    grounded: list[str] = []
    seen: set[str] = set()
    for candidate in candidates:
        if len(grounded) >= limit:
            break
        if not isinstance(candidate, str) or len(candidate) > MAX_SCOPE_ENTRY_CHARS * 2:
            continue
        entry = candidate if candidate in known_paths else normalize_candidate(candidate)
        if not entry or len(entry) > MAX_SCOPE_ENTRY_CHARS:
            continue
        if entry in known_paths or entry in matched_components:
            shown = entry
        elif entry in directories:
            # A top-level directory reads as one with its slash (`csrc/`), so it is never
            # mistaken for a component name and renders as a path like every other entry.
            shown = entry if "/" in entry else entry + "/"
        else:
            continue
        if shown not in seen:
            grounded.append(shown)
            seen.add(shown)
    return tuple(grounded)
