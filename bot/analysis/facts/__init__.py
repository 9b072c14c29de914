"""Change facts: what a commit's whole diff changes (symbols, exports, settings, errors, deps)."""

from bot.analysis.facts.extract import FACTS_VERSION, extract_facts
from bot.analysis.facts.render import fact_terms, render_facts
from bot.models import Commit

__all__ = [
    "FACTS_VERSION",
    "extract_facts",
    "fact_terms",
    "facts_current",
    "render_facts",
    "with_facts",
]


def facts_current(commit: Commit) -> bool:
    """Does `commit` carry facts from this extractor version?"""
    return commit.facts is not None and commit.facts.version == FACTS_VERSION


def with_facts(commit: Commit) -> Commit:
    """`commit` with current change facts (computed when missing or from an older extractor)."""
    if facts_current(commit):
        return commit
    return commit.model_copy(update={"facts": extract_facts(commit)})
