"""Definitions of both sides of a whole commit compared: added, removed, renamed, moved, re-signed.

A definition counts when the diff touched its signature on either side. It is removed when no
side of the new code shows its name any more, added when the old code never showed it,
re-signed when both show it with different parameters or declaration text, moved when it
disappears from one file and appears in another, and renamed when a removed and an added
definition of one file have the same non-empty parameter list and pair up uniquely.
"""

from __future__ import annotations

import difflib
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from bot.analysis.facts.definitions import Definition, Param
from bot.models import SymbolChange


@dataclass
class SideIndex:
    """Every definition one side of the commit shows, by name and by path."""

    touched: dict[tuple[str, str], Definition] = field(default_factory=dict)  # (path, name)
    seen: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # name -> paths
    by_path: dict[tuple[str, str], Definition] = field(default_factory=dict)
    # Parameter-list tails named only by a hunk header: git takes that header from the old
    # file, so on the new side the name may be stale. They never prove that a name exists;
    # they are compared with each other for parameter changes only.
    partial: dict[tuple[str, str], Definition] = field(default_factory=dict)

    def add(self, path: str, definition: Definition) -> None:
        key = (path, definition.name)
        if definition.partial:
            known_partial = self.partial.get(key)
            if known_partial is None or definition.touched:
                self.partial[key] = definition
            return
        self.seen[definition.name].add(path)
        known = self.by_path.get(key)
        # Prefer the view with a parsed parameter list, then a touched one.
        if known is None or (known.params is None and definition.params is not None):
            self.by_path[key] = definition
        if definition.touched:
            current = self.touched.get(key)
            if current is None or (current.params is None and definition.params is not None):
                self.touched[key] = definition


