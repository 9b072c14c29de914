"""Free-form thread questions about one commit, answered by the LLM from its analysis and patch."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from importlib import resources
from typing import Protocol

import jinja2

from bot.analysis.budget import pack_commit, truncate_to_tokens
from bot.analysis.llm_client import ChatMessage, LLMClient, OpenAIClient
from bot.analysis.tokens import TokenCounter, default_counter
from bot.config import Settings
from bot.errors import AnalysisError
from bot.models import Commit, DigestItem, Language

ANSWER_PROMPT_VERSION = "answer-v1"
MAX_QUESTION_TOKENS = 300
MAX_ANALYSIS_TOKENS = 900
MAX_ANSWER_CHARS = 2500
_TEMPLATE_DIR = ("prompts", "answer", "v1")
_LANGUAGE_NAMES = {"zh": "Simplified Chinese", "en": "English"}
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029]")


class QuestionAnswerer(Protocol):
    """Answers a question about one commit. Raises AnalysisError / RateLimitedError."""

    async def answer(
        self, question: str, commit: Commit, item: DigestItem, language: Language
    ) -> str: ...


def _templates() -> jinja2.Environment:
    root = resources.files("bot.analysis").joinpath(*_TEMPLATE_DIR)

    def load(name: str) -> str:
        return root.joinpath(name).read_text(encoding="utf-8")

    return jinja2.Environment(
        loader=jinja2.FunctionLoader(load),
        autoescape=False,  # plain-text prompts, not HTML
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=False,
    )


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


class LLMAnswerer:
    """QuestionAnswerer over an LLMClient; the prompt fits `input_budget` tokens."""

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
        self._env = _templates()

    def build_messages(
        self, question: str, commit: Commit, item: DigestItem, language: Language
    ) -> list[ChatMessage]:
        boundary = self._token()

        def scrub(text: str) -> str:
            # A data part must not be able to close its own fence.
            return text.replace(boundary, "")

        system = self._env.get_template("system.j2").render(language_name=_LANGUAGE_NAMES[language])
        question_part = truncate_to_tokens(scrub(question), MAX_QUESTION_TOKENS, self._counter)
        analysis_part = truncate_to_tokens(
            scrub(analysis_text(item)), MAX_ANALYSIS_TOKENS, self._counter
        )
        variables = {
            "repo": commit.repo,
            "sha": commit.sha,
            "boundary": boundary,
            "language_name": _LANGUAGE_NAMES[language],
            "question": question_part,
            "analysis": analysis_part,
        }
        user = self._env.get_template("user.j2")
        skeleton = user.render(
            **variables,
            coverage_note="x" * 120,
            message="",
            pull_request="",
            files="",
            patch="",
        )
        used = self._counter.count(system) + self._counter.count(skeleton)
        packed = pack_commit(
            commit, available=self._budget - used - 32, counter=self._counter, scrub=scrub
        )
        coverage = packed.coverage
        note = (
            f"Part of the commit was omitted: {coverage.files_sent} of {coverage.files_total} "
            f"files and {coverage.lines_sent} of {coverage.lines_total} changed lines are shown."
            if coverage.partial
            else ""
        )
        text = user.render(
            **variables,
            coverage_note=note,
            message=packed.message,
            pull_request=packed.pull_request,
            files=packed.files,
            patch=packed.patch,
        )
        return [{"role": "system", "content": system}, {"role": "user", "content": text}]

    async def answer(
        self, question: str, commit: Commit, item: DigestItem, language: Language
    ) -> str:
        messages = self.build_messages(question, commit, item, language)
        reply = await self._client.complete(
            messages, response_format=None, max_tokens=self._max_output, temperature=0.2
        )
        text = _CONTROL.sub("", (reply.content or "").strip())
        if not text:
            raise AnalysisError("LLM empty answer", detail=f"finish_reason={reply.finish_reason}")
        if len(text) > MAX_ANSWER_CHARS:
            text = text[: MAX_ANSWER_CHARS - 1].rstrip() + "…"
        return text


def build_answerer(settings: Settings) -> tuple[LLMAnswerer, OpenAIClient] | None:
    """The LLM answerer when an API key is set (with its client, to close on shutdown)."""
    if not settings.llm_enabled or settings.openai_api_key is None:
        return None
    client = OpenAIClient.create(
        api_key=settings.openai_api_key.get_secret_value(),
        model=settings.llm_model,
        base_url=settings.openai_base_url,
        timeout=settings.llm_timeout,
        max_retries=settings.llm_max_retries,
    )
    answerer = LLMAnswerer(
        client, counter=default_counter(), input_budget=settings.llm_input_token_budget
    )
    return answerer, client
