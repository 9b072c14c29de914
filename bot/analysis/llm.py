"""The LLM analyzer: packed, fenced prompts; validated, grounded replies; heuristic fallback."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from bot.analysis.base import AnalysisContext, Analyzer
from bot.analysis.budget import PackedContext, pack_commit
from bot.analysis.components import derive_scope, ground_scope
from bot.analysis.llm_client import ChatMessage, LLMClient, LLMReply
from bot.analysis.overview import OverviewWriter
from bot.analysis.prompt_templates import PROMPT_VERSION, language_name, render
from bot.analysis.reply import (
    Grounding,
    clean_insights,
    clean_items,
    clean_summary,
    parse_analysis,
)
from bot.analysis.schema import SCHEMA_NAME, AnalysisOut, response_schema_format, strict_json_schema
from bot.analysis.tokens import TokenCounter, default_counter
from bot.config import StructuredMode
from bot.errors import AnalysisError, RateLimitedError
from bot.models import (
    AnalysisProvenance,
    Commit,
    CommitAnalysis,
    Coverage,
    DigestItem,
    Insights,
    Language,
)

log = logging.getLogger(__name__)

TriageMode = Literal["heuristic", "short", "off"]
TriageFn = Callable[[Commit], bool]  # True: the heuristic is confident the commit is trivial
DEFAULT_TRIAGE_CONFIDENCE = 0.8

# Tokens kept free in every request: the retry note, message framing and counting slack.
RETRY_RESERVE = 160
FRAMING_RESERVE = 24
SHORT_DATA_TOKENS = 400  # the triage "short" path: message and file list only, no patch
MAX_COMPONENT_NAMES = 30


def _compact(node: Any) -> Any:
    """The schema without descriptions: the system prompt already explains every field."""
    if isinstance(node, dict):
        return {k: _compact(v) for k, v in node.items() if k != "description"}
    if isinstance(node, list):
        return [_compact(v) for v in node]
    return node


# In json_object / prompt modes the schema travels in the system prompt.
_SCHEMA_JSON = json.dumps(_compact(strict_json_schema(AnalysisOut)), separators=(",", ":"))
# The widest coverage note, rendered into the template to measure its overhead.
_WIDEST_NOTE_VALUES = (999_999, 999_999, 99_999_999, 99_999_999)


@dataclass(frozen=True)
class _Prompt:
    messages: list[ChatMessage]
    packed: PackedContext


class LLMAnalyzer:
    """`Analyzer` over an `LLMClient`. Never raises for a model problem: it falls back."""

    def __init__(
        self,
        client: LLMClient,
        *,
        fallback: Analyzer,
        model: str | None = None,
        structured_mode: StructuredMode = "json_schema",
        budget: int = 6000,
        max_output_tokens: int = 1500,
        concurrency: int = 8,
        triage: TriageFn | None = None,
        triage_mode: TriageMode = "short",
        counter: TokenCounter | None = None,
        temperature: float = 0.2,
        boundary: Callable[[], str] = lambda: secrets.token_hex(8),
    ) -> None:
        self._client = client
        self._fallback = fallback
        self._model = model or client.model
        self._mode: StructuredMode = structured_mode
        self._budget = budget
        self._max_output = max_output_tokens
        self._semaphore = asyncio.Semaphore(max(1, concurrency))
        self._triage = triage
        self._triage_mode: TriageMode = triage_mode
        self._counter = counter or default_counter()
        self._temperature = temperature
        self._boundary = boundary
        self._overview = OverviewWriter(
            client,
            structured_mode=structured_mode,
            counter=self._counter,
            semaphore=self._semaphore,
            boundary=boundary,
        )

    @property
    def cache_id(self) -> tuple[str, str]:
        return self._model, PROMPT_VERSION

    @property
    def counter(self) -> TokenCounter:
        return self._counter

    async def analyze(self, commit: Commit, context: AnalysisContext) -> CommitAnalysis:
        trivial = self._triage is not None and self._triage_mode != "off" and self._triage(commit)
        if trivial and self._triage_mode == "heuristic":
            result = await self._fallback.analyze(commit, context)
            return _with_provenance(result, triaged=True)
        prompt = self.build_prompt(commit, context, short=trivial)
        prompt_tokens = completion_tokens = 0
        reason: str
        async with self._semaphore:
            messages = list(prompt.messages)
            for attempt in (1, 2):
                try:
                    reply = await self._complete(messages)
                except RateLimitedError as exc:
                    log.warning("LLM rate limited for %s: %s", commit.short_sha, exc)
                    reason = "rate limited"
                    break
                except AnalysisError as exc:
                    log.warning("LLM call failed for %s: %s", commit.short_sha, exc)
                    reason = exc.user_message
                    break
                prompt_tokens += reply.prompt_tokens
                completion_tokens += reply.completion_tokens
                if reply.refusal:
                    log.warning("LLM refused %s: %.200s", commit.short_sha, reply.refusal)
                    reason = "refusal"
                    break
                try:
                    out = parse_analysis(reply.content, reply.finish_reason)
                except AnalysisError as exc:
                    log.info("LLM reply %d for %s rejected: %s", attempt, commit.short_sha, exc)
                    reason = exc.user_message
                    messages = [*prompt.messages, self._retry_note(str(exc))]
                    continue
                return self._finish(
                    commit,
                    context,
                    out,
                    coverage=prompt.packed.coverage,
                    prompt_tokens=prompt_tokens,
                    completion_tokens=completion_tokens,
                    triaged=trivial,
                )
        result = await self._fallback.analyze(commit, context)
        return _with_provenance(
            result,
            fallback_reason=reason,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
        )

    async def aclose(self) -> None:
        """Close the LLM client's connections (the composition root calls this on shutdown)."""
        await self._client.aclose()

    async def overview(self, items: Sequence[DigestItem], language: Language) -> str | None:
        return await self._overview.write(items, language)

    # -- prompt ---------------------------------------------------------------------------

    def build_prompt(self, commit: Commit, context: AnalysisContext, *, short: bool) -> _Prompt:
        """System and user messages whose counted tokens stay within the budget."""
        boundary = self._boundary()
        system = render(
            "system.j2",
            language=context.language,
            mode=self._mode,
            schema_json=_SCHEMA_JSON,
            short=short,
        )
        components = sorted(set(context.components.values()))[:MAX_COMPONENT_NAMES]
        fixed: dict[str, object] = {
            "repo": commit.repo,
            "sha": commit.sha,
            "pr_number": commit.pr_number,
            "files_total": len(commit.files),
            "lines_total": sum(f.changes for f in commit.files),
            "components": ", ".join(components),
            "boundary": boundary,
            "language_name": language_name(context.language),
        }
        empty = dict.fromkeys(("message", "pull_request", "files", "patch"), "")
        skeleton = render(
            "user.j2", **fixed, **empty, coverage_note=_coverage_note(*_WIDEST_NOTE_VALUES)
        )
        overhead = self._counter.count(system) + self._counter.count(skeleton)
        available = self._budget - overhead - RETRY_RESERVE - FRAMING_RESERVE
        if short:
            available = min(available, SHORT_DATA_TOKENS)
        packed = pack_commit(
            commit,
            available=available,
            counter=self._counter,
            include_patch=not short,
            scrub=_scrubber(boundary),
        )
        cov = packed.coverage
        note = (
            _coverage_note(cov.files_sent, cov.files_total, cov.lines_sent, cov.lines_total)
            if cov.partial and not short
            else ("The patch is not included." if short else "")
        )
        user = render(
            "user.j2",
            **fixed,
            message=packed.message,
            pull_request=packed.pull_request,
            files=packed.files,
            patch=packed.patch,
            coverage_note=note,
        )
        messages: list[ChatMessage] = [
            {"role": "system", "content": system},
            {"role": "user", "content": user},
        ]
        return _Prompt(messages, packed)

    def _retry_note(self, problem: str) -> ChatMessage:
        text = f"{problem} Reply with only the corrected JSON object."
        limit = RETRY_RESERVE - 8
        while self._counter.count(text) > limit and len(text) > 40:
            text = text[: int(len(text) * 0.8)]
        return {"role": "user", "content": text}

    def _response_format(self) -> Mapping[str, Any] | None:
        if self._mode == "json_schema":
            return response_schema_format(AnalysisOut, SCHEMA_NAME)
        if self._mode == "json_object":
            return {"type": "json_object"}
        return None

    async def _complete(self, messages: Sequence[ChatMessage]) -> LLMReply:
        return await self._client.complete(
            messages,
            response_format=self._response_format(),
            max_tokens=self._max_output,
            temperature=self._temperature,
        )

    # -- result ---------------------------------------------------------------------------

    def _finish(
        self,
        commit: Commit,
        context: AnalysisContext,
        out: AnalysisOut,
        *,
        coverage: Coverage,
        prompt_tokens: int,
        completion_tokens: int,
        triaged: bool,
    ) -> CommitAnalysis:
        pr = commit.pr
        grounding = Grounding(
            shas=(commit.sha, *commit.parents),
            texts=(commit.message, pr.title if pr else "", pr.body if pr else ""),
            prs=(commit.pr_number,) if commit.pr_number is not None else (),
        )
        return CommitAnalysis(
            sha=commit.sha,
            change_type=out.change_type,
            importance=out.importance,
            summary=clean_summary(out.summary, grounding) or commit.title[:200],
            # An entirely ungrounded scope is replaced by the one derived from the paths.
            scope=ground_scope(out.scope, commit, context.components)
            or derive_scope(commit, context.components),
            insights=Insights(**clean_insights(out.insights, grounding)),
            risks=clean_items(out.risks, grounding),
            recommendations=clean_items(out.recommendations, grounding),
            provenance=AnalysisProvenance(
                analyzer="llm",
                model=self._model,
                prompt_version=PROMPT_VERSION,
                language=context.language,
                coverage=coverage,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                triaged=triaged,
            ),
        )


