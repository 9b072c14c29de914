"""The per-commit prompts: system and user messages for one read, a map part and the merge.

Every prompt is measured with the real tokenizer against its plan's budget: the template's
own size (rendered with empty data and the widest notes) is subtracted first, then the data
parts are packed into what is left (bot/analysis/packing.py). Untrusted text is scrubbed of
the request's marker token before it is counted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

from bot.analysis.base import AnalysisContext
from bot.analysis.cleaner import commit_text
from bot.analysis.depth import Depth, DepthPlan
from bot.analysis.facts import fact_terms, render_facts
from bot.analysis.llm_client import ChatMessage
from bot.analysis.packing import PackedContext, PackRequest, pack, truncate_to_tokens
from bot.analysis.prompt_templates import language_name, render
from bot.analysis.schema import AnalysisOut, PartOut, strict_json_schema
from bot.analysis.tokens import TokenCounter
from bot.config import StructuredMode
from bot.models import Commit, Coverage

# Tokens kept free in every request: the retry note, message framing and counting slack.
RETRY_RESERVE = 160
FRAMING_RESERVE = 24
MAX_COMPONENT_NAMES = 30
MAX_PART_NOTES_TOKENS = 1400  # one map part's notes in the merge prompt
# A map part reads the commit's words and its own files' facts; the rest is its patch.
MAP_MESSAGE_SHARE = 0.10
MAP_FACTS_SHARE = 0.15
# The longest coverage note a prompt can carry: reserved before packing.
WIDEST_COVERAGE = Coverage(
    files_total=999_999, files_sent=999_998, lines_total=99_999_999, lines_sent=99_999_998
)
_MARKER_LIKE = re.compile(r"<<<(?=\s*(?:DATA|END)\b)", re.IGNORECASE)


def _compact(node: Any) -> Any:
    """The schema without descriptions: the system prompt already explains every field."""
    if isinstance(node, dict):
        return {k: _compact(v) for k, v in node.items() if k != "description"}
    if isinstance(node, list):
        return [_compact(v) for v in node]
    return node


# In json_object / prompt modes the schema travels in the system prompt.
SCHEMA_JSON = json.dumps(_compact(strict_json_schema(AnalysisOut)), separators=(",", ":"))
PART_SCHEMA_JSON = json.dumps(_compact(strict_json_schema(PartOut)), separators=(",", ":"))


def scrubber(boundary: str) -> Callable[[str], str]:
    """Remove the request's marker token from data and defang look-alike marker lines."""

    def scrub(text: str) -> str:
        if boundary in text:
            text = text.replace(boundary, "")
        return _MARKER_LIKE.sub("<‹<", text) if "<<<" in text else text

    return scrub


def coverage_note(cov: Coverage) -> str:
    """What the prompt says about a partial read ("" when the whole patch is in)."""
    if not cov.partial:
        return ""
    return (
        f"Only part of the patch is included: {cov.files_sent} of {cov.files_total} files and "
        f"{cov.lines_sent} of {cov.lines_total} changed lines; the change-facts block still "
        "covers the whole diff."
    )


def facts_block(
    commit: Commit,
    counter: TokenCounter,
    scrub: Callable[[str], str],
    *,
    group: Sequence[int] | None = None,
    first: Collection[str] = (),
) -> Callable[[int], str]:
    """The facts block of `commit` (or of one file group) for whatever budget packing gives
    it; facts naming one of `first` (a question's terms) lead."""
    files = commit.files if group is None else [commit.files[i] for i in group]
    without_diff = sum(1 for change in files if not change.patch and not change.changes)
    paths = None if group is None else {change.path for change in files}

    def block(budget: int) -> str:
        return render_facts(
            commit.facts,
            files_total=len(files),
            files_without_diff=without_diff,
            budget=budget,
            counter=counter,
            scrub=scrub,
            first=first,
            paths=paths,
        )

    return block


@dataclass(frozen=True)
class Prompt:
    messages: list[ChatMessage]
    packed: PackedContext

    @classmethod
    def of(cls, system: str, user: str, packed: PackedContext) -> Prompt:
        return cls(
            [{"role": "system", "content": system}, {"role": "user", "content": user}], packed
        )


