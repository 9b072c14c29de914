"""Context packing: a commit's cleaned words, facts, file list and most valuable hunks, in budget.

What goes in, in order, each part counted with the real tokenizer:
1. the cleaned commit message, then the PR's title, labels and the PR body text that the
   commit body does not already say (each capped to a share of the budget);
2. the change-facts block (computed from the whole diff, so it speaks for every file);
3. the file list: every file, listed one per line while the share allows, the rest grouped
   by directory with counts and line totals, so the list always accounts for every file;
4. patch pieces chosen by value, shown file by file (the file of the most valuable piece
   first, each file's pieces in diff order):
   - tier 0, the public surface: hunks that declare or remove definitions, change exports or
     touch a name the facts mention, as a whole identifier, outside import statements (a
     package's `__init__.py` re-exports by importing; deletion-only hunks included);
   - tier 1, behaviour: conditions, defaults, raises and checks, returns, settings;
   - tier 2, the rest; tests after source, docs after tests, generated and vendored last;
   - never: licence headers, import-only and whitespace-only hunks (counted as skipped).
   Hunks of over SEGMENT_LINES lines (a new 2,000-line file) are cut into segments at their
   top-level definitions and valued one by one. No file has a cap of its own: budget one
   file does not use goes to the next piece; one piece takes at most PIECE_SHARE of the patch
   budget, and below tier 0 a file's first piece at most a fair share of what is left, so
   every file is seen before any gets a second piece. A deep read spends its extra budget on
   tiers 0 and 1 only (`rest_budget`).
5. `terms` (a thread question's words) move matching pieces ahead of everything else.

Work is bounded by the budget, not by the commit: hunks are located by offsets, a piece is cut
to what the budget could ever use before it is counted, and a 3,000-file commit costs one pass.
"""

from __future__ import annotations

import posixpath
import re
from collections import defaultdict
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field

from bot.analysis.cleaner import CommitText
from bot.analysis.diff import HunkSpan, changed_line_count, hunk_spans
from bot.analysis.paths import DEFAULT_ROLES, PathKind, PathRoles
from bot.analysis.tokens import TokenCounter
from bot.models import Commit, Coverage, FileChange

MESSAGE_SHARE = 0.22
PR_SHARE = 0.10
FACTS_SHARE = 0.22
FILE_LIST_SHARE = 0.12
PIECE_SHARE = 0.35  # one hunk or segment takes at most this share of the patch budget
MAX_LISTED_FILES = 200
MAX_OMITTED_SAMPLE = 20
MAX_LINE_CHARS = 300  # minified / generated lines carry little signal per token
MIN_PIECE_TOKENS = 48  # below this, a cut piece says nothing useful
SEGMENT_LINES = 80
# An upper bound on characters per token for the prefix cut (long whitespace runs aside).
CHARS_PER_TOKEN_CEILING = 8

