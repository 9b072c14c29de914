"""`GET /reports/<id>` and `GET /reports/repo/<owner>/<name>`: the digests' web pages and each
repository's index (recent days, severity counts, search by SHA), open or behind signed links.

Every answer carries a Content-Security-Policy that forbids scripts and every external load
(the pages need neither), `nosniff`, no referrer and no framing.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from datetime import timedelta

from aiohttp import web

from bot.errors import DigestbotError
from bot.models import Digest, DigestItem, DigestStats, Language, Window
from bot.report_links import REPORTS_PREFIX, ReportLinks
from bot.repos import RepoResolver
from bot.storage.base import Store
from formatters.html_index import IndexEntry, render_html_index
from formatters.html_report import render_html_report
from formatters.week_chart import render_week_chart, week_summary
from handlers.runtime.http import HttpServer

log = logging.getLogger(__name__)

CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "private, max-age=300",
}
WEEK = timedelta(days=7)
CHARTS_KEPT = 64  # index charts kept in memory (one per repository and language is enough)
_SHA = re.compile(r"^[0-9a-fA-F]{7,40}$")
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


class ReportPages:
    """The pages' routes over the store of saved digests."""

    def __init__(
        self,
        *,
        store: Store,
        links: ReportLinks,
        resolver: RepoResolver,
        language: Language,
        index_digests: int,
    ) -> None:
        self._store = store
        self._links = links
        self._resolver = resolver
        self._language = language
        self._limit = index_digests
        # The index's chart per (repository, newest digest id, language): drawing it costs
        # ~0.1-0.3 s of CPU, and it only changes when a new digest is saved.
        self._charts: dict[tuple[str, int, str], str | None] = {}

    def add_routes(self, http: HttpServer) -> None:
        http.add_route("GET", REPORTS_PREFIX + r"/{digest_id:\d{1,18}}", self.report)
        http.add_route("GET", REPORTS_PREFIX + "/repo/{owner}/{name}", self.index)

    async def report(self, request: web.Request) -> web.Response:
        digest_id = int(request.match_info["digest_id"])
        try:
            digest = await asyncio.to_thread(self._store.get_digest, digest_id)
        except DigestbotError as exc:
            log.warning("report %s: %s", digest_id, exc)
            return _text(503, "The reports are unavailable right now; try again later.")
        if digest is None:
            return _text(404, "No such report.")
        if not self._allowed(request, digest.repo):
            return _text(403, "This link is not valid (or has expired); ask the bot for a new one.")
        page = await asyncio.to_thread(render_html_report, digest)
        return _html(page)

    async def index(self, request: web.Request) -> web.Response:
        owner, name = request.match_info["owner"], request.match_info["name"]
        if not (_NAME.match(owner) and _NAME.match(name)):
            return _text(404, "No such repository.")
        try:
            repo = self._resolver.resolve(f"{owner}/{name}")
        except DigestbotError:
            return _text(404, "No such repository.")
        if not self._allowed(request, repo.name):
            return _text(403, "This link is not valid (or has expired); ask the bot for a new one.")
        query = request.query.get("sha", "").strip()
        if query and not _SHA.match(query):
            return _text(400, "Search by a commit SHA: 7 to 40 hexadecimal characters.")
        try:
            saved = await asyncio.to_thread(self._store.recent_digests, repo.key, self._limit)
        except DigestbotError as exc:
            log.warning("index of %s: %s", repo.name, exc)
            return _text(503, "The reports are unavailable right now; try again later.")
        days = _days(saved)
        entries = [self._entry(repo.name, digest_id, digest) for digest_id, digest in days]
        matches = None
        if query:
            prefix = query.lower()
            matches = [
                self._entry(repo.name, digest_id, digest)
                for digest_id, digest in days
                if any(item.commit.sha.startswith(prefix) for item in digest.items)
            ]
        hidden = {k: v for k, v in request.query.items() if k in {"exp", "sig"}}
        language = days[0][1].language if days else self._language
        chart = await self._chart(repo.key, days, language)
        page = await asyncio.to_thread(
            render_html_index,
            repo.name,
            entries,
            language=language,
            query=query or None,
            matches=matches,
            chart_svg=chart,
            search_action=request.path,
            hidden=hidden,
        )
        return _html(page)

    async def _chart(
        self, repo_key: str, days: Sequence[tuple[int, Digest]], language: Language
    ) -> str | None:
        if not days:
            return None
        key = (repo_key, days[0][0], language)
        if key not in self._charts:
            week = _week([digest for _, digest in days], language)
            chart = await asyncio.to_thread(_chart_svg, week) if week is not None else None
            if len(self._charts) >= CHARTS_KEPT:
                self._charts.pop(next(iter(self._charts)))  # the oldest entry
            self._charts[key] = chart
        return self._charts[key]

    def _allowed(self, request: web.Request, repo: str) -> bool:
        return self._links.allowed(
            repo, request.path, request.query.get("exp"), request.query.get("sig")
        )

    def _entry(self, repo: str, digest_id: int, digest: Digest) -> IndexEntry:
        return IndexEntry(
            label=digest.window.title,
            first_day=digest.window.first_day,
            last_day=digest.window.last_day,
            high=digest.stats.high,
            medium=digest.stats.medium,
            low=digest.stats.low,
            url=self._links.report_url(repo, digest_id),
            generated_at=digest.provenance.generated_at,
            tz=digest.window.tz,
        )


def _days(saved: Sequence[tuple[int, Digest]]) -> list[tuple[int, Digest]]:
    """The newest digest of each window and language (a day asked for twice is listed once);
    alerts' one-card digests are not days."""
    seen: set[tuple[str, str, str]] = set()
    days: list[tuple[int, Digest]] = []
    for digest_id, digest in saved:
        window = digest.window
        key = (window.start.isoformat(), window.end.isoformat(), digest.language)
        if window.label == "alert" or key in seen:
            continue
        seen.add(key)
        days.append((digest_id, digest))
    return days


def _week(digests: Sequence[Digest], language: Language) -> Digest | None:
    """The last seven days before the newest digest's end, from the saved days of the index's
    language (each commit once): what the index's chart shows."""
    mine = [d for d in digests if d.language == language]
    if not mine:
        return None
    newest = mine[0]
    end = max(d.window.end for d in mine)
    start = end - WEEK
    items: dict[str, DigestItem] = {}
    for digest in mine:
        if digest.window.start >= start:
            for item in digest.items:
                items.setdefault(item.commit.sha, item)
    kept = tuple(items.values())
    return newest.model_copy(
        update={
            "window": Window(start=start, end=end, tz=newest.window.tz, label="week"),
            "items": kept,
            "stats": DigestStats.of(kept),
        }
    )


def _chart_svg(week: Digest) -> str:
    """Our own chart renderer's SVG (no scripts, no external references: see its tests)."""
    return render_week_chart(week_summary(week), fmt="svg").data.decode("utf-8")


def _html(page: str) -> web.Response:
    return web.Response(text=page, content_type="text/html", charset="utf-8", headers=HEADERS)


def _text(status: int, message: str) -> web.Response:
    return web.Response(status=status, text=message, content_type="text/plain", headers=HEADERS)
