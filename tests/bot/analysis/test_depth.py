"""Adaptive depth: which commits get a short, standard, deep or map-reduce read; the ledger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from bot.analysis.depth import DepthBudgets, DepthPlanner, TokenLedger, file_groups, surface_changed
from bot.analysis.facts import with_facts
from bot.models import Commit, FileChange, Importance
from tests.data.real_commits import load


@dataclass(frozen=True)
class Verdict:
    importance: Importance
    trivial: bool = False
    confidence: float = 0.9


def planner(verdict: Verdict, **budgets: int) -> DepthPlanner:
    return DepthPlanner(DepthBudgets(**budgets), lambda _commit, _roles: verdict)


def code_commit(files: int, patch_chars: int) -> Commit:
    line = "+    value = compute(alpha, beta)\n"
    patch = "@@ -0,0 +1,1 @@\n" + line * (patch_chars // len(line))
    return Commit(
        repo="o/r",
        sha="c" * 40,
        title="feat: big",
        message="feat: big",
        author="dev",
        committed_at=datetime(2026, 8, 14, tzinfo=UTC),
        files=tuple(
            FileChange(path=f"pkg/m{i:02}.py", additions=100, patch=patch) for i in range(files)
        ),
    )


def test_trivial_commits_get_a_short_read_unless_triage_is_off() -> None:
    plan = planner(Verdict(Importance.LOW, trivial=True)).plan(code_commit(1, 100))
    assert (plan.depth, plan.input_budget, plan.output_budget) == ("short", 2000, 500)
    off = planner(Verdict(Importance.LOW, trivial=True)).plan(code_commit(1, 100), triage=False)
    assert off.depth == "standard"


@pytest.mark.parametrize(
    ("importance", "depth", "rest"),
    [
        (Importance.HIGH, "deep", 5000),
        (Importance.MEDIUM, "standard", None),
        (Importance.LOW, "standard", 1200),
    ],
)
def test_importance_sets_the_depth(importance: Importance, depth: str, rest: int | None) -> None:
    plan = planner(Verdict(importance)).plan(code_commit(2, 2000))
    assert (plan.depth, plan.rest_budget) == (depth, rest)


def test_a_changed_public_surface_is_read_deeply_whatever_the_importance() -> None:
    commit = with_facts(load("d898ed046b6d"))  # new parameters on a public function
    assert surface_changed(commit.facts)
    assert planner(Verdict(Importance.LOW)).plan(commit).depth == "deep"


def test_a_new_path_on_by_default_gets_a_standard_read_naming_it() -> None:
    """a9e03bf adds a 4,000-line kernel behind FLASHINFER_KDA_T1_FAST_PATH="1": a standard
    read, with the toggle in the facts block (deep reading it cost the day 1.3x its tokens)."""
    commit = with_facts(load("a9e03bf2f5fe"))
    assert any(s.on_by_default for s in commit.facts.settings)  # type: ignore[union-attr]
    assert not surface_changed(commit.facts)
    assert planner(Verdict(Importance.MEDIUM)).plan(commit).depth == "standard"


def test_huge_deep_reads_become_map_reduce_in_bounded_calls() -> None:
    commit = code_commit(20, 60_000)  # 1.2 MB of code patch
    plan = planner(Verdict(Importance.HIGH), map_calls=3).plan(commit)
    assert plan.depth == "map-reduce" and plan.calls == 4
    assert sorted(i for group in plan.groups for i in group) == list(range(20))
    assert plan.cost == plan.input_budget * 3 + plan.merge_budget
    assert planner(Verdict(Importance.HIGH), map_calls=0).plan(commit).depth == "deep"


def test_file_groups_keep_neighbours_together_and_balance_size() -> None:
    groups = file_groups(code_commit(10, 1000), 3)
    assert len(groups) == 3
    assert [i for group in groups for i in group] == list(range(10))  # path order kept
    sizes = [len(group) for group in groups]
    assert max(sizes) - min(sizes) <= 1


def test_shallower_steps_down_and_the_ledger_settles() -> None:
    p = planner(Verdict(Importance.HIGH))
    deep = p.plan(code_commit(2, 2000))
    standard = p.shallower(deep)
    assert standard is not None and standard.depth == "standard" and standard.reduced
    short = p.shallower(standard)
    assert short is not None and short.depth == "short"
    assert p.shallower(short) is None
    ledger = TokenLedger(ceiling=10_000)
    assert ledger.reserve(8000) and not ledger.reserve(3000)
    ledger.settle(8000, 2500)
    assert ledger.reserve(7000) and ledger.spent == 2500
    overrun = TokenLedger(ceiling=10_000)
    assert overrun.reserve(4000)
    overrun.settle(4000, 7000)  # a retry resent the prompt: the ledger counts what was used
    assert overrun.reserved == 7000 and not overrun.reserve(4000)
    assert TokenLedger(None).reserve(10**9)