_KIND_RANK = {
    PathKind.CORE: 0,
    PathKind.BUILD: 0,
    PathKind.CI: 1,
    PathKind.AUXILIARY: 1,
    PathKind.TEST: 2,
    PathKind.DOCS: 3,
    PathKind.OWNERSHIP: 3,
    PathKind.LOCK: 4,
    PathKind.VENDORED: 4,
}
assert set(_KIND_RANK) == set(PathKind), "every path kind needs a packing rank"
# Only product code has a public surface or behaviour: hunks of CI files, scripts, benchmarks,
# examples, tests and docs are "the rest" (tier 2) whatever they contain.
_PRODUCT_KINDS = frozenset({PathKind.CORE, PathKind.BUILD})
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
_DECLARATION_RE = re.compile(
    r"^[+-]\s*(?:@\w|(?:async\s+)?def\s|class\s|struct\s|enum\s|interface\s|trait\s|impl\b"
    r"|(?:pub(?:\([^)]*\))?\s+)?(?:async\s+)?fn\s|func\s|export\s|template\s*<|__global__)"
)
# A C-family signature (`static inline int foo(`, also an indented call, as before). Apart from
# the keywords: a leading `\s*` or specifier group in front of this class (which holds both)
# only multiplied the ways to backtrack. The lookahead fails a line without "(" at once.
_SIGNATURE_RE = re.compile(r"^[+-](?=[^(]*\()[\w:<>,*&\s]+\s[\w:~]+\s*\([^;]*$")
_EXPORT_RE = re.compile(r"^[+-]\s*(?:__all__|export\b|pub\s+use\b)")
# `from x import y` re-exports only in a package's entry file; elsewhere it is an import, and
# a new module's licence-and-imports preamble must not outrank its definitions.
_REEXPORT_RE = re.compile(r"^[+-]\s*from\s+\S+\s+import\b")
_ENTRY_FILES = frozenset({"__init__.py", "__init__.pyi"})
_BEHAVIOUR_RE = re.compile(
    r"^[+-].*(?:\b(?:if|elif|else|switch|case|when|match|while|for|return|raise|throw|assert"
    r"|except|catch|default|yield|break|continue)\b|[A-Z_]*(?:CHECK|ASSERT)[A-Z_]*\s*\("
    r"|getenv|environ|add_argument|\?\s)"
)
# Defaults: a CONSTANT, an annotated field with a value, or `name=value,` in a parameter list.
_DEFAULT_RE = re.compile(
    r"^[+-]\s*(?:[A-Z][A-Z0-9_]{2,}\s*(?::[^=]+)?=\s*\S|\w+\s*:\s*[^=()]+=\s*\S"
    r"|\w+\s*=\s*[^,()=]+,\s*$)"
)
_IMPORT_RE = re.compile(
    r"^\s*(?:import\s|from\s+\S+\s+import\b|#\s*include\b|using\s+namespace\b|use\s+[\w:]+"
    r"|require\(|const\s+\w+\s*=\s*require\()"
)
_COMMENT_RE = re.compile(r"^\s*(?:#|//|/\*|\*|\*/|--|;|<!--)")
_LICENCE_RE = re.compile(
    r"copyright|licen[cs]e|spdx|apache|all rights reserved|warrant|\bmit\b|redistribut",
    re.IGNORECASE,
)
_TOP_LEVEL_RE = re.compile(
    r"^\+(?:@\w|(?:async\s+)?def\s|class\s|struct\s|template\s*<|__global__|namespace\s|func\s"
    r"|(?:pub\s+)?fn\s|export\s|(?=[^(]*\()[A-Za-z_][\w:<>,*& ]*\s[\w:~]+\s*\()"
)


def safe_path(path: str) -> str:
    """A file name on one line: control characters (newlines included) become '?'."""
    return _CONTROL.sub("?", path)[:300]


def _identity(text: str) -> str:
    return text


@dataclass(frozen=True)
class PackedContext:
    """The data parts of one prompt, each already within its share, and what they cover."""

    message: str
    pull_request: str
    facts: str
    files: str
    patch: str
    coverage: Coverage
    tokens: int  # counted tokens of the parts
    skipped_hunks: int = 0  # licence, import-only and whitespace-only hunks left out

    def template_parts(self) -> dict[str, str]:
        """The parts under the names the prompt templates use."""
        return {
            "message": self.message,
            "pull_request": self.pull_request,
            "facts": self.facts,
            "files": self.files,
            "patch": self.patch,
        }


@dataclass(frozen=True)
class _Piece:
    file: int
    start: int
    end: int
    rank: tuple[int, int, int, int, int]  # (asked, tier, kind, nth piece of its file, file)
    order: int  # position in the diff
    header: str = ""  # a synthetic "@@" line for a segment cut from a long hunk


@dataclass
class _Choice:
    piece: _Piece
    text: str
    tokens: int
    lines: int


@dataclass
class PackRequest:
    """What to pack and how much may be spent."""

    commit: Commit
    text: CommitText
    available: int
    counter: TokenCounter
    facts_block: Callable[[int], str] = lambda _budget: ""
    include_patch: bool = True
    scrub: Callable[[str], str] = _identity
    files: Collection[int] | None = None  # pack only these files (a map-reduce group)
    fact_terms: set[str] = field(default_factory=set)
    terms: set[str] = field(default_factory=set)  # a question's words: their hunks come first
    rest_budget: int | None = None  # a deep read spends tokens past this on tiers 0-1 only
    message_share: float = MESSAGE_SHARE
    facts_share: float = FACTS_SHARE
    roles: PathRoles = DEFAULT_ROLES  # the repository's `[repos.paths]` tuning


