"""Context packing: a commit's message, PR, file list and patch hunks fitted into a token budget.

Order of what goes in: commit message and PR title/labels/body (each capped to a share),
then the file list with stats (capped, the rest summarised as "+N more files"), then patch
hunks by priority: source before tests before docs before generated/lock/vendored files,
hunks with added lines before deletion-only hunks. Work is bounded by the budget, not by the
commit: hunks are located by offsets in each file's patch, never joined into one string,
and a hunk much larger than what is left is cut to a prefix before it is counted.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import IntEnum

from bot.analysis.tokens import TokenCounter
from bot.models import Commit, Coverage, FileChange

MESSAGE_SHARE = 0.25
PR_SHARE = 0.15
FILE_LIST_SHARE = 0.15
MAX_LISTED_FILES = 200
MAX_OMITTED_SAMPLE = 20
MAX_LINE_CHARS = 300  # minified / generated lines carry little signal per token
MIN_HUNK_TOKENS = 48  # below this, a truncated hunk says nothing useful
# An upper bound on characters per token for the prefix cut (long whitespace runs aside).
CHARS_PER_TOKEN_CEILING = 8


def _keep(text: str) -> str:
    return text


class FileKind(IntEnum):
    """Patch priority: lower goes in first."""

    SOURCE = 0
    TEST = 1
    DOCS = 2
    GENERATED = 3


_GENERATED = (
    "*.lock", "package-lock.json", "npm-shrinkwrap.json", "pnpm-lock.yaml", "go.sum",
    "*_pb2.py", "*_pb2_grpc.py", "*.pb.go", "*.pb.h", "*.pb.cc", "*.min.js", "*.min.css",
    "*.map", "*.snap", "*.svg", "*.ipynb", "*.csv", "*.tsv",
    "vendor/*", "*/vendor/*", "third_party/*", "*/third_party/*", "thirdparty/*",
    "node_modules/*", "*/node_modules/*", "generated/*", "*/generated/*", "*_generated.*",
    "*.generated.*", "dist/*", "build/*",
)  # fmt: skip
_TESTS = (
    "test/*", "tests/*", "*/test/*", "*/tests/*", "testing/*", "*/testing/*", "*/__tests__/*",
    "testdata/*", "*/testdata/*", "test_*.py", "*_test.py", "*_test.go", "*.test.*", "*.spec.*",
    "*/test_*.py", "conftest.py", "*/conftest.py", "benchmark/*", "benchmarks/*",
)  # fmt: skip
_DOCS = (
    "*.md", "*.rst", "*.txt", "*.adoc", "docs/*", "doc/*", "*/docs/*", "LICENSE*", "CHANGELOG*",
    "AUTHORS*", "*.png", "*.jpg", "*.gif",
)  # fmt: skip


def classify_path(path: str) -> FileKind:
    """Where a file's hunks rank: by glob on the whole path and on its base name."""
    lowered = path.lower()
    name = lowered.rsplit("/", 1)[-1]
    for kind, patterns in (
        (FileKind.GENERATED, _GENERATED),
        (FileKind.TEST, _TESTS),
        (FileKind.DOCS, _DOCS),
    ):
        if any(fnmatch.fnmatchcase(lowered, p) or fnmatch.fnmatchcase(name, p) for p in patterns):
            return kind
    return FileKind.SOURCE


_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


def safe_path(path: str) -> str:
    """A file name on one line: control characters (newlines included) become '?'."""
    return _CONTROL.sub("?", path)[:300]


@dataclass(frozen=True)
class PackedContext:
    """The data parts of one prompt, each already within its share, and what they cover."""

    message: str
    pull_request: str
    files: str
    patch: str
    coverage: Coverage
    tokens: int  # counted tokens of the four parts

    def parts(self) -> tuple[str, str, str, str]:
        return self.message, self.pull_request, self.files, self.patch


def truncate_to_tokens(text: str, max_tokens: int, counter: TokenCounter) -> str:
    """A prefix of `text` within max_tokens: whole lines while they fit, then part of a line.

    Counting line by line is linear in what is kept (no repeated counting of long prefixes);
    the sum of the lines' counts is never below the count of their concatenation.
    """
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


