"""The digests' web pages over real HTTP: signed links (good, forged, expired), open
repositories, the index with its search by SHA, and the headers that forbid scripts."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import pytest

from bot.report_links import ReportLinks
from handlers.runtime.http import HttpServer
from handlers.runtime.report_pages import CSP, ReportPages
from tests.data.reference_day import reference_digest
from tests.fakes.chat import build_chat_core, make_widget_repo

SECRET = b"pages-secret-for-the-tests-0123"
REPO = "sgl-project/sglang"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 2, 9, 9, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Site:
    base: str
    links: ReportLinks
    clock: Clock
    ids: list[int]

    def local(self, url: str) -> str:
        """The link as the test server answers it (same path and query, local host)."""
        parts = urlsplit(url)
        return f"{self.base}{parts.path}" + (f"?{parts.query}" if parts.query else "")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    make_widget_repo(tmp_path / "widget")
    config = f'[[repos]]\nname = "{REPO}"\naliases = ["sglang"]\n'
    core = build_chat_core(tmp_path, tmp_path / "widget", extra_config=config)
    clock = Clock()
    links = ReportLinks(
        base_url="https://bot.example.com",
        secret=SECRET,
        policies={"acme/widget": "open"},
        lifetime=timedelta(days=30),
        clock=clock,
    )
    ids = [core.store.save_digest(reference_digest(lang), REPO) for lang in ("zh", "en")]
    ids.append(core.store.save_digest(reference_digest("en"), REPO))  # the same day again
    port = _free_port()
    http = HttpServer("127.0.0.1", port)
    ReportPages(
        store=core.store, links=links, resolver=core.resolver, language="en", index_digests=60
    ).add_routes(http)
    await http.start()
    try:
        yield Site(f"http://127.0.0.1:{port}", links, clock, ids)
    finally:
        await http.stop()
        await core.aclose()


async def fetch(url: str) -> tuple[int, dict[str, str], str]:
    async with aiohttp.ClientSession() as client, client.get(url) as response:
        return response.status, dict(response.headers), await response.text()


async def test_a_signed_link_opens_the_report_with_a_policy_that_forbids_scripts(
    site: Site,
) -> None:
    status, headers, body = await fetch(site.local(site.links.report_url(REPO, site.ids[1])))
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert headers["Content-Security-Policy"] == CSP and "script-src" not in CSP
    assert "default-src 'none'" in CSP
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "<script" not in body.lower() and "00248d8" in body


async def test_forged_expired_and_missing_signatures_get_403(site: Site) -> None:
    url = site.local(site.links.report_url(REPO, site.ids[0]))
    forged = url[:-4] + ("0000" if not url.endswith("0000") else "1111")
    assert (await fetch(forged))[0] == 403
    assert (await fetch(url.split("?")[0]))[0] == 403
    other = url.replace(f"/reports/{site.ids[0]}?", f"/reports/{site.ids[1]}?")
    assert (await fetch(other))[0] == 403  # a link opens its own page only
    site.clock.now += timedelta(days=31)
    status, _, body = await fetch(url)
    assert status == 403 and "expired" in body
    assert (await fetch(f"{site.base}/reports/999999"))[0] == 404


async def test_the_index_lists_each_day_once_and_finds_a_commit_by_sha(site: Site) -> None:
    index = site.local(site.links.index_url(REPO))
    status, headers, body = await fetch(index)
    assert status == 200 and headers["Content-Security-Policy"] == CSP
    # zh and en of the same day are two entries; the en day asked twice is one.
    assert body.count("/reports/" + str(site.ids[2])) >= 1
    assert f"/reports/{site.ids[1]}?" not in body
    status, _, found = await fetch(index + "&sha=00248d8")
    assert status == 200 and f"/reports/{site.ids[2]}" in found
    assert "No digest contains" not in found
    status, _, none = await fetch(index + "&sha=" + "f" * 12)
    assert status == 200 and f"No digest contains {'f' * 12}" in none
    assert (await fetch(index + "&sha=<script>"))[0] == 400
    assert (await fetch(index.split("?")[0]))[0] == 403
    # An index nobody signed is refused whether the repository exists or not (no disclosure).
    assert (await fetch(f"{site.base}/reports/repo/nobody/here"))[0] == 403
    assert (await fetch(f"{site.base}/reports/repo/..%2F/x"))[0] == 404
