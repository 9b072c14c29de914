"""Model replies made safe: the JSON object extracted, validated, grounded and bounded."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from bot.analysis.base import AnalysisContext
from bot.analysis.components import derive_scope, ground_scope
from bot.analysis.schema import (
    MAX_CLOSING_CHARS,
    MAX_DETAIL_CHARS,
    MAX_ITEM_CHARS,
    MAX_ITEMS,
    MAX_NOTE_CHARS,
    MAX_POINT_CHARS,
    MAX_POINTS,
    MAX_SCOPE_ITEMS,
    MAX_SUMMARY_CHARS,
    MAX_TITLE_CHARS,
    AnalysisOut,
)
from bot.errors import AnalysisError
from bot.models import (
    INSIGHT_DIMENSIONS,
    AnalysisProvenance,
    Commit,
    CommitAnalysis,
    Coverage,
    Insights,
    Language,
)

T = TypeVar("T", bound=BaseModel)
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
    """Validate one analysis reply (see `parse_reply`)."""
    return parse_reply(content, finish_reason, AnalysisOut)


def parse_reply(content: str | None, finish_reason: str | None, model: type[T]) -> T:
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
        return model.model_validate(payload)
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
    # Brackets emptied by a removed reference go; a call like `get_device()` keeps its own.
    text = re.sub(r"(?<![\w)\]])(?:\(\s*\)|\[\s*\])|（\s*）", "", text)
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


def clean_summary(summary: str, grounding: Grounding) -> str:
    return bound_text(grounding.clean(summary), MAX_SUMMARY_CHARS) or ""


def _one_line(text: str, grounding: Grounding, limit: int) -> str:
    return bound_text(" ".join(grounding.clean(text).split()), limit) or ""


def insight_points(points: Iterable[str], grounding: Grounding) -> str | None:
    """Up to MAX_POINTS points as "• " lines (the neutral model's convention), or None."""
    kept: list[str] = []
    for point in points:
        text = _one_line(point, grounding, MAX_POINT_CHARS).lstrip("•-* ").strip()
        if text and text not in kept:
            kept.append(text)
        if len(kept) >= MAX_POINTS:
            break
    return "\n".join(f"• {text}" for text in kept) or None


def titled(
    pairs: Iterable[tuple[str, str]], grounding: Grounding, language: Language
) -> tuple[str, ...]:
    """ "title：text" items (the colon of the language), bounded and deduplicated."""
    colon = "：" if language == "zh" else ": "
    items: list[str] = []
    for title, text in pairs:
        head = _one_line(title, grounding, MAX_TITLE_CHARS).strip(" *:：")
        body = bound_text(grounding.clean(text), MAX_ITEM_CHARS) or ""
        if not body and not head:
            continue
        joined = f"{head}{colon}{body}" if head and body else (body or head)
        if joined not in items:
            items.append(joined)
        if len(items) >= MAX_ITEMS:
            break
    return tuple(items)


@dataclass(frozen=True)
class ReadFacts:
    """What the analyzer knows about the read behind a reply (for its provenance)."""

    model: str
    prompt_version: str
    coverage: Coverage
    prompt_tokens: int
    completion_tokens: int
    triaged: bool
    depth: str
    calls: int
    reduced: bool = False


def to_analysis(
    out: AnalysisOut, commit: Commit, context: AnalysisContext, read: ReadFacts
) -> CommitAnalysis:
    """The model's reply as a CommitAnalysis: grounded, bounded, in the neutral conventions."""
    pr = commit.pr
    grounding = Grounding(
        shas=(commit.sha, *commit.parents),
        texts=(commit.message, pr.title if pr else "", pr.body if pr else ""),
        prs=(commit.pr_number,) if commit.pr_number is not None else (),
    )
    notes: dict[str, str] = {}
    for entry in out.scope:
        grounded = ground_scope((entry.path,), commit, context.components)
        if grounded and grounded[0] not in notes:
            notes[grounded[0]] = _one_line(entry.note, grounding, MAX_NOTE_CHARS)
    scope = tuple(notes)[:MAX_SCOPE_ITEMS]
    if not scope:  # an entirely ungrounded scope is replaced by the one derived from the paths
        scope = derive_scope(commit, context.components)
    insights = Insights(
        **{
            name: insight_points(getattr(out.insights, name), grounding)
            for name in INSIGHT_DIMENSIONS
        }
    )
    detail = _one_line(out.change_type_detail, grounding, MAX_DETAIL_CHARS).strip("（）()")
    return CommitAnalysis(
        sha=commit.sha,
        change_type=out.change_type,
        change_type_detail=detail or None,
        importance=out.importance,
        summary=clean_summary(out.summary, grounding) or commit.title[:200],
        scope=scope,
        scope_notes=tuple(notes.get(entry, "") for entry in scope),
        insights=insights,
        risks=titled(((r.title, r.detail) for r in out.risks), grounding, context.language),
        recommendations=titled(
            ((a.area, a.advice) for a in out.recommendations), grounding, context.language
        ),
        closing=bound_text(grounding.clean(out.closing), MAX_CLOSING_CHARS),
        provenance=AnalysisProvenance(
            analyzer="llm",
            model=read.model,
            prompt_version=read.prompt_version,
            language=context.language,
            coverage=read.coverage,
            prompt_tokens=read.prompt_tokens,
            completion_tokens=read.completion_tokens,
            triaged=read.triaged,
            depth=read.depth,  # type: ignore[arg-type]
            calls=read.calls,
            reduced=read.reduced,
        ),
    )