def pack_commit(
    commit: Commit,
    *,
    available: int,
    counter: TokenCounter,
    include_patch: bool = True,
    scrub: Callable[[str], str] = _keep,
) -> PackedContext:
    """Fit the commit into `available` tokens (for the data parts only; the caller has already
    subtracted the system prompt and template). `scrub` is applied to every piece of data
    before it is counted (the caller removes its marker token there)."""
    available = max(0, available)
    message = truncate_to_tokens(
        scrub(commit.message.strip()), int(available * MESSAGE_SHARE), counter
    )
    pr_text = ""
    if commit.pr is not None:
        pr = commit.pr
        labels = ", ".join(pr.labels)
        head = f"#{pr.number} {pr.title}".strip() + (f"\nlabels: {labels}" if labels else "")
        pr_text = truncate_to_tokens(
            scrub(f"{head}\n\n{pr.body.strip()}".strip()), int(available * PR_SHARE), counter
        )
    used = counter.count(message) + counter.count(pr_text)

    files = sorted(
        range(len(commit.files)),
        key=lambda i: (classify_path(commit.files[i].path), -commit.files[i].changes),
    )
    file_share = max(0, min(int(available * FILE_LIST_SHARE), available - used))
    files_text, listed = _file_list(commit, files, file_share, counter, scrub)
    used += counter.count(files_text)

    patch_parts: list[str] = []
    sent_files: set[int] = {i for i in listed if not commit.files[i].patch}
    lines_sent = 0
    if include_patch:
        remaining = available - used
        with_patch = sum(1 for f in commit.files if f.patch)
        # One huge file must not crowd out the others: each gets at most half the patch budget.
        per_file = remaining if with_patch <= 1 else max(remaining // 2, MIN_HUNK_TOKENS * 4)
        spent: dict[int, int] = {}
        for index, hunk in _hunks_by_priority(commit, files, remaining):
            if remaining < MIN_HUNK_TOKENS:
                break
            allowance = min(remaining, per_file - spent.get(index, 0))
            if allowance < MIN_HUNK_TOKENS:
                continue
            path = safe_path(commit.files[index].path)
            piece = scrub(hunk if index in spent else f"=== {path}\n{hunk}")
            cost = counter.count(piece) + 1  # + the newline joining parts
            if cost > allowance:
                piece = truncate_to_tokens(piece, allowance - 1, counter)
                if not piece:
                    continue
                cost = counter.count(piece) + 1
            patch_parts.append(piece)
            remaining -= cost
            used += cost
            spent[index] = spent.get(index, 0) + cost
            sent_files.add(index)
            lines_sent += _changed_lines(piece)
    patch_text = "\n".join(patch_parts)

    lines_total = max(sum(f.changes for f in commit.files), lines_sent)
    omitted = [safe_path(commit.files[i].path) for i in files if i not in sent_files]
    coverage = Coverage(
        files_total=len(commit.files),
        files_sent=len(sent_files),
        lines_total=lines_total,
        lines_sent=min(lines_sent, lines_total),
        omitted_paths=tuple(omitted[:MAX_OMITTED_SAMPLE]),
    )
    return PackedContext(
        message=message,
        pull_request=pr_text,
        files=files_text,
        patch=patch_text,
        coverage=coverage,
        tokens=used,
    )


def _file_list(
    commit: Commit,
    order: list[int],
    budget: int,
    counter: TokenCounter,
    scrub: Callable[[str], str],
) -> tuple[str, list[int]]:
    lines: list[str] = []
    listed: list[int] = []
    used = 0
    total = len(order)
    for position, index in enumerate(order):
        change = commit.files[index]
        line = scrub(_file_line(change))
        cost = counter.count(line) + 1
        rest = total - position - 1
        # keep room for the "+N more files" line whenever something may be left out
        reserve = 16 if rest else 0
        if len(listed) >= MAX_LISTED_FILES or used + cost + reserve > budget:
            break
        lines.append(line)
        listed.append(index)
        used += cost
    left = total - len(listed)
    if left or commit.files_truncated:
        more = f"+{left} more files" if left else "+ more files"
        if commit.files_truncated:
            more += " (the source stopped listing files)"
        if counter.count(more) + used <= budget:
            lines.append(more)
    return "\n".join(lines), listed


def _file_line(change: FileChange) -> str:
    status = (change.status or "modified")[:1].upper()
    path = safe_path(change.path)
    if change.previous_path and change.previous_path != change.path:
        path = f"{safe_path(change.previous_path)} -> {path}"
    note = "" if change.patch else " [no patch]"
    return f"{status} {path} (+{change.additions} -{change.deletions}){note}"


def _hunks_by_priority(
    commit: Commit, order: list[int], remaining: int
) -> Iterator[tuple[int, str]]:
    """Hunks of files in `order` (already by kind): those adding lines first, then the
    deletion-only ones. Each hunk's text is cut to a prefix the budget could ever use."""
    char_cap = max(remaining, 0) * CHARS_PER_TOKEN_CEILING
    for want_deletion_only in (False, True):
        for index in order:
            patch = commit.files[index].patch
            if not patch:
                continue
            for start, end in _hunk_spans(patch):
                head = patch[start : min(end, start + char_cap)]
                deletion_only = _is_deletion_only(patch, start, end)
                if deletion_only is want_deletion_only:
                    yield index, _clip_long_lines(head)


def _hunk_spans(patch: str) -> Iterator[tuple[int, int]]:
    """(start, end) offsets of each `@@` hunk; text before the first one counts as one hunk."""
    start = 0
    while start < len(patch):
        nxt = patch.find("\n@@", start + 1)
        end = len(patch) if nxt < 0 else nxt + 1
        yield start, end
        start = end


def _is_deletion_only(patch: str, start: int, end: int) -> bool:
    """True when no line of the hunk adds code (scans at most the hunk, without copying it)."""
    pos = patch.find("\n+", start, end)
    return pos < 0


def _clip_long_lines(text: str) -> str:
    if len(text) <= MAX_LINE_CHARS or all(len(line) <= MAX_LINE_CHARS for line in text.split("\n")):
        return text
    return "\n".join(
        line if len(line) <= MAX_LINE_CHARS else line[:MAX_LINE_CHARS] + " …"
        for line in text.split("\n")
    )


def _changed_lines(text: str) -> int:
    count = 0
    for line in text.split("\n"):
        if line[:1] in ("+", "-") and not line.startswith(("+++ ", "--- ")):
            count += 1
    return count
