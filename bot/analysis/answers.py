"""Thread questions about one commit: an LLM answer packed for the question, or, when the model
fails or is rate-limited, an answer assembled from the stored analysis.

The question's identifiers, paths and words pick what the prompt shows first: patch pieces that
mention them, and the facts. A reply that is empty, a refusal, or JSON is never posted; one cut
off at the output limit is trimmed to its last whole sentence.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from bot.analysis.cleaner import commit_text
from bot.analysis.commit_prompts import WIDEST_COVERAGE, coverage_note, facts_block, scrubber
from bot.analysis.facts import fact_terms, with_facts
from bot.analysis.llm_client import ChatMessage, LLMClient
from bot.analysis.packing import PackRequest, pack, truncate_to_tokens
from bot.analysis.prompt_templates import language_name, render
from bot.analysis.reply import extract_json_object
from bot.analysis.tokens import TokenCounter
from bot.errors import AnalysisError, RateLimitedError
from bot.models import Commit, CommitAnalysis, DigestItem, Language

log = logging.getLogger(__name__)

MAX_QUESTION_TOKENS = 300
MAX_ANALYSIS_TOKENS = 900
MAX_ANSWER_CHARS = 2500
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029]")
_TERM_RE = re.compile(r"`([^`\n]{2,80})`|([A-Za-z_][\w.:/-]*[\w])")
_SENTENCE_END = re.compile(r"[.!?。！？](?=\s|$)")
_STOPWORDS = frozenset(
    [
        "what",
        "why",
        "how",
        "when",
        "where",
        "which",
        "who",
        "does",
        "did",
        "is",
        "are",
        "was",
        "were",
        "the",
        "this",
        "that",
        "these",
        "those",
        "with",
        "from",
        "into",
        "about",
        "could",
        "would",
        "should",
        "will",
        "can",
        "may",
        "might",
        "risky",
        "risk",
        "break",
        "breaks",
        "broken",
        "change",
        "changes",
        "changed",
        "commit",
        "commits",
        "explain",
        "tell",
        "please",
        "there",
        "their",
        "them",
        "they",
        "then",
        "have",
        "has",
        "had",
        "been",
        "being",
        "than",
        "also",
        "just",
        "only",
        "more",
        "most",
        "much",
        "many",
        "some",
        "such",
    ]
)
# Question words that point at one part of an analysis.
_ASPECTS: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = (
    (
        re.compile(r"risk|danger|unsafe|break|regress|风险|危险|破坏|回归", re.I),
        ("risks", "compatibility"),
    ),
    (
        re.compile(r"compat|upgrade|migrat|caller|api|兼容|升级|迁移|调用", re.I),
        ("compatibility", "recommendations"),
    ),
    (
        re.compile(r"perf|fast|slow|speed|latency|memory|性能|速度|延迟|显存|内存", re.I),
        ("performance",),
    ),
    (re.compile(r"test|coverage|测试|覆盖", re.I), ("testing",)),
    (re.compile(r"secur|vuln|auth|安全|漏洞", re.I), ("security",)),
    (
        re.compile(r"design|architect|structure|refactor|架构|设计|重构", re.I),
        ("architecture", "maintainability"),
    ),
    (re.compile(r"should|recommend|advice|do next|建议|应该|怎么办", re.I), ("recommendations",)),
)
_UNAVAILABLE = {
    "en": "The model is unavailable right now; from the stored analysis:",
    "zh": "模型暂时不可用，以下内容来自已有分析：",
}
_LABELS = {
    "en": {"risks": "Risks", "recommendations": "Recommendations", "summary": "Summary"},
    "zh": {"risks": "风险", "recommendations": "建议", "summary": "摘要"},
}


def question_terms(question: str) -> set[str]:
    """Identifiers, paths and distinctive words of a question (what its answer is about)."""
    terms: set[str] = set()
    for match in _TERM_RE.finditer(question[:2000]):
        term = (match.group(1) or match.group(2) or "").strip()
        if len(term) < 3 or term.lower() in _STOPWORDS or re.fullmatch(r"[0-9a-f]{7,40}", term):
            continue
        terms.add(term)
        if "/" in term:
            terms.add(term.rsplit("/", 1)[-1])  # a path: its file name too
        elif "." in term or "::" in term:
            terms.add(re.split(r"\.|::", term)[-1])  # a qualified name: its last part
    return {t for t in terms if len(t) >= 3}


def analysis_text(item: DigestItem) -> str:
    """The earlier analysis as plain lines (it is model output: fenced like any data)."""
    analysis = item.analysis
    lines = [
        f"type: {analysis.change_type.value}; importance: {analysis.importance.value}",
        f"summary: {analysis.summary}",
    ]
    if analysis.scope:
        lines.append("scope: " + ", ".join(analysis.scope))
    lines += [f"{name}: {text}" for name, text in analysis.insights.items()]
    lines += [f"risk: {risk}" for risk in analysis.risks]
    lines += [f"recommendation: {rec}" for rec in analysis.recommendations]
    return "\n".join(lines)


def stored_answer(question: str, analysis: CommitAnalysis, language: Language) -> str:
    """An answer from the stored analysis: the parts the question is about, else the summary
    and the risks, under a line saying the model was not asked."""
    wanted: list[str] = []
    for pattern, parts in _ASPECTS:
        if pattern.search(question):
            wanted.extend(part for part in parts if part not in wanted)
    labels = _LABELS[language]
    insights = dict(analysis.insights.items())
    lines = [_UNAVAILABLE[language]]
    for part in wanted or ["summary", "risks"]:
        if part == "summary":
            lines.append(f"{labels['summary']}: {analysis.summary}")
        elif part in ("risks", "recommendations"):
            entries = getattr(analysis, part)
            if entries:
                lines.append(f"{labels[part]}:")
                lines.extend(f"- {entry}" for entry in entries[:5])
        elif part in insights:
            lines.append(insights[part])
    if len(lines) == 1:
        lines.append(f"{labels['summary']}: {analysis.summary}")
    return _bounded("\n".join(lines))


def _bounded(text: str) -> str:
    text = _CONTROL.sub("", text).strip()
    if len(text) > MAX_ANSWER_CHARS:
        text = text[: MAX_ANSWER_CHARS - 1].rstrip() + "…"
    return text


def usable_reply(content: str | None, finish_reason: str | None) -> str:
    """The model's answer fit to post; AnalysisError when it is not an answer at all."""
    text = _CONTROL.sub("", (content or "").strip())
    if not text:
        raise AnalysisError("LLM empty answer", detail=f"finish_reason={finish_reason}")
    if text.startswith(("{", "[", "```json")) and extract_json_object(text) is not None:
        raise AnalysisError("LLM answered with JSON", detail=text[:200])
    if finish_reason == "length":
        ends = list(_SENTENCE_END.finditer(text))
        if not ends or ends[-1].end() < len(text) // 3:
            raise AnalysisError("LLM answer cut off", detail=text[:200])
        text = text[: ends[-1].end()] + " …"
    return _bounded(text)


