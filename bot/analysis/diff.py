"""Unified-diff hunks by offset: where each `@@` hunk of a file's patch starts and ends, and its
old and new sides with the changed lines marked.

Hand-written rather than a diff library on purpose: GitHub sends per-file patches without the
`---`/`+++` headers such libraries expect, and a 5 MB vendored import must be walked by offsets
without building an object per line. Everything here is linear in the text it is given.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass, field

_HEADER_RE = re.compile(r"@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@ ?(.*)")


@dataclass(frozen=True)
class HunkSpan:
    """One hunk of a file's patch: [start, end) offsets and its `@@` header numbers."""

    start: int
    end: int
    old_start: int = 0
    new_start: int = 0
    section: str = ""  # the enclosing function or class git names after the header


def hunk_spans(patch: str) -> Iterator[HunkSpan]:
    """Each `@@` hunk of `patch`; text before the first header counts as one hunk."""
    start = 0
    while start < len(patch):
        nxt = patch.find("\n@@", start + 1)
        end = len(patch) if nxt < 0 else nxt + 1
        old_start = new_start = 0
        section = ""
        if patch.startswith("@@", start):
            line_end = patch.find("\n", start, end)
            match = _HEADER_RE.match(patch, start, line_end if line_end >= 0 else end)
            if match:
                old_start, new_start = int(match.group(1)), int(match.group(3))
                section = match.group(5).strip()[:200]
        yield HunkSpan(start, end, old_start, new_start, section)
        start = end


@dataclass
class Side:
    """One side (old or new) of a hunk: its lines and which of them the diff changed."""

    lines: list[str] = field(default_factory=list)
    changed: set[int] = field(default_factory=set)  # indices into `lines`
    first_line: int = 0  # the file line number of lines[0]
    _ordered: list[int] = field(default_factory=list, init=False, repr=False, compare=False)

    @property
    def text(self) -> str:
        return "\n".join(self.lines)

    def changed_lines(self) -> Iterator[str]:
        for index in sorted(self.changed):
            yield self.lines[index]

    def touches(self, first: int, last: int) -> bool:
        """Did the diff change any of lines[first..last] (inclusive)? O(log n): one side can
        hold thousands of definitions and changes."""
        if len(self._ordered) != len(self.changed):  # `changed` only grows while sides are built
            self._ordered = sorted(self.changed)
        position = bisect.bisect_left(self._ordered, first)
        return position < len(self._ordered) and self._ordered[position] <= last


def sides(patch: str, span: HunkSpan) -> tuple[Side, Side]:
    """The old and new sides of one hunk (the header line itself is left out)."""
    old, new = Side(first_line=span.old_start), Side(first_line=span.new_start)
    body_start = span.start
    if patch.startswith("@@", span.start):
        newline = patch.find("\n", span.start, span.end)
        body_start = span.end if newline < 0 else newline + 1
    for line in patch[body_start : span.end].split("\n"):
        if not line:
            old.lines.append("")
            new.lines.append("")
            continue
        mark, text = line[0], line[1:]
        if mark == "-":
            old.changed.add(len(old.lines))
            old.lines.append(text)
        elif mark == "+":
            new.changed.add(len(new.lines))
            new.lines.append(text)
        elif mark == " ":
            old.lines.append(text)
            new.lines.append(text)
        # "\ No newline at end of file" and stray lines belong to neither side
    for side in (old, new):
        while side.lines and not side.lines[-1] and (len(side.lines) - 1) not in side.changed:
            side.lines.pop()
    return old, new


def changed_line_count(text: str) -> int:
    """Added plus removed lines of a patch or hunk (file headers excluded)."""
    count = 0
    for line in text.split("\n"):
        if line[:1] in ("+", "-") and not line.startswith(("+++ ", "--- ")):
            count += 1
    return count