def _param_changes(
    old: tuple[Param, ...], new: tuple[Param, ...]
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    old_by_name = {p.name: p for p in old}
    new_by_name = {p.name: p for p in new}
    added = tuple(
        p.name + (f"={p.default}" if p.default else "") for p in new if p.name not in old_by_name
    )
    removed = tuple(p.name for p in old if p.name not in new_by_name)
    defaults = tuple(
        f"{name}: {old_by_name[name].default or '(none)'} -> {p.default or '(none)'}"
        for name, p in new_by_name.items()
        if name in old_by_name and old_by_name[name].default != p.default
    )
    types = tuple(
        f"{name}: {old_by_name[name].annotation or '(none)'} -> {p.annotation or '(none)'}"
        for name, p in new_by_name.items()
        if name in old_by_name
        and old_by_name[name].annotation != p.annotation
        and (old_by_name[name].annotation or p.annotation)
    )
    return added, removed, defaults, types


def _counterpart(name: str, path: str, index: SideIndex, moved_to: dict[str, str]) -> str | None:
    """The path where the other side shows `name`: the same file, its rename, else elsewhere."""
    paths = index.seen.get(name, set())
    for candidate in (path, moved_to.get(path)):
        if candidate and candidate in paths:
            return candidate
    if len(paths) == 1:
        return next(iter(paths))
    return None


def compare(
    old: SideIndex, new: SideIndex, moved_to: dict[str, str], language: dict[str, str]
) -> list[SymbolChange]:
    """The symbol changes of a commit, from the definitions of its two sides."""
    moved_from = {new_path: old_path for old_path, new_path in moved_to.items()}
    changes: list[SymbolChange] = []
    removed: list[tuple[str, Definition]] = []
    added: list[tuple[str, Definition]] = []
    handled: set[tuple[str, str]] = set()
    for (path, name), before in old.touched.items():
        other = _counterpart(name, path, new, moved_to)
        if other is None:
            removed.append((path, before))
            continue
        after = new.by_path[(other, name)]
        handled.add((other, name))
        if other not in (path, moved_to.get(path)):
            changes.append(
                _change(
                    "moved",
                    name,
                    other,
                    before=before,
                    after=after,
                    language=language,
                    old_path=path,
                )
            )
        elif _differs(before, after):
            changes.append(
                _change("signature", name, other, before=before, after=after, language=language)
            )
    for (path, name), after in new.touched.items():
        if (path, name) in handled:
            continue
        other = _counterpart(name, moved_from.get(path, path), old, moved_to)
        if other is None:
            added.append((path, after))
            continue
        before = old.by_path[(other, name)]
        if other in (path, moved_from.get(path)):
            if _differs(before, after):
                changes.append(
                    _change("signature", name, path, before=before, after=after, language=language)
                )
        else:
            changes.append(
                _change(
                    "moved",
                    name,
                    path,
                    before=before,
                    after=after,
                    language=language,
                    old_path=other,
                )
            )
    for key, tail_after in new.partial.items():
        tail_before = old.partial.get(key)
        if tail_before is None or key in handled:
            continue
        if not (tail_before.touched or tail_after.touched):
            continue
        if tail_before.params != tail_after.params and key[1] not in {c.name for c in changes}:
            changes.append(
                _change(
                    "signature",
                    key[1],
                    key[0],
                    before=tail_before,
                    after=tail_after,
                    language=language,
                )
            )
    renamed = _pair_renames(removed, added, moved_to)
    for (_, before), (path, after) in renamed:
        changes.append(
            _change(
                "renamed",
                after.name,
                path,
                before=before,
                after=after,
                language=language,
                old_name=before.name,
            )
        )
    paired_old = {id(pair[0][1]) for pair in renamed}
    paired_new = {id(pair[1][1]) for pair in renamed}
    changes.extend(
        _change("removed", d.name, path, before=d, after=None, language=language)
        for path, d in removed
        if id(d) not in paired_old
    )
    changes.extend(
        _change("added", d.name, path, before=None, after=d, language=language)
        for path, d in added
        if id(d) not in paired_new
    )
    return changes


def _differs(before: Definition, after: Definition) -> bool:
    """A real change of the declaration. With a parameter list cut off by the hunk on either
    side nothing can be concluded for a callable; a class compares its declaration line."""
    if before.params is not None and after.params is not None:
        return before.params != after.params or _squash(before.signature) != _squash(
            after.signature
        )
    if before.kind == "class" and after.kind == "class":
        return _squash(before.signature) != _squash(after.signature)
    return False


def _squash(text: str) -> str:
    return "".join(text.split()).rstrip(",")


_Bucket = tuple[str, str, tuple[Param, ...]]  # (path, definition kind, parameter shape)


def _pair_renames(
    removed: list[tuple[str, Definition]],
    added: list[tuple[str, Definition]],
    moved_to: dict[str, str],
) -> list[tuple[tuple[str, Definition], tuple[str, Definition]]]:
    cut = (Param("…"),)  # a signature cut by its hunk pairs only when it is the only one
    a_class = (Param("class"),)  # classes have no parameters to compare: see the name check

    def shape(d: Definition) -> tuple[Param, ...] | None:
        if d.kind == "class":
            return a_class
        return d.params if d.params else (cut if d.params is None else None)

    # Added definitions bucketed by (file, kind, shape); a removed one looks up its own file
    # and the file it moved to. A pair counts only when each side is the other's only match,
    # so a file with thousands of definitions of one shape stays linear.
    buckets: dict[_Bucket, list[int]] = {}
    for j, (path, after) in enumerate(added):
        after_shape = shape(after)
        if after_shape is not None:
            buckets.setdefault((path, after.kind, after_shape), []).append(j)
    looked_up: dict[int, list[_Bucket]] = {}
    askers: Counter[_Bucket] = Counter()
    for i, (old_path, before) in enumerate(removed):
        before_shape = shape(before)
        if before_shape is None:
            continue
        files = dict.fromkeys((old_path, moved_to.get(old_path, old_path)))
        keys: list[_Bucket] = [(path, before.kind, before_shape) for path in files]
        keys = [key for key in keys if key in buckets]
        if keys:
            looked_up[i] = keys
            askers.update(keys)
    pairs = []
    for i, keys in looked_up.items():
        if len(keys) == 1 and len(buckets[keys[0]]) == 1 and askers[keys[0]] == 1:
            gone, new = removed[i], added[buckets[keys[0]][0]]
            if gone[1].kind == "class" and not _similar(gone[1].name, new[1].name):
                continue  # one class out and an unrelated one in is no rename
            pairs.append((gone, new))
    return pairs


CLASS_RENAME_SIMILARITY = 0.6


def _similar(old: str, new: str) -> bool:
    """`BlackwellDenseGemmKernel` -> `Sm12xDenseGemmKernel` keeps most of the name."""
    ratio = difflib.SequenceMatcher(None, old.lower(), new.lower()).ratio()
    return ratio >= CLASS_RENAME_SIMILARITY


def _change(
    kind: str,
    name: str,
    path: str,
    *,
    before: Definition | None,
    after: Definition | None,
    language: dict[str, str],
    old_name: str | None = None,
    old_path: str | None = None,
) -> SymbolChange:
    params_added: tuple[str, ...] = ()
    params_removed: tuple[str, ...] = ()
    defaults: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    if (
        kind == "signature"
        and before
        and after
        and before.params is not None
        and after.params is not None
    ):
        params_added, params_removed, defaults, types = _param_changes(before.params, after.params)
    public = (before.public if before else False) or (after.public if after else False)
    return SymbolChange.model_validate(
        {
            "kind": kind,
            "name": name,
            "path": path,
            "public": public,
            "language": language.get(path, language.get(old_path or "", "")),
            "old_name": old_name,
            "old_path": old_path,
            "before": before.signature if before else None,
            "after": after.signature if after else None,
            "params_added": params_added,
            "params_removed": params_removed,
            "defaults_changed": defaults,
            "types_changed": types,
        }
    )
