"""Model replies made safe: the JSON object extracted, validated, grounded and bounded."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

from bot.analysis.schema import (
    MAX_INSIGHT_CHARS,
    MAX_ITEM_CHARS,
    MAX_ITEMS,
    MAX_SUMMARY_CHARS,
    AnalysisOut,
    InsightsOut,
)
from bot.errors import AnalysisError

MAX_REPLY_CHARS = 200_000  # a reply is bounded by max_tokens; this guards the parser anyway
MAX_OBJECT_STARTS = 50  # how many `{` positions the extractor tries before giving up
_FENCE = re.compile(r"```(?:json|JSON)?\s*\n(.*?)```", re.DOTALL)


def extract_json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in `text`: the whole text, a ```json fence, or one inside prose."""
    text = text[:MAX_REPLY_CHARS].strip().lstrip("\ufeff")
    if not text:
        return None
    candidates = [text]
    candidates.extend(match.group(1) for match in _FENCE.finditer(text))
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except (json.JSONDecodeError, RecursionError):
            continue
        if isinstance(value, dict):
            return value
    decoder = json.JSONDecoder()
    position = text.find("{")
    tries = 0
    while position >= 0 and tries < MAX_OBJECT_STARTS:
        tries += 1
        try:
            value, _ = decoder.raw_decode(text, position)
        except (json.JSONDecodeError, RecursionError):
            value = None
        if isinstance(value, dict):
            return value
        position = text.find("{", position + 1)
    return None


def parse_analysis(content: str | None, finish_reason: str | None) -> AnalysisOut:
    """Validate one reply; AnalysisError's user_message is the short fallback reason and its
    detail the message sent back to the model on the retry."""
    truncated = finish_reason == "length"
    if content is None or not content.strip():
        if truncated:
            raise AnalysisError("truncated", detail=_TRUNCATED)
        raise AnalysisError("empty reply", detail="Your answer was empty.")
    payload = extract_json_object(content)
    if payload is None:
        if truncated:  # a complete object that fits is fine even at the limit
            raise AnalysisError("truncated", detail=_TRUNCATED)
        raise AnalysisError("invalid JSON", detail="Your answer was not a JSON object.")
    try:
        return AnalysisOut.model_validate(payload)
    except ValidationError as exc:
        if truncated:
            raise AnalysisError("truncated", detail=_TRUNCATED) from exc
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'object'}: {err['msg']}"
            for err in exc.errors()[:6]
        )
        detail = f"Your answer did not match the schema: {problems}"[:600]
        raise AnalysisError("schema mismatch", detail=detail) from exc


_TRUNCATED = (
    "Your answer was cut off at the output limit. Answer again, shorter: "
    "at most 3 sentences per field."
)


# SHAs: 7-40 hex characters with at least one digit and one letter (so neither "1234567"
# nor "defaced" counts). PR / issue references: "#123".
_SHA = re.compile(
    r"(?<![0-9A-Za-z])(?=[0-9a-fA-F]*[0-9])(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{7,40}(?![0-9A-Za-z])"
)
_PR_REF = re.compile(r"(?:\b(?:PR|pr|pull request|Pull Request)\s*)?#(\d{1,9})\b")


class Grounding:
    """What a reply may mention: the commit's own SHA (and parents), SHAs and #numbers that
    appear in the commit's own text, and the commit's PR number."""

    def __init__(self, shas: Iterable[str], texts: Iterable[str], prs: Iterable[int]) -> None:
        self._shas = {s.lower() for s in shas if s}
        self._prs = {int(p) for p in prs}
        for text in texts:
            bounded = text[:100_000]
            self._shas.update(m.group(0).lower() for m in _SHA.finditer(bounded))
            self._prs.update(int(m.group(1)) for m in _PR_REF.finditer(bounded))

    def sha_allowed(self, token: str) -> bool:
        token = token.lower()
        return any(full.startswith(token) or token.startswith(full) for full in self._shas)

    def clean(self, text: str) -> str:
        """`text` without SHAs and #numbers that are not the commit's own."""
        text = _SHA.sub(lambda m: m.group(0) if self.sha_allowed(m.group(0)) else "", text)
        text = _PR_REF.sub(lambda m: m.group(0) if int(m.group(1)) in self._prs else "", text)
        return _tidy(text)


def _tidy(text: str) -> str:
    text = re.sub(r"[ \t]{2,}", " ", text)
    text = re.sub(r"\(\s*\)|（\s*）|\[\s*\]", "", text)
    text = re.sub(r" +([,.;:!?，。；：])", r"\1", text)
    return text.strip()


def bound_text(text: str | None, limit: int) -> str | None:
    """Strip, collapse runaway whitespace, and cut at `limit` characters (with an ellipsis)."""
    if text is None:
        return None
    text = re.sub(r"\n{3,}", "\n\n", text.strip())
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text or None


def clean_items(items: Iterable[str], grounding: Grounding) -> tuple[str, ...]:
    cleaned: list[str] = []
    for item in items:
        text = bound_text(grounding.clean(item), MAX_ITEM_CHARS)
        if text and text not in cleaned:
            cleaned.append(text)
        if len(cleaned) >= MAX_ITEMS:
            break
    return tuple(cleaned)


def clean_insights(insights: InsightsOut, grounding: Grounding) -> dict[str, str | None]:
    return {
        name: bound_text(grounding.clean(value), MAX_INSIGHT_CHARS) if value else None
        for name, value in insights.model_dump().items()
    }


def clean_summary(summary: str, grounding: Grounding) -> str:
    return bound_text(grounding.clean(summary), MAX_SUMMARY_CHARS) or ""
