"""Change facts as text: the compact block a model reads, and the terms hunks are ranked by.

The block lists the most telling facts first (removed, renamed and moved public definitions,
changed signatures and exports, settings and defaults, errors, dependencies, moves, additions:
public ones with their declarations, internal ones by name)
and stops at its token budget, saying how many facts it left out. Names and messages inside it
come from the code: the prompt still fences the block as data.
"""

from __future__ import annotations

import posixpath
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator

from bot.analysis.name_lists import code, last_part, name_list
from bot.analysis.tokens import TokenCounter
from bot.models import ChangeFacts, SettingChange, SymbolChange

MAX_LINE_CHARS = 240
MAX_NAMES_PER_LINE = 8


def _line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_LINE_CHARS else text[: MAX_LINE_CHARS - 1] + "…"


def _declaration(signature: str | None, name: str) -> str:
    """A signature to show; one cut by the hunk before its parameters ends in "(…)"."""
    if not signature:
        return code(name)
    text = signature.rstrip()
    if text.endswith("("):
        text += "…)"
    return code(text)


def _symbol_line(change: SymbolChange) -> str:
    visibility = "" if change.public else "internal "
    shown = _declaration(change.before or change.after, change.name)
    if change.kind == "removed":
        return f"- removed {visibility}{shown} ({change.path})"
    if change.kind == "renamed":
        return f"- renamed {code(change.old_name or '?')} -> {code(change.name)} ({change.path})"
    if change.kind == "moved":
        return f"- moved {code(change.name)} from {change.old_path} to {change.path}"
    if change.kind == "added":
        return f"- added {visibility}{_declaration(change.after, change.name)} ({change.path})"
    parts: list[str] = []
    if change.params_added:
        parts.append("new parameters " + ", ".join(code(p) for p in change.params_added))
    if change.params_removed:
        parts.append("removed parameters " + ", ".join(code(p) for p in change.params_removed))
    if change.defaults_changed:
        parts.append("defaults " + "; ".join(code(d) for d in change.defaults_changed))
    if change.types_changed:
        parts.append("types " + "; ".join(code(t) for t in change.types_changed))
    if not parts:
        parts.append(f"now {code(change.after or '')}, was {code(change.before or '')}")
    return f"- signature of {visibility}{code(change.name)}: {', '.join(parts)} ({change.path})"


def _setting_line(change: SettingChange) -> str:
    label = {"env": "environment variable", "flag": "CLI flag", "config": "config field"}[
        change.kind
    ]
    if change.change == "added":
        default = f", default {code(change.new)}" if change.new else ""
        return f"- new {label} {code(change.name)}{default} ({change.path})"
    if change.change == "removed":
        return f"- removed {label} {code(change.name)} ({change.path})"
    return (
        f"- {label} {code(change.name)}: default {code(change.old or '?')} -> "
        f"{code(change.new or '?')} ({change.path})"
    )


def _move_groups(facts: ChangeFacts) -> list[str]:
    groups: Counter[tuple[str, str]] = Counter(
        (posixpath.dirname(m.old_path), posixpath.dirname(m.new_path)) for m in facts.moves
    )
    return [
        f"- moved {count} file(s): {old or '.'}/ -> {new or '.'}/"
        if old != new
        else f"- renamed {count} file(s) in {old or '.'}/"
        for (old, new), count in groups.most_common()
    ]


def fact_lines(facts: ChangeFacts) -> Iterator[str]:
    """Every fact as one line, most telling first."""
    symbols = [s for s in facts.symbols if s.kind != "added"]
    for change in sorted(symbols, key=lambda s: not s.public):
        yield _line(_symbol_line(change))
    by_path: dict[tuple[str, str], list[str]] = {}
    for export in facts.exports:
        by_path.setdefault((export.kind, export.path), []).append(export.name)
    for (kind, path), names in sorted(by_path.items(), key=lambda item: item[0][0] != "removed"):
        verb = "no longer exports" if kind == "removed" else "now exports"
        yield _line(f"- {path} {verb} {name_list(names, 'en', MAX_NAMES_PER_LINE)}")
    for setting in facts.settings:
        yield _line(_setting_line(setting))
    for error in facts.errors:
        what = "raise" if error.kind == "raise" else "check"
        yield _line(f"- {error.change} {what}: {error.text} ({error.path})")
    for dependency in facts.dependencies:
        if dependency.old is None:
            version = dependency.new or ""
            yield _line(f"- new dependency {code(dependency.name)} {version} ({dependency.path})")
        elif dependency.new is None:
            yield _line(f"- dropped dependency {code(dependency.name)} ({dependency.path})")
        else:
            yield _line(
                f"- dependency {code(dependency.name)}: {dependency.old or 'any'} -> "
                f"{dependency.new or 'any'} ({dependency.path})"
            )
    yield from _move_groups(facts)
    yield from _added_lines([s for s in facts.symbols if s.kind == "added"])