def truncate_to_tokens(text: str, max_tokens: int, counter: TokenCounter) -> str:
    """A prefix of `text` within max_tokens: whole lines while they fit, then part of a line."""
    if max_tokens <= 0 or not text:
        return ""
    text = text[: max_tokens * CHARS_PER_TOKEN_CEILING]
    if counter.count(text) <= max_tokens:
        return text
    marker = "\n[… truncated]"
    limit = max_tokens - counter.count(marker)
    if limit <= 0:
        return ""
    kept: list[str] = []
    used = 0
    start = 0
    while start < len(text):
        newline = text.find("\n", start)
        end = len(text) if newline < 0 else newline
        line = text[start:end]
        cost = counter.count(line) + 1
        if used + cost > limit:
            if not kept:  # one long first line: cut it by characters
                kept.append(_prefix_within(line, limit - 1, counter))
            break
        kept.append(line)
        used += cost
        start = end + 1
    cut = "\n".join(kept)
    return cut + marker if cut.strip() else ""


def _prefix_within(line: str, limit: int, counter: TokenCounter) -> str:
    low, high = 0, min(len(line), max(limit, 0) * CHARS_PER_TOKEN_CEILING)
    while low < high:  # the longest prefix whose count fits
        mid = (low + high + 1) // 2
        if counter.count(line[:mid]) <= limit:
            low = mid
        else:
            high = mid - 1
    return line[:low]


def pack(request: PackRequest) -> PackedContext:
    """Fit the commit into `request.available` tokens (data parts only: the caller has already
    subtracted the system prompt and template)."""
    commit, counter, scrub = request.commit, request.counter, request.scrub
    available = max(0, request.available)
    message = truncate_to_tokens(
        scrub(request.text.message), int(available * request.message_share), counter
    )
    pr_text = truncate_to_tokens(
        scrub(_pr_text(commit, request.text)), int(available * PR_SHARE), counter
    )
    used = counter.count(message) + counter.count(pr_text)
    facts = request.facts_block(min(int(available * request.facts_share), max(0, available - used)))
    used += counter.count(facts)

    indices = _file_order(commit, request.files, request.roles)
    file_share = max(0, min(int(available * FILE_LIST_SHARE), available - used))
    files_text = _file_list(commit, indices, file_share, counter, scrub)
    used += counter.count(files_text)

    choices: list[_Choice] = []
    skipped = 0
    if request.include_patch:
        choices, skipped = _choose(request, indices, available - used)
        used += sum(choice.tokens for choice in choices)
    patch_text = _render(commit, choices, scrub)
    sent_files = {choice.piece.file for choice in choices}
    lines_sent = sum(choice.lines for choice in choices)
    considered = indices
    lines_total = max(sum(commit.files[i].changes for i in considered), lines_sent)
    omitted = [safe_path(commit.files[i].path) for i in considered if i not in sent_files]
    coverage = Coverage(
        files_total=len(considered),
        files_sent=len(sent_files),
        lines_total=lines_total,
        lines_sent=min(lines_sent, lines_total),
        omitted_paths=tuple(omitted[:MAX_OMITTED_SAMPLE]),
    )
    return PackedContext(
        message=message,
        pull_request=pr_text,
        facts=facts,
        files=files_text,
        patch=patch_text,
        coverage=coverage,
        tokens=used,
        skipped_hunks=skipped,
    )


def _pr_text(commit: Commit, text: CommitText) -> str:
    if commit.pr is None or not (text.pr_title or text.pr_labels or text.pr_body):
        return ""  # the header already names the PR number
    head = f"#{commit.pr.number} {text.pr_title}".strip()
    if text.pr_labels:
        head += "\nlabels: " + ", ".join(text.pr_labels[:20])
    return f"{head}\n\n{text.pr_body}".strip() if text.pr_body else head


def _file_order(commit: Commit, only: Collection[int] | None, roles: PathRoles) -> list[int]:
    indices = range(len(commit.files)) if only is None else sorted(only)
    return sorted(
        indices,
        key=lambda i: (_KIND_RANK[roles.kind(commit.files[i].path)], -commit.files[i].changes, i),
    )


