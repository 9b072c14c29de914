"""Digest -> stable JSON (ISO-8601 times with offsets, UTF-8 text, fixed key order)."""

from __future__ import annotations

import contextlib
import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.models import INSIGHT_DIMENSIONS, ChangeFacts, CommitAnalysis, Digest, DigestItem, Window
from formatters.text_safety import RepoLinks

SCHEMA_VERSION = 2  # 2: change-type detail, scope notes, closing, facts, read depth


def _iso(moment: datetime, tz: str | None = None) -> str:
    """ISO-8601 with its UTC offset, in `tz` when that is a known zone."""
    if tz:
        # An unknown zone keeps the moment's own offset rather than failing a whole export.
        with contextlib.suppress(ZoneInfoNotFoundError, ValueError):
            moment = moment.astimezone(ZoneInfo(tz))
    return moment.isoformat()


def _window(window: Window) -> dict[str, Any]:
    return {
        "start": _iso(window.start, window.tz),
        "end": _iso(window.end, window.tz),
        "tz": window.tz,
        "label": window.label,
        "title": window.title,
    }


def _analysis_provenance(analysis: CommitAnalysis) -> dict[str, Any]:
    provenance = analysis.provenance
    coverage = provenance.coverage
    return {
        "analyzer": provenance.analyzer,
        "model": provenance.model,
        "prompt_version": provenance.prompt_version,
        "language": provenance.language,
        "coverage": {
            "files_total": coverage.files_total,
            "files_sent": coverage.files_sent,
            "lines_total": coverage.lines_total,
            "lines_sent": coverage.lines_sent,
            "omitted_paths": list(coverage.omitted_paths),
            "partial": coverage.partial,
        },
        "fallback_reason": provenance.fallback_reason,
        "prompt_tokens": provenance.prompt_tokens,
        "completion_tokens": provenance.completion_tokens,
        "triaged": provenance.triaged,
        "depth": provenance.depth,
        "calls": provenance.calls,
        "reduced": provenance.reduced,
        "rule": provenance.rule,
        "rule_reason": provenance.rule_reason,
    }


def _analysis(analysis: CommitAnalysis) -> dict[str, Any]:
    insights = analysis.insights
    return {
        "change_type": analysis.change_type.value,
        "change_type_detail": analysis.change_type_detail,
        "importance": analysis.importance.value,
        "summary": analysis.summary,
        "scope": list(analysis.scope),
        "scope_notes": [note for _, note in analysis.scope_entries()],
        "insights": {name: getattr(insights, name) for name in INSIGHT_DIMENSIONS},
        "risks": list(analysis.risks),
        "recommendations": list(analysis.recommendations),
        "closing": analysis.closing,
        "provenance": _analysis_provenance(analysis),
    }


def _facts(facts: ChangeFacts | None) -> dict[str, Any] | None:
    """The change facts as plain data (computed from the whole diff, without an LLM)."""
    return None if facts is None else facts.model_dump(mode="json")


def item_dict(
    item: DigestItem, *, repo: str = "", repo_url: str = "", tz: str | None = None
) -> dict[str, Any]:
    """One digest item as a JSON-ready dict; links are built from the repository's address."""
    links = RepoLinks.for_repo(repo or item.commit.repo, repo_url)
    commit = item.commit
    return {
        "sha": commit.sha,
        "short_sha": commit.short_sha,
        "title": commit.title,
        "author": commit.author,
        "committed_at": _iso(commit.committed_at, tz),
        "url": links.commit(commit.sha),
        "pr_number": item.pr_number,
        "pr_url": links.pull(item.pr_number),
        "files_changed": item.files_changed,
        "additions": item.additions,
        "deletions": item.deletions,
        **_analysis(item.analysis),
        "facts": _facts(item.facts),
    }


def digest_dict(digest: Digest) -> dict[str, Any]:
    """The whole digest as a JSON-ready dict with a fixed key order."""
    stats = digest.stats
    provenance = digest.provenance
    return {
        "schema_version": SCHEMA_VERSION,
        "repo": digest.repo,
        "repo_url": RepoLinks.for_repo(digest.repo, digest.repo_url).base,
        "window": _window(digest.window),
        "language": digest.language,
        "stats": {
            "total": stats.total,
            "high": stats.high,
            "medium": stats.medium,
            "low": stats.low,
        },
        "overview": digest.overview,
        "items": [
            item_dict(item, repo=digest.repo, repo_url=digest.repo_url, tz=digest.window.tz)
            for item in digest.items
        ],
        "provenance": {
            "generated_at": _iso(provenance.generated_at, digest.window.tz),
            "analyzers": list(provenance.analyzers),
            "model": provenance.model,
            "prompt_version": provenance.prompt_version,
            "llm_analyses": provenance.llm_analyses,
            "heuristic_analyses": provenance.heuristic_analyses,
            "fallbacks": provenance.fallbacks,
            "partial_analyses": provenance.partial_analyses,
            "prompt_tokens": provenance.prompt_tokens,
            "completion_tokens": provenance.completion_tokens,
            "excluded_commits": provenance.excluded_commits,
            "token_ceiling": provenance.token_ceiling,
            "reduced_analyses": provenance.reduced_analyses,
            "llm_call_ceiling": provenance.llm_call_ceiling,
            "capped_analyses": provenance.capped_analyses,
        },
    }


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2) + "\n"


def render_json(digest: Digest) -> str:
    """The digest as stable, pretty-printed JSON text (ends with a newline)."""
    return _dump(digest_dict(digest))


def render_json_many(digests: list[Digest]) -> str:
    """Several digests as one JSON array."""
    return _dump([digest_dict(digest) for digest in digests])


def render_commit_json(
    item: DigestItem, *, repo: str = "", repo_url: str = "", tz: str | None = None
) -> str:
    """One commit's identity and full analysis as JSON text."""
    return _dump(item_dict(item, repo=repo, repo_url=repo_url, tz=tz))
