"""The LLM analyzer: planned depth, packed and fenced prompts, validated replies, fallback.

Per commit: the change facts are made sure of, the depth planner picks a short, standard or
deep read or a map-reduce over file groups (bot/analysis/depth.py), the digest's token ledger
may make it shallower, and the prompt is built and counted off the event loop inside the
concurrency slot. A reply that fails validation is retried once with the error; anything else
that goes wrong falls back to the heuristic, marked with the reason.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from pydantic import BaseModel

from bot.analysis.base import AnalysisContext, Analyzer
from bot.analysis.classification import classify_commit
from bot.analysis.commit_prompts import CommitPrompts, Prompt, part_notes_text
from bot.analysis.depth import DepthBudgets, DepthPlan, DepthPlanner, TokenLedger
from bot.analysis.facts import facts_current, with_facts
from bot.analysis.llm_client import ChatMessage, LLMClient, LLMReply
from bot.analysis.overview import OverviewWriter
from bot.analysis.paths import DEFAULT_ROLES, PathRoles
from bot.analysis.prompt_templates import PROMPT_VERSION
from bot.analysis.reply import ReadFacts, parse_reply, to_analysis
from bot.analysis.schema import SCHEMA_NAME, AnalysisOut, PartOut, response_schema_format
from bot.analysis.tokens import LazyCounter, TokenCounter
from bot.config import StructuredMode
from bot.errors import AnalysisError, RateLimitedError
from bot.models import CALL_LIMIT_REASON, Commit, CommitAnalysis, Coverage, DigestItem, Language

log = logging.getLogger(__name__)

TriageMode = Literal["heuristic", "short", "off"]
PART_SCHEMA_NAME = "commit_part"
M = TypeVar("M", bound=BaseModel)


@dataclass
class _Spent:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0
    reserved_calls: int = 0  # calls reserved on the digest's ledger for this read

    def add(self, reply: LLMReply) -> None:
        self.prompt_tokens += reply.prompt_tokens
        self.completion_tokens += reply.completion_tokens
        self.calls += 1


@dataclass(frozen=True)
class _Outcome:
    value: BaseModel | None
    reason: str  # why there is no value


class LLMAnalyzer:
    """`Analyzer` over an `LLMClient`. Never raises for a model problem: it falls back."""

    def __init__(
        self,
        client: LLMClient,
        *,
        fallback: Analyzer,
        planner: DepthPlanner | None = None,
        model: str | None = None,
        structured_mode: StructuredMode = "json_schema",
        concurrency: int = 8,
        triage_mode: TriageMode = "short",
        counter: TokenCounter | None = None,
        temperature: float = 0.2,
        boundary: Callable[[], str] = lambda: secrets.token_hex(8),
    ) -> None:
        self._client = client
        self._fallback = fallback
        self._planner = planner or DepthPlanner(DepthBudgets(), classify_commit)
        self._model = model or client.model
        self._mode: StructuredMode = structured_mode
        self._semaphore = asyncio.Semaphore(max(1, concurrency))
        self._triage_mode: TriageMode = triage_mode
        self._counter = counter or LazyCounter()
        self._temperature = temperature
        self._prompts = CommitPrompts(
            mode=structured_mode, counter=self._counter, boundary=boundary
        )
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

    @property
    def prompts(self) -> CommitPrompts:
        return self._prompts

    def plan(
        self, commit: Commit, ledger: TokenLedger | None = None, roles: PathRoles = DEFAULT_ROLES
    ) -> DepthPlan | None:
        """The read `commit` gets: planned by depth, then made to fit the ledger (None: even a
        short read does not fit). Reserves the plan's cost on the ledger."""
        return self._fit(self._wanted(commit, roles), ledger)

    def _wanted(self, commit: Commit, roles: PathRoles) -> DepthPlan:
        return self._planner.plan(commit, triage=self._triage_mode != "off", roles=roles)

    def _fit(self, plan: DepthPlan | None, ledger: TokenLedger | None) -> DepthPlan | None:
        if ledger is None:
            return plan
        while plan is not None and not ledger.reserve(plan.cost, plan.calls):
            plan = self._planner.shallower(plan)
            if plan is not None:
                ledger.reduced += 1
        return plan

    async def prepare(self) -> None:
        """The client's SDK and the tokenizer, loaded side by side in worker threads."""
        try:
            await asyncio.gather(self._client.prepare(), asyncio.to_thread(self._counter.count, ""))
        except Exception as exc:  # noqa: BLE001 - a head start only; the first read reports it
            log.debug("preparing the LLM analyzer failed: %s", exc)

    async def analyze(self, commit: Commit, context: AnalysisContext) -> CommitAnalysis:
        if not facts_current(commit):
            commit = await asyncio.to_thread(with_facts, commit)
        # Planning counts the patch's tokens: off the event loop, like prompt building.
        wanted = await asyncio.to_thread(self._wanted, commit, context.path_roles)
        if wanted.depth == "short" and self._triage_mode == "heuristic":
            # Triage decides on the read the commit deserves, before the ceiling is consulted:
            # a heuristic triage sends nothing, so it reserves nothing.
            result = await self._fallback.analyze(commit, context)
            return _with_provenance(result, triaged=True)
        ledger = context.ledger
        plan = self._fit(wanted, ledger)
        if plan is None:
            result = await self._fallback.analyze(commit, context)
            if ledger is not None and ledger.calls_exhausted:
                ledger.capped += 1
                return _with_provenance(result, fallback_reason=CALL_LIMIT_REASON)
            return _with_provenance(result, fallback_reason="token ceiling reached")
        spent = _Spent(reserved_calls=plan.calls)
        try:
            if plan.depth == "map-reduce":
                return await self._map_reduce(commit, context, plan, spent)
            return await self._single(commit, context, plan, spent)
        finally:
            if ledger is not None:
                # A provider that reports no usage is charged what was reserved for the read.
                used = spent.prompt_tokens or (plan.cost if spent.calls else 0)
                ledger.settle(plan.cost, used)
                ledger.settle_calls(spent.reserved_calls, spent.calls)

    async def overview(self, items: Sequence[DigestItem], language: Language) -> str | None:
        return await self._overview.write(items, language)

    # -- reads ----------------------------------------------------------------------------

    async def _single(
        self, commit: Commit, context: AnalysisContext, plan: DepthPlan, spent: _Spent
    ) -> CommitAnalysis:
        async with self._semaphore:
            prompt = await asyncio.to_thread(self._prompts.single, commit, context, plan)
            outcome = await self._ask(
                prompt,
                AnalysisOut,
                plan.output_budget,
                spent,
                commit.short_sha,
                ledger=context.ledger,
            )
        if not isinstance(outcome.value, AnalysisOut):
            return await self._fall_back(commit, context, outcome.reason, spent)
        read = self._read_facts(plan, prompt.packed.coverage, spent)
        return to_analysis(outcome.value, commit, context, read)

    async def _map_reduce(
        self, commit: Commit, context: AnalysisContext, plan: DepthPlan, spent: _Spent
    ) -> CommitAnalysis:
        async def part(index: int) -> tuple[str, Coverage] | None:
            async with self._semaphore:
                prompt = await asyncio.to_thread(self._prompts.part, commit, context, plan, index)
                outcome = await self._ask(
                    prompt,
                    PartOut,
                    plan.output_budget // 2,
                    spent,
                    commit.short_sha,
                    ledger=context.ledger,
                )
            if not isinstance(outcome.value, PartOut):
                log.info(
                    "map part %d of %s failed: %s", index + 1, commit.short_sha, outcome.reason
                )
                return None
            return part_notes_text(outcome.value), prompt.packed.coverage

        parts = await asyncio.gather(*(part(i) for i in range(len(plan.groups))))
        done = [p for p in parts if p is not None]
        if not done:
            return await self._fall_back(commit, context, "map-reduce failed", spent)
        coverage = _merged_coverage(commit, [cov for _, cov in done])
        async with self._semaphore:
            prompt = await asyncio.to_thread(
                self._prompts.merge, commit, context, plan, [n for n, _ in done], coverage
            )
            outcome = await self._ask(
                prompt,
                AnalysisOut,
                plan.output_budget,
                spent,
                commit.short_sha,
                ledger=context.ledger,
            )
        if not isinstance(outcome.value, AnalysisOut):
            return await self._fall_back(commit, context, outcome.reason, spent)
        return to_analysis(outcome.value, commit, context, self._read_facts(plan, coverage, spent))

    def _read_facts(self, plan: DepthPlan, coverage: Coverage, spent: _Spent) -> ReadFacts:
        return ReadFacts(
            model=self._model,
            prompt_version=PROMPT_VERSION,
            coverage=coverage,
            prompt_tokens=spent.prompt_tokens,
            completion_tokens=spent.completion_tokens,
            triaged=plan.depth == "short" and not plan.reduced,  # cut by the ceiling: not triage
            depth=plan.depth,
            calls=spent.calls,
            reduced=plan.reduced,
        )

    async def _fall_back(
        self, commit: Commit, context: AnalysisContext, reason: str, spent: _Spent
    ) -> CommitAnalysis:
        result = await self._fallback.analyze(commit, context)
        return _with_provenance(
            result,
            fallback_reason=reason,
            prompt_tokens=spent.prompt_tokens,
            completion_tokens=spent.completion_tokens,
            calls=spent.calls,
        )

    async def _ask(
        self,
        prompt: Prompt,
        model: type[M],
        max_tokens: int,
        spent: _Spent,
        sha: str,
        *,
        ledger: TokenLedger | None = None,
    ) -> _Outcome:
        """One validated reply: the call, one retry with the validation error, or a reason.
        The retry is a call too: under a call ceiling it is made only if one is left."""
        messages: list[ChatMessage] = list(prompt.messages)
        reason = "no reply"
        for attempt in (1, 2):
            if attempt == 2 and ledger is not None:
                if not ledger.reserve_calls(1):
                    return _Outcome(None, reason)
                spent.reserved_calls += 1
            try:
                reply = await self._client.complete(
                    messages,
                    response_format=self._response_format(model),
                    max_tokens=max_tokens,
                    temperature=self._temperature,
                )
            except RateLimitedError as exc:
                log.warning("LLM rate limited for %s: %s", sha, exc)
                return _Outcome(None, "rate limited")
            except AnalysisError as exc:
                log.warning("LLM call failed for %s: %s", sha, exc)
                return _Outcome(None, exc.user_message)
            spent.add(reply)
            if reply.refusal:
                log.warning("LLM refused %s: %.200s", sha, reply.refusal)
                return _Outcome(None, "refusal")
            try:
                return _Outcome(parse_reply(reply.content, reply.finish_reason, model), "")
            except AnalysisError as exc:
                log.info("LLM reply %d for %s rejected: %s", attempt, sha, exc)
                reason = exc.user_message
                messages = [*prompt.messages, self._prompts.retry_note(str(exc))]
        return _Outcome(None, reason)

    def _response_format(self, model: type[BaseModel]) -> Mapping[str, Any] | None:
        if self._mode == "json_schema":
            name = SCHEMA_NAME if model is AnalysisOut else PART_SCHEMA_NAME
            return response_schema_format(model, name)
        if self._mode == "json_object":
            return {"type": "json_object"}
        return None


def _merged_coverage(commit: Commit, parts: Sequence[Coverage]) -> Coverage:
    files_total = len(commit.files)
    lines_total = sum(change.changes for change in commit.files)
    files_sent = min(files_total, sum(c.files_sent for c in parts))
    lines_sent = min(lines_total, sum(c.lines_sent for c in parts))
    omitted = tuple(path for c in parts for path in c.omitted_paths)[:20]
    return Coverage(
        files_total=files_total,
        files_sent=files_sent,
        lines_total=lines_total,
        lines_sent=lines_sent,
        omitted_paths=omitted,
    )


def _with_provenance(result: CommitAnalysis, **update: Any) -> CommitAnalysis:
    provenance = result.provenance.model_copy(update=update)
    return result.model_copy(update={"provenance": provenance})