# --- the file list -------------------------------------------------------------------------------


def _file_line(change: FileChange) -> str:
    status = (change.status or "modified")[:1].upper()
    path = safe_path(change.path)
    if change.previous_path and change.previous_path != change.path:
        path = f"{safe_path(change.previous_path)} -> {path}"
    note = "" if change.patch or not change.changes else " [no patch]"
    return f"{status} {path} (+{change.additions} -{change.deletions}){note}"


def _grouped(commit: Commit, rest: Sequence[int], depth: int) -> list[str]:
    groups: dict[str, list[int]] = defaultdict(list)
    for index in rest:
        directory = posixpath.dirname(commit.files[index].path)
        key = "/".join(directory.split("/")[:depth]) if depth else ""
        groups[key].append(index)
    lines = []
    for key, members in sorted(groups.items(), key=lambda item: -len(item[1])):
        adds = sum(commit.files[i].additions for i in members)
        dels = sum(commit.files[i].deletions for i in members)
        where = f"{safe_path(key)}/" if key else "files"
        lines.append(f"… {where} ({len(members)} more files, +{adds} -{dels})")
    return lines


def _renamed_groups(commit: Commit, renames: Sequence[int]) -> list[tuple[str, list[int]]]:
    """Files moved without a changed line, one line per (old directory, new directory), with
    the files each line stands for."""
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index in renames:
        change = commit.files[index]
        old = posixpath.dirname(change.previous_path or change.path)
        groups[(old, posixpath.dirname(change.path))].append(index)
    return [
        (
            f"R {len(members)} files moved unchanged: "
            f"{safe_path(old) or '.'}/ -> {safe_path(new) or '.'}/",
            members,
        )
        for (old, new), members in sorted(groups.items(), key=lambda item: -len(item[1]))
    ]


def _file_list(
    commit: Commit,
    order: list[int],
    budget: int,
    counter: TokenCounter,
    scrub: Callable[[str], str],
) -> str:
    """Every file accounted for: listed one by one while they fit, pure renames grouped by
    directory, the rest grouped with counts and line totals."""
    renames = [i for i in order if commit.files[i].previous_path and not commit.files[i].changes]
    moved = set(renames)
    listing = [i for i in order if i not in moved]
    lines: list[str] = []
    used = 0
    groups = _renamed_groups(commit, renames)
    for position, (text, _) in enumerate(groups):
        line = scrub(text)
        cost = counter.count(line) + 1
        if used + cost > budget // 3:
            # The groups that did not fit are accounted for like any other file, once.
            listing.extend(index for _, members in groups[position:] for index in members)
            break
        lines.append(line)
        used += cost
    listed = 0
    reserve = 48 if len(listing) > 1 else 0  # room for the grouped remainder
    for position, index in enumerate(listing):
        line = scrub(_file_line(commit.files[index]))
        cost = counter.count(line) + 1
        last = position == len(listing) - 1
        if listed >= MAX_LISTED_FILES or used + cost + (0 if last else reserve) > budget:
            break
        lines.append(line)
        used += cost
        listed += 1
    rest = listing[listed:]
    if rest:
        for depth in (3, 2, 1, 0):
            grouped = [scrub(line) for line in _grouped(commit, rest, depth)]
            cost = sum(counter.count(line) + 1 for line in grouped)
            if used + cost <= budget:
                lines.extend(grouped)
                used += cost
                break
    truncated = "… and more files: the source stopped listing them"
    if commit.files_truncated and used + counter.count(truncated) + 1 <= budget:
        lines.append(truncated)
    return "\n".join(lines)


# --- choosing pieces -----------------------------------------------------------------------------


def _changed(text: str) -> list[str]:
    """The changed lines, clipped as they are sent: the tier patterns then never run over a
    200 kB minified line."""
    return [
        line[:MAX_LINE_CHARS]
        for line in text.split("\n")
        if line[:1] in ("+", "-") and not line.startswith(("+++ ", "--- "))
    ]