def _added_lines(added: list[SymbolChange]) -> Iterator[str]:
    """New public definitions with their declarations, the methods of a new class named on
    its line, and internal helpers as one line of names per file: a new 2,000-line module
    would otherwise fill the block with private signatures."""
    new_classes = {(s.path, s.name) for s in added if "." not in s.name and "::" not in s.name}
    methods: dict[tuple[str, str], list[str]] = {}
    internal: dict[str, list[str]] = {}
    public: list[SymbolChange] = []
    for change in added:
        owner, _, member = change.name.replace("::", ".").rpartition(".")
        if owner and (change.path, owner) in new_classes:
            if change.public:
                methods.setdefault((change.path, owner), []).append(member)
        elif change.public:
            public.append(change)
        else:
            internal.setdefault(change.path, []).append(change.name)
    for change in public:
        line = _symbol_line(change)
        members = methods.get((change.path, change.name))
        if members:
            line = (
                line.removesuffix(f" ({change.path})")
                + f" with {name_list(members, 'en', MAX_NAMES_PER_LINE)} ({change.path})"
            )
        yield _line(line)
    for path, names in internal.items():
        yield _line(f"- added internal {name_list(names, 'en', MAX_NAMES_PER_LINE)} ({path})")


def render_facts(
    facts: ChangeFacts | None,
    *,
    files_total: int,
    files_without_diff: int = 0,
    budget: int,
    counter: TokenCounter,
    scrub: Callable[[str], str] = lambda text: text,
    first: Collection[str] = (),
    paths: Collection[str] | None = None,
) -> str:
    """The facts block within `budget` tokens ('' when there is nothing to say); facts that
    mention one of `first` (a question's terms) lead."""
    if facts is None or budget <= 0:
        return ""
    if paths is not None:
        facts = _only(facts, set(paths))
        files = _count(files_total, "file")
        head = f"Facts computed by digestbot from the whole diff, for this part's {files}:"
    else:
        read = (
            f"{_count(files_total, 'file')}; {_count(facts.files_scanned, 'patch', 'patches')} read"
        )
        if facts.files_unscanned:
            read += f", {facts.files_unscanned} missing or too large"
        if files_without_diff:
            read += f", {files_without_diff} renamed or binary without changed lines"
        head = f"Facts computed by digestbot from the whole diff ({read}):"
    if facts.empty:
        return scrub(
            head + "\n- no public definition, export, setting, error or dependency changed"
        )
    lines = [head]
    used = counter.count(head)
    left = 0
    all_lines = list(fact_lines(facts))
    if first:
        all_lines.sort(key=lambda line: not any(term in line for term in first))
    for index, raw in enumerate(all_lines):
        line = scrub(raw)
        cost = counter.count(line) + 1
        if used + cost > budget - 16:
            left = len(all_lines) - index
            break
        lines.append(line)
        used += cost
    left += facts.omitted
    if left:
        lines.append(f"- … {left} more facts not shown")
    return "\n".join(lines)


def _count(number: int, noun: str, plural: str | None = None) -> str:
    return f"{number} {noun if number == 1 else plural or noun + 's'}"


def _only(facts: ChangeFacts, paths: set[str]) -> ChangeFacts:
    """The facts about `paths` only (a map-reduce part's files)."""
    return facts.model_copy(
        update={
            "symbols": tuple(s for s in facts.symbols if s.path in paths or s.old_path in paths),
            "exports": tuple(e for e in facts.exports if e.path in paths),
            "settings": tuple(s for s in facts.settings if s.path in paths),
            "errors": tuple(e for e in facts.errors if e.path in paths),
            "dependencies": tuple(d for d in facts.dependencies if d.path in paths),
            "moves": tuple(m for m in facts.moves if m.new_path in paths),
            "omitted": 0,
        }
    )


def fact_terms(facts: ChangeFacts | None) -> set[str]:
    """Identifiers a hunk about these facts would contain (last name parts, settings, params)."""
    if facts is None:
        return set()
    terms: set[str] = set()

    def add(names: Iterable[str | None]) -> None:
        for name in names:
            if name:
                terms.add(last_part(name).lstrip("-*"))

    for symbol in facts.symbols:
        if symbol.kind == "added" and not symbol.public:
            continue
        add((symbol.name, symbol.old_name))
        add(p.split("=", 1)[0] for p in (*symbol.params_added, *symbol.params_removed))
        add(d.split(":", 1)[0] for d in symbol.defaults_changed)
    add(export.name for export in facts.exports)
    add(setting.name for setting in facts.settings)
    return {term for term in terms if len(term) >= 3}