class TriageVerdict(Protocol):
    """What triage needs from a classifier (HeuristicAnalyzer.classify gives more)."""

    @property
    def trivial(self) -> bool: ...

    @property
    def confidence(self) -> float: ...


def confident_trivial(
    classify: Callable[[Commit], TriageVerdict],
    *,
    min_confidence: float = DEFAULT_TRIAGE_CONFIDENCE,
) -> TriageFn:
    """A triage function: trivial (docs/CI-only, version bump, bot, formatting) and sure of it."""

    def triage(commit: Commit) -> bool:
        verdict = classify(commit)
        return verdict.trivial and verdict.confidence >= min_confidence

    return triage


def _with_provenance(result: CommitAnalysis, **update: Any) -> CommitAnalysis:
    provenance = result.provenance.model_copy(update=update)
    return result.model_copy(update={"provenance": provenance})


def _coverage_note(files_sent: int, files_total: int, lines_sent: int, lines_total: int) -> str:
    return (
        f"Only part of the commit is included: {files_sent} of {files_total} files and "
        f"{lines_sent} of {lines_total} changed lines; the rest was omitted for length."
    )


_MARKER_LIKE = re.compile(r"<<<(?=\s*(?:DATA|END)\b)", re.IGNORECASE)


def _scrubber(boundary: str) -> Callable[[str], str]:
    """Remove the request's marker token from data and defang look-alike marker lines."""

    def scrub(text: str) -> str:
        if boundary in text:
            text = text.replace(boundary, "")
        return _MARKER_LIKE.sub("<‹<", text) if "<<<" in text else text

    return scrub