class CommitPrompts:
    """Builds the prompts of one analyzer (its mode, counter and marker-token source)."""

    def __init__(
        self,
        *,
        mode: StructuredMode,
        counter: TokenCounter,
        boundary: Callable[[], str],
    ) -> None:
        self._mode: StructuredMode = mode
        self._counter = counter
        self._boundary = boundary

    def _system(self, context: AnalysisContext, depth: Depth, *, reduce: bool = False) -> str:
        shown: Depth = "deep" if depth == "map-reduce" else depth
        return render(
            "system.j2",
            language=context.language,
            mode=self._mode,
            schema_json=SCHEMA_JSON,
            depth=shown,
            reduce=reduce,
        )

    def _fixed(self, commit: Commit, context: AnalysisContext, boundary: str) -> dict[str, object]:
        components = sorted(set(context.components.values()))[:MAX_COMPONENT_NAMES]
        return {
            "repo": commit.repo,
            "sha": commit.sha,
            "pr_number": commit.pr_number,
            "files_total": len(commit.files),
            "lines_total": sum(f.changes for f in commit.files),
            "components": ", ".join(components),
            "boundary": boundary,
            "language_name": language_name(context.language),
        }

    def single(self, commit: Commit, context: AnalysisContext, plan: DepthPlan) -> Prompt:
        """One read of the whole commit within `plan.input_budget`."""
        boundary = self._boundary()
        scrub = scrubber(boundary)
        short = plan.depth == "short"
        system = self._system(context, plan.depth)
        fixed = self._fixed(commit, context, boundary)
        empty = dict.fromkeys(("message", "pull_request", "facts", "files", "patch"), "")
        skeleton = render(
            "user.j2",
            **fixed,
            **empty,
            part_notes=(),
            coverage_note=coverage_note(WIDEST_COVERAGE),
        )
        overhead = self._counter.count(system) + self._counter.count(skeleton)
        available = plan.input_budget - overhead - RETRY_RESERVE - FRAMING_RESERVE
        packed = pack(
            PackRequest(
                commit=commit,
                text=commit_text(commit),
                available=available,
                counter=self._counter,
                facts_block=facts_block(commit, self._counter, scrub),
                include_patch=not short,
                scrub=scrub,
                roles=context.path_roles,
                fact_terms=fact_terms(commit.facts),
                rest_budget=plan.rest_budget,
            )
        )
        note = "The patch is not included." if short else coverage_note(packed.coverage)
        user = render(
            "user.j2",
            **fixed,
            **packed.template_parts(),
            part_notes=(),
            coverage_note=note,
        )
        return Prompt.of(system, user, packed)

    def part(
        self,
        commit: Commit,
        context: AnalysisContext,
        plan: DepthPlan,
        index: int,
    ) -> Prompt:
        """The map call for `plan.groups[index]`: the commit's words, facts, the group's hunks."""
        boundary = self._boundary()
        scrub = scrubber(boundary)
        group = plan.groups[index]
        parts = len(plan.groups)
        system = render(
            "map_system.j2",
            language_name=language_name(context.language),
            part=index + 1,
            parts=parts,
        )
        if self._mode != "json_schema":
            system += "\nThe object must match this JSON schema:\n" + PART_SCHEMA_JSON
        fixed: dict[str, object] = {
            "repo": commit.repo,
            "sha": commit.sha,
            "boundary": boundary,
            "part": index + 1,
            "parts": parts,
            "files_total": len(group),
            "lines_total": sum(commit.files[i].changes for i in group),
        }
        empty = dict.fromkeys(("message", "facts", "files", "patch"), "")
        skeleton = render(
            "map_user.j2", **fixed, **empty, coverage_note=coverage_note(WIDEST_COVERAGE)
        )
        overhead = self._counter.count(system) + self._counter.count(skeleton)
        available = plan.input_budget - overhead - RETRY_RESERVE - FRAMING_RESERVE
        text = commit_text(commit)
        packed = pack(
            PackRequest(
                commit=commit,
                text=text,
                available=available,
                counter=self._counter,
                facts_block=facts_block(commit, self._counter, scrub, group=group),
                scrub=scrub,
                roles=context.path_roles,
                files=group,
                fact_terms=fact_terms(commit.facts),
                message_share=MAP_MESSAGE_SHARE,
                facts_share=MAP_FACTS_SHARE,
            )
        )
        note = coverage_note(packed.coverage)
        user = render(
            "map_user.j2",
            **fixed,
            **packed.template_parts(),
            coverage_note=note,
        )
        return Prompt.of(system, user, packed)

    def merge(
        self,
        commit: Commit,
        context: AnalysisContext,
        plan: DepthPlan,
        notes: Sequence[str],
        coverage: Coverage,
    ) -> Prompt:
        """The reduce call: the commit's words, facts and file list, and the parts' notes."""
        boundary = self._boundary()
        scrub = scrubber(boundary)
        system = self._system(context, "deep", reduce=True)
        fixed = self._fixed(commit, context, boundary)
        shown = [
            truncate_to_tokens(scrub(note), MAX_PART_NOTES_TOKENS, self._counter) for note in notes
        ]
        note_text = coverage_note(coverage)
        empty = dict.fromkeys(("message", "pull_request", "facts", "files", "patch"), "")
        skeleton = render("user.j2", **fixed, **empty, part_notes=shown, coverage_note=note_text)
        overhead = self._counter.count(system) + self._counter.count(skeleton)
        available = plan.merge_budget - overhead - RETRY_RESERVE - FRAMING_RESERVE
        packed = pack(
            PackRequest(
                commit=commit,
                text=commit_text(commit),
                available=available,
                counter=self._counter,
                facts_block=facts_block(commit, self._counter, scrub),
                include_patch=False,
                scrub=scrub,
                roles=context.path_roles,
            )
        )
        user = render(
            "user.j2",
            **fixed,
            **packed.template_parts(),
            part_notes=shown,
            coverage_note=note_text,
        )
        return Prompt.of(system, user, packed)

    def retry_note(self, problem: str) -> ChatMessage:
        text = f"{problem} Reply with only the corrected JSON object."
        limit = RETRY_RESERVE - 8
        while self._counter.count(text) > limit and len(text) > 40:
            text = text[: int(len(text) * 0.8)]
        return {"role": "user", "content": text}


def part_notes_text(part: PartOut) -> str:
    """A map part's answer as plain lines for the merge prompt."""
    lines = [f"- {point}" for point in part.points]
    lines += [
        f"scope: {entry.path}" + (f" — {entry.note}" if entry.note else "") for entry in part.scope
    ]
    lines += [
        f"risk: {risk.title}: {risk.detail}" if risk.title else f"risk: {risk.detail}"
        for risk in part.risks
    ]
    return "\n".join(lines)