@dataclass(frozen=True)
class Answer:
    text: str
    from_model: bool  # False: assembled from the stored analysis


class QuestionAnswerer(Protocol):
    """Answers a question about one commit; never raises for a model problem."""

    async def answer(
        self, question: str, commit: Commit, item: DigestItem, language: Language
    ) -> Answer: ...


class LLMAnswerer:
    """Answers a question about one commit; the prompt fits `input_budget` tokens."""

    def __init__(
        self,
        client: LLMClient,
        *,
        counter: TokenCounter,
        input_budget: int = 6000,
        max_output_tokens: int = 700,
        token: Callable[[], str] = lambda: secrets.token_hex(8),
    ) -> None:
        self._client = client
        self._counter = counter
        self._budget = input_budget
        self._max_output = max_output_tokens
        self._token = token

    def build_messages(
        self, question: str, commit: Commit, item: DigestItem, language: Language
    ) -> list[ChatMessage]:
        commit = with_facts(commit)
        boundary = self._token()
        scrub = scrubber(boundary)
        terms = question_terms(question)
        system = render("answer_system.j2", language_name=language_name(language))
        variables = {
            "repo": commit.repo,
            "sha": commit.sha,
            "boundary": boundary,
            "language_name": language_name(language),
            "question": truncate_to_tokens(scrub(question), MAX_QUESTION_TOKENS, self._counter),
            "analysis": truncate_to_tokens(
                scrub(analysis_text(item)), MAX_ANALYSIS_TOKENS, self._counter
            ),
        }
        empty = dict.fromkeys(("message", "pull_request", "facts", "files", "patch"), "")
        skeleton = render(
            "answer_user.j2", **variables, **empty, coverage_note=coverage_note(WIDEST_COVERAGE)
        )
        used = self._counter.count(system) + self._counter.count(skeleton)
        packed = pack(
            PackRequest(
                commit=commit,
                text=commit_text(commit),
                available=self._budget - used - 32,
                counter=self._counter,
                facts_block=facts_block(commit, self._counter, scrub, first=terms),
                scrub=scrub,
                fact_terms=fact_terms(commit.facts),
                terms=terms,
            )
        )
        note = coverage_note(packed.coverage)
        user = render(
            "answer_user.j2",
            **variables,
            coverage_note=note,
            **packed.template_parts(),
        )
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    async def answer(
        self, question: str, commit: Commit, item: DigestItem, language: Language
    ) -> Answer:
        """The model's answer, or one from the stored analysis when the model fails."""
        # Facts and packing are CPU work on a possibly huge commit: off the event loop.
        messages = await asyncio.to_thread(self.build_messages, question, commit, item, language)
        try:
            reply = await self._client.complete(
                messages, response_format=None, max_tokens=self._max_output, temperature=0.2
            )
            if reply.refusal:
                raise AnalysisError("LLM refusal", detail=reply.refusal[:200])
            return Answer(usable_reply(reply.content, reply.finish_reason), from_model=True)
        except (AnalysisError, RateLimitedError) as exc:
            log.warning(
                "LLM answer for %s unusable, answering from the analysis: %s", commit.short_sha, exc
            )
            return Answer(stored_answer(question, item.analysis, language), from_model=False)