def _skip_reason(changed: list[str], start_of_file: bool) -> bool:
    """Licence headers, import-only and whitespace-only hunks say nothing about the change."""
    bodies = [line[1:] for line in changed]
    meaningful = [body for body in bodies if body.strip()]
    if not meaningful:
        return True
    if all(_IMPORT_RE.match(body) for body in meaningful):
        return True
    header = start_of_file and all(_COMMENT_RE.match(body) for body in meaningful)
    if header and any(_LICENCE_RE.search(body) for body in meaningful):
        return True
    minus = sorted("".join(line[1:].split()) for line in changed if line[0] == "-")
    plus = sorted("".join(line[1:].split()) for line in changed if line[0] == "+")
    return bool(minus) and minus == plus


def _without_imports(changed: list[str]) -> list[str]:
    """`changed` less its import statements (a parenthesised `from x import (` to its `)`):
    an import names what it uses; it neither defines nor changes it."""
    kept: list[str] = []
    in_import = False
    for line in changed:
        body = line[1:]
        if in_import:
            in_import = ")" not in body
            continue
        if _IMPORT_RE.match(body):
            in_import = body.rstrip().endswith("(")
            continue
        kept.append(line)
    return kept


def _terms_pattern(terms: Collection[str]) -> re.Pattern[str] | None:
    """The facts' identifiers as whole words: a method `run` marks the hunk that changes it,
    not every line that says "runs" or "runner"."""
    if not terms:
        return None
    names = "|".join(re.escape(term) for term in sorted(terms, key=len, reverse=True))
    return re.compile(rf"(?<![\w$])(?:{names})(?![\w$])")


def _tier(changed: list[str], terms: re.Pattern[str] | None, *, entry_file: bool = False) -> int:
    if entry_file:  # a package's entry file: its imports are what the package exports
        if any(_REEXPORT_RE.match(line) for line in changed):
            return 0
    else:
        changed = _without_imports(changed)
    for line in changed:
        if _DECLARATION_RE.match(line) or _SIGNATURE_RE.match(line) or _EXPORT_RE.match(line):
            return 0
    if terms is not None:
        for line in changed:
            if terms.search(line):
                return 0
    for line in changed:
        if _BEHAVIOUR_RE.match(line) or _DEFAULT_RE.match(line):
            return 1
    return 2


def _segments(patch: str, span: HunkSpan) -> Iterator[tuple[int, int, str]]:
    """A long hunk cut at its top-level definitions: (start, end, synthetic header)."""
    body = (
        patch.find("\n", span.start, span.end) + 1
        if patch.startswith("@@", span.start)
        else span.start
    )
    if body <= 0:
        yield span.start, span.end, ""
        return
    lines_in_hunk = patch.count("\n", body, span.end)
    if lines_in_hunk <= SEGMENT_LINES:
        yield span.start, span.end, ""
        return
    starts = [span.start]
    headers = [""]
    position, line_no, since = body, span.new_start, 0
    while position < span.end:
        newline = patch.find("\n", position, span.end)
        end = span.end if newline < 0 else newline + 1
        line = patch[position:end]
        if since >= 12 and _TOP_LEVEL_RE.match(line):
            starts.append(position)
            headers.append(f"@@ … +{line_no} @@ (later in the same hunk)\n")
            since = 0
        since += 1
        if not line.startswith("-"):
            line_no += 1
        position = end
    bounds = [*starts[1:], span.end]
    for start, end, header in zip(starts, bounds, headers, strict=True):
        yield start, end, header


