"""Golden prompts from real commit excerpts: exactly what the model is shown, read in review.

Regenerate with UPDATE_GOLDEN=1 after a deliberate prompt change (and bump PROMPT_VERSION).
Every golden prompt must also hold these properties: within its plan's budget, no template
noise, and every removed, renamed or re-signed public symbol named somewhere in it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from bot.analysis.base import AnalysisContext
from bot.analysis.classification import classify_commit
from bot.analysis.commit_prompts import CommitPrompts
from bot.analysis.depth import DepthBudgets, DepthPlan, DepthPlanner, file_groups
from bot.analysis.facts import with_facts
from bot.analysis.tokens import default_counter
from bot.models import Commit
from tests.data.real_commits import load

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "prompts"
COUNTER = default_counter()
PROMPTS = CommitPrompts(mode="json_schema", counter=COUNTER, boundary=lambda: "GOLDEN0TOKEN0000")
PLANNER = DepthPlanner(DepthBudgets(), classify_commit)
_NOISE = re.compile(
    r"<!--|- \[[ xX]\]|Pull Request Checklist|Thank you for contributing|Co-authored-by"
    r"|Summary by CodeRabbit|Reviewer Notes"
)


def check(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"missing golden {path}; run with UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from its golden file"


def as_text(messages: list[dict[str, str]] | list[object]) -> str:
    return "\n".join(f"=== {m['role']} ===\n{m['content']}" for m in messages)  # type: ignore[index]


def surface_names(commit: Commit) -> set[str]:
    assert commit.facts is not None
    names = {
        s.name.rsplit(".", 1)[-1] for s in commit.facts.symbols if s.kind != "added" and s.public
    }
    names |= {s.old_name for s in commit.facts.symbols if s.old_name}
    names |= {e.name for e in commit.facts.exports if e.kind == "removed"}
    return {n for n in names if n}


@pytest.mark.parametrize(
    ("sha", "language"),
    [
        ("750dbfd54267", "zh"),
        ("d898ed046b6d", "en"),
        ("ed6c709849fe", "zh"),
        ("a9e03bf2f5fe", "en"),
    ],
)
def test_single_read_prompts(sha: str, language: str) -> None:
    commit = with_facts(load(sha))
    plan = PLANNER.plan(commit)
    prompt = PROMPTS.single(commit, AnalysisContext(language=language), plan)  # type: ignore[arg-type]
    text = as_text(prompt.messages)
    check(f"{sha}_{plan.depth}_{language}.txt", text)
    assert COUNTER.count("\n".join(m["content"] for m in prompt.messages)) <= plan.input_budget
    assert not _NOISE.search(text)
    for name in surface_names(commit):
        assert name in text, name


def test_map_reduce_prompts_of_750dbfd() -> None:
    commit = with_facts(load("750dbfd54267"))
    groups = file_groups(commit, 2)
    plan = DepthPlan("map-reduce", 4000, 3000, groups=groups, merge_budget=8000)
    context = AnalysisContext(language="en")
    parts = [PROMPTS.part(commit, context, plan, index) for index in range(len(groups))]
    notes = ["- `bsa_attn_fwd` becomes `bsa_attn_sm100_blk128_fwd`.", "- New SM120 backend."]
    coverage = parts[0].packed.coverage
    merge = PROMPTS.merge(commit, context, plan, notes, coverage)
    text = "\n\n".join(as_text(p.messages) for p in (*parts, merge))
    check("750dbfd54267_map_reduce_en.txt", text)
    for part in parts:
        assert COUNTER.count("\n".join(m["content"] for m in part.messages)) <= 4000
    merged = "\n".join(m["content"] for m in merge.messages)
    assert COUNTER.count(merged) <= 8000
    assert merged.count(" part-notes ") == 2 and " patch>>>" not in merged
