"""Signed links of the digests' pages: they open their page until they expire, and nothing else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from hypothesis import given
from hypothesis import strategies as st

from bot.report_links import ReportLinks, index_path, report_path

NOW = datetime(2026, 6, 1, 9, tzinfo=UTC)


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


def links(clock: FakeClock, secret: bytes = b"pages-secret-0123456789") -> ReportLinks:
    return ReportLinks(
        base_url="https://bot.example.com/",
        secret=secret,
        policies={"Acme/Open": "open", "acme/private": "signed"},
        lifetime=timedelta(days=30),
        clock=clock,
    )


def query(url: str) -> tuple[str, str | None, str | None]:
    parts = urlsplit(url)
    values = parse_qs(parts.query)
    return parts.path, values.get("exp", [None])[0], values.get("sig", [None])[0]


def test_a_signed_link_opens_its_page_until_it_expires() -> None:
    clock = FakeClock(NOW)
    made = links(clock)
    url = made.report_url("acme/private", 42)
    assert url.startswith("https://bot.example.com/reports/42?exp=")
    path, exp, sig = query(url)
    assert made.allowed("acme/private", path, exp, sig)
    assert not made.allowed("acme/private", report_path(43), exp, sig)  # another page
    assert not made.allowed("acme/private", path, str(int(exp or 0) + 60), sig)  # longer life
    assert not made.allowed("acme/private", path, exp, None)
    assert not made.allowed("acme/private", path, None, sig)
    assert not made.allowed("acme/private", path, "-1", sig)
    assert not links(clock, b"another-secret-0123456789").allowed("acme/private", path, exp, sig)
    clock.advance(timedelta(days=30, seconds=1))
    assert not made.allowed("acme/private", path, exp, sig)


def test_open_repositories_need_no_signature_and_others_default_to_signed() -> None:
    made = links(FakeClock(NOW))
    assert made.report_url("acme/open", 7) == "https://bot.example.com/reports/7"
    assert made.allowed("ACME/open", report_path(7), None, None)
    assert made.policy("someone/else") == "signed"
    assert not made.allowed("someone/else", report_path(7), None, None)


def test_an_index_link_is_signed_for_its_path_and_survives_a_search() -> None:
    made = links(FakeClock(NOW))
    url = made.index_url("acme/private")
    path, exp, sig = query(url)
    assert path == index_path("acme/private") == "/reports/repo/acme/private"
    assert made.allowed("acme/private", path, exp, sig)  # `?sha=` is not part of it


@given(st.text(max_size=80), st.text(max_size=20), st.text(max_size=80))
def test_no_forged_query_opens_a_signed_page(path: str, exp: str, sig: str) -> None:
    made = links(FakeClock(NOW))
    genuine = query(made.report_url("acme/private", 1))
    if (path, exp, sig) != genuine:
        assert not made.allowed("acme/private", path or "/reports/1", exp, sig)