def _pieces(request: PackRequest, order: list[int]) -> tuple[list[_Piece], int]:
    commit = request.commit
    terms = _terms_pattern(request.fact_terms)
    question = {term.lower() for term in request.terms}
    pieces: list[_Piece] = []
    skipped = 0
    position = 0
    for file_rank, index in enumerate(order):
        change = commit.files[index]
        patch = change.patch
        if not patch:
            continue
        kind = request.roles.kind(change.path)
        kind_rank = _KIND_RANK[kind]
        nth: dict[int, int] = defaultdict(int)  # pieces of this file so far, per tier
        path_match = bool(question) and any(term in change.path.lower() for term in question)
        for span in hunk_spans(patch):
            for start, end, header in _segments(patch, span):
                text = patch[start : min(end, start + 200_000)]
                changed = _changed(text)
                at_file_start = span.old_start <= 1 and span.new_start <= 1 and not header
                if _skip_reason(changed, at_file_start):
                    skipped += 1
                    continue
                entry_file = change.path.rsplit("/", 1)[-1] in _ENTRY_FILES
                tier = _tier(changed, terms, entry_file=entry_file) if kind in _PRODUCT_KINDS else 2
                asked = path_match or (
                    bool(question) and any(term in text.lower() for term in question)
                )
                position += 1
                # Round robin within a tier: every file's first piece before any second one.
                rank = (0 if asked else 1, tier, kind_rank, nth[tier], file_rank)
                nth[tier] += 1
                pieces.append(
                    _Piece(
                        file=index, start=start, end=end, rank=rank, order=position, header=header
                    )
                )
    return pieces, skipped


def _clip_long_lines(text: str) -> str:
    if len(text) <= MAX_LINE_CHARS or all(len(line) <= MAX_LINE_CHARS for line in text.split("\n")):
        return text
    return "\n".join(
        line if len(line) <= MAX_LINE_CHARS else line[:MAX_LINE_CHARS] + " …"
        for line in text.split("\n")
    )


def _choose(request: PackRequest, order: list[int], budget: int) -> tuple[list[_Choice], int]:
    commit, counter, scrub = request.commit, request.counter, request.scrub
    pieces, skipped = _pieces(request, order)
    pieces.sort(key=lambda piece: (piece.rank, piece.order))
    remaining = budget
    cap = max(int(budget * PIECE_SHARE), MIN_PIECE_TOKENS * 4)
    rest_left = None if request.rest_budget is None else request.rest_budget
    headers_paid: set[int] = set()
    unserved = {piece.file for piece in pieces}
    chosen: list[_Choice] = []
    for piece in pieces:
        if remaining < MIN_PIECE_TOKENS:
            break
        if rest_left is not None and piece.rank[1] >= 2 and rest_left < MIN_PIECE_TOKENS:
            continue
        patch = commit.files[piece.file].patch or ""
        header_cost = 0
        if piece.file not in headers_paid:
            header_cost = counter.count(f"=== {safe_path(commit.files[piece.file].path)}") + 1
        allowance = min(remaining - header_cost, cap)
        if piece.rank[1] >= 1 and piece.file in unserved:
            # Below the public surface, each file's first piece gets a fair share, so one big
            # file cannot leave the others unseen.
            allowance = min(allowance, max(MIN_PIECE_TOKENS * 2, remaining // len(unserved)))
        if rest_left is not None and piece.rank[1] >= 2:
            allowance = min(allowance, rest_left)
        if allowance < MIN_PIECE_TOKENS:
            continue
        raw = (
            piece.header
            + patch[piece.start : min(piece.end, piece.start + allowance * CHARS_PER_TOKEN_CEILING)]
        )
        text = scrub(_clip_long_lines(raw.rstrip("\n")))
        cost = counter.count(text) + 1
        if cost > allowance:
            text = truncate_to_tokens(text, allowance - 1, counter)
            if not text:
                continue
            cost = counter.count(text) + 1
        chosen.append(_Choice(piece, text, cost + header_cost, changed_line_count(text)))
        headers_paid.add(piece.file)
        unserved.discard(piece.file)
        remaining -= cost + header_cost
        if rest_left is not None:
            rest_left -= cost + header_cost
    return chosen, skipped


def _render(commit: Commit, choices: list[_Choice], scrub: Callable[[str], str]) -> str:
    """The chosen pieces, one `=== path` header per file: files in the order of their most
    valuable piece, each file's pieces in diff order."""
    by_file: dict[int, list[_Choice]] = defaultdict(list)
    for choice in choices:
        by_file[choice.piece.file].append(choice)
    parts: list[str] = []
    for index in sorted(by_file, key=lambda i: min(c.piece.rank[:2] for c in by_file[i])):
        parts.append(scrub(f"=== {safe_path(commit.files[index].path)}"))
        parts.extend(c.text for c in sorted(by_file[index], key=lambda c: c.piece.start))
    return "\n".join(parts)
