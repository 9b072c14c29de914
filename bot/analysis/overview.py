"""The day overview: 2-4 sentences on a digest's highlights, written by the LLM from analyses."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from bot.analysis.llm_client import LLMClient
from bot.analysis.packing import truncate_to_tokens
from bot.analysis.prompt_templates import language_name, render
from bot.analysis.reply import Grounding, bound_text, extract_json_object
from bot.analysis.schema import MAX_OVERVIEW_CHARS, OverviewOut, response_schema_format
from bot.analysis.tokens import TokenCounter
from bot.config import StructuredMode
from bot.errors import DigestbotError
from bot.models import DigestItem, Importance, Language

log = logging.getLogger(__name__)

OVERVIEW_INPUT_BUDGET = 3000
OVERVIEW_MAX_TOKENS = 400
MAX_OVERVIEW_ITEMS = 60
MAX_SENTENCES = 4
_ITEM_SUMMARY_CHARS = 280
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s*")


class OverviewWriter:
    """Asks the model for one paragraph built from per-commit analyses (never the patches)."""

    def __init__(
        self,
        client: LLMClient,
        *,
        structured_mode: StructuredMode,
        counter: TokenCounter,
        semaphore: asyncio.Semaphore,
        boundary: Callable[[], str],
    ) -> None:
        self._client = client
        self._mode: StructuredMode = structured_mode
        self._counter = counter
        self._semaphore = semaphore
        self._boundary = boundary

    async def write(self, items: Sequence[DigestItem], language: Language) -> str | None:
        """The paragraph, or None (nothing to say, or the model failed: the caller falls back)."""
        if not items:
            return None
        boundary = self._boundary()
        stats = {i: sum(1 for it in items if it.analysis.importance is i) for i in Importance}
        values: dict[str, Any] = {
            "repo": items[0].commit.repo,
            "boundary": boundary,
            "language": language,
            "language_name": language_name(language),
            "total": len(items),
            "high": stats[Importance.HIGH],
            "medium": stats[Importance.MEDIUM],
            "low": stats[Importance.LOW],
        }
        skeleton = render("overview.j2", **values, analyses="")
        available = OVERVIEW_INPUT_BUDGET - self._counter.count(skeleton) - 16
        lines = "\n".join(_item_line(item) for item in _ranked(items)[:MAX_OVERVIEW_ITEMS])
        lines = truncate_to_tokens(lines.replace(boundary, ""), available, self._counter)
        system, _, user = render("overview.j2", **values, analyses=lines).partition("=== user ===")
        messages = [
            {"role": "system", "content": system.strip()},
            {"role": "user", "content": user.strip()},
        ]
        try:
            async with self._semaphore:
                reply = await self._client.complete(
                    messages,
                    response_format=self._response_format(),
                    max_tokens=OVERVIEW_MAX_TOKENS,
                    temperature=0.2,
                )
        except DigestbotError as exc:
            log.warning("LLM overview failed: %s", exc)
            return None
        if reply.refusal or reply.finish_reason == "length" or not reply.content:
            log.info("LLM overview unusable (finish_reason=%s)", reply.finish_reason)
            return None
        payload = extract_json_object(reply.content)
        try:
            text = OverviewOut.model_validate(payload).overview if payload else None
        except ValidationError:
            text = None
        if not text:
            return None
        grounding = Grounding(
            shas=(it.commit.sha for it in items),
            texts=(it.commit.title for it in items),
            prs=(it.pr_number for it in items if it.pr_number is not None),
        )
        text = _first_sentences(grounding.clean(" ".join(text.split())))
        return bound_text(text, MAX_OVERVIEW_CHARS)

    def _response_format(self) -> Mapping[str, Any] | None:
        if self._mode == "json_schema":
            return response_schema_format(OverviewOut, "day_overview")
        if self._mode == "json_object":
            return {"type": "json_object"}
        return None


def _ranked(items: Sequence[DigestItem]) -> list[DigestItem]:
    return sorted(items, key=lambda it: it.analysis.importance.rank)


def _item_line(item: DigestItem) -> str:
    analysis = item.analysis
    title = " ".join(item.commit.title.split())[:160]
    summary = " ".join(analysis.summary.split())[:_ITEM_SUMMARY_CHARS]
    return f"- [{analysis.importance.value}] {analysis.change_type.value}: {title} — {summary}"


def _first_sentences(text: str) -> str:
    sentences = [s for s in _SENTENCE_END.split(text) if s.strip()]
    if len(sentences) <= MAX_SENTENCES:
        return text
    kept = sentences[:MAX_SENTENCES]
    # Chinese sentences end in full-width punctuation and take no space between them.
    return "".join(s + ("" if s[-1] in "。！？" else " ") for s in kept).strip()
