"""Adaptive depth: how deeply the model reads each commit, and the digest's token ceiling.

A cheap first pass, without any LLM call, decides per commit from the heuristic's verdict, the
change facts and the size:

| depth      | when                                                            | input / output    |
|------------|-----------------------------------------------------------------|-------------------|
| short      | the heuristic is sure the commit is trivial (docs/CI-only, bump)| short budget, no  |
|            |                                                                 | patch             |
| deep       | heuristic importance high, or a changed public surface (removed,| deep budget; the  |
|            | renamed or re-signed definitions, dropped exports, changed or   | extra goes to     |
|            | removed settings and defaults), whatever the size               | surface/behaviour |
| map-reduce | a deep read whose code patch is far larger than one deep call   | up to `map_calls` |
|            | can hold: file groups are read apart, then merged               | + 1 merge call    |
| standard   | everything else; low-importance commits spend little on the     | standard budget   |
|            | rest of their patch                                             |                   |

The digest's `TokenLedger` bounds the whole day's input tokens: a read that the ceiling cannot
afford is planned one level shallower (deep -> standard -> short), and an unaffordable short
read falls back to the heuristic. Reduced reads are marked, reported and not cached, so the
next run (with the cheap commits already cached) reads them in full.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Protocol

from bot.analysis.paths import DEFAULT_ROLES, PathKind, PathRoles
from bot.models import ChangeFacts, Commit, Importance

Depth = Literal["short", "standard", "deep", "map-reduce"]

CHARS_PER_TOKEN = 3.6  # a patch's characters per token, to size map-reduce without counting
MAP_REDUCE_FACTOR = 1.8  # a deep read becomes map-reduce past this multiple of its budget
MIN_MAP_FILES = 4
_CODE_KINDS = frozenset({PathKind.CORE, PathKind.BUILD, PathKind.AUXILIARY})


@dataclass(frozen=True)
class DepthBudgets:
    """Token budgets per depth (input is the whole prompt; output is max_tokens)."""

    short_input: int = 2000
    short_output: int = 500
    standard_input: int = 5000
    standard_output: int = 1800
    deep_input: int = 16000
    deep_output: int = 3000
    map_calls: int = 4
    low_rest: int = 1200  # patch tokens a low-importance commit may spend past its surface


class Verdict(Protocol):
    """What planning needs from the heuristic's classification."""

    @property
    def importance(self) -> Importance: ...

    @property
    def trivial(self) -> bool: ...

    @property
    def confidence(self) -> float: ...


@dataclass(frozen=True)
class DepthPlan:
    depth: Depth
    input_budget: int
    output_budget: int
    rest_budget: int | None = None  # patch tokens allowed past tiers 0-1 (None: no limit)
    groups: tuple[tuple[int, ...], ...] = ()  # map-reduce: file indices per map call
    merge_budget: int = 0  # map-reduce: the input budget of the merging call
    reason: str = ""
    reduced: bool = False

    @property
    def calls(self) -> int:
        return len(self.groups) + 1 if self.depth == "map-reduce" else 1

    @property
    def cost(self) -> int:
        """The most input tokens this plan may spend."""
        if self.depth == "map-reduce":
            return self.input_budget * len(self.groups) + self.merge_budget
        return self.input_budget


def surface_changed(facts: ChangeFacts | None) -> bool:
    """Does the diff change what callers see: definitions, exports, settings or defaults?

    A new setting that is on by default is not counted: the heuristic already rates it medium
    and its facts block names it; reading such commits deeply cost a busy day half again its
    tokens and a sequential map-reduce round (benchmarks/AUDITS.md)."""
    if facts is None:
        return False
    if any(s.public and s.kind != "added" for s in facts.symbols):
        return True
    if any(e.kind == "removed" for e in facts.exports):
        return True
    return any(s.change != "added" for s in facts.settings)


def _code_chars(commit: Commit, roles: PathRoles) -> int:
    return sum(
        len(change.patch or "") for change in commit.files if roles.kind(change.path) in _CODE_KINDS
    )


def file_groups(
    commit: Commit, parts: int, roles: PathRoles = DEFAULT_ROLES
) -> tuple[tuple[int, ...], ...]:
    """Files with a patch in `parts` groups of about equal patch size, neighbours together
    (code first, then tests and docs, by path)."""
    order = sorted(
        (i for i, change in enumerate(commit.files) if change.patch),
        key=lambda i: (roles.kind(commit.files[i].path) not in _CODE_KINDS, commit.files[i].path),
    )
    if not order:
        return ()
    parts = max(1, min(parts, len(order)))
    total = sum(len(commit.files[i].patch or "") for i in order)
    target = total / parts
    groups: list[list[int]] = [[]]
    size = 0.0
    for index in order:
        if groups[-1] and size >= target * len(groups) and len(groups) < parts:
            groups.append([])
        groups[-1].append(index)
        size += len(commit.files[index].patch or "")
    return tuple(tuple(group) for group in groups if group)


class DepthPlanner:
    """Plans each commit's read from the heuristic's verdict, the facts and the size."""

    def __init__(
        self, budgets: DepthBudgets, classify: Callable[[Commit, PathRoles], Verdict]
    ) -> None:
        self._budgets = budgets
        self._classify = classify

    @property
    def budgets(self) -> DepthBudgets:
        return self._budgets

    def plan(
        self, commit: Commit, *, triage: bool = True, roles: PathRoles = DEFAULT_ROLES
    ) -> DepthPlan:
        b = self._budgets
        verdict = self._classify(commit, roles)
        if triage and verdict.trivial and verdict.confidence >= TRIAGE_CONFIDENCE:
            return DepthPlan("short", b.short_input, b.short_output, reason="trivial")
        surface = surface_changed(commit.facts)
        deep = verdict.importance is Importance.HIGH or surface
        if deep:
            code_tokens = _code_chars(commit, roles) / CHARS_PER_TOKEN
            code_files = sum(
                1 for c in commit.files if c.patch and roles.kind(c.path) in _CODE_KINDS
            )
            if (
                b.map_calls >= 2
                and code_files >= MIN_MAP_FILES
                and code_tokens > b.deep_input * MAP_REDUCE_FACTOR
            ):
                parts = min(
                    b.map_calls, math.ceil(code_tokens / max(b.standard_input, b.deep_input // 2))
                )
                groups = file_groups(commit, parts, roles)
                if len(groups) >= 2:
                    return DepthPlan(
                        "map-reduce",
                        max(b.standard_input, b.deep_input // 2),
                        b.deep_output,
                        groups=groups,
                        merge_budget=b.deep_input,
                        reason="large deep read",
                    )
            why = "high" if verdict.importance is Importance.HIGH else "public surface"
            return DepthPlan(
                "deep", b.deep_input, b.deep_output, rest_budget=b.standard_input, reason=why
            )
        rest = b.low_rest if verdict.importance is Importance.LOW else None
        return DepthPlan(
            "standard", b.standard_input, b.standard_output, rest_budget=rest, reason="standard"
        )

    def shallower(self, plan: DepthPlan) -> DepthPlan | None:
        """The next cheaper plan (for the ceiling), or None below short."""
        b = self._budgets
        if plan.depth in ("deep", "map-reduce"):
            return DepthPlan(
                "standard", b.standard_input, b.standard_output, reason=plan.reason, reduced=True
            )
        if plan.depth == "standard":
            return DepthPlan(
                "short", b.short_input, b.short_output, reason=plan.reason, reduced=True
            )
        return None


TRIAGE_CONFIDENCE = 0.8


class TokenLedger:
    """The input-token ceiling of one digest, and optionally its LLM-call ceiling (an on-demand
    command's cap). Reads reserve their plan's cost before they start and give back what they
    did not use; all on one event loop, so no lock."""

    def __init__(self, ceiling: int | None, *, call_ceiling: int | None = None) -> None:
        self.ceiling = ceiling
        self.reserved = 0
        self.spent = 0
        self.reduced = 0  # reads planned shallower than wanted
        self.call_ceiling = call_ceiling
        self.calls_reserved = 0
        self.capped = 0  # reads left to the heuristic because the call ceiling was reached

    def reserve(self, tokens: int, calls: int = 0) -> bool:
        if self.ceiling is not None and self.reserved + tokens > self.ceiling:
            return False
        if not self.reserve_calls(calls):
            return False
        self.reserved += tokens
        return True

    def reserve_calls(self, calls: int) -> bool:
        if self.call_ceiling is not None and self.calls_reserved + calls > self.call_ceiling:
            return False
        self.calls_reserved += calls
        return True

    @property
    def calls_exhausted(self) -> bool:
        """Not even one more call fits under the call ceiling."""
        return self.call_ceiling is not None and self.calls_reserved >= self.call_ceiling

    def settle(self, reserved: int, used: int) -> None:
        """Replace a read's reservation by what it used (a retry can use more than planned)."""
        self.reserved += used - reserved
        self.spent += used

    def settle_calls(self, reserved: int, used: int) -> None:
        """Give back the calls a read reserved but did not make (a failed map part, say)."""
        self.calls_reserved += min(used, reserved) - reserved
