"""Links to the digests' web pages: open, or signed with an HMAC and an expiry (per repository).

A signed link carries `exp` (Unix seconds) and `sig` = HMAC-SHA256(secret, "<path>\\n<exp>") in
hex; the page answers 403 to a missing, forged or expired signature. The signature covers the
path only, so the index's search form may add `?sha=` without invalidating it.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Literal
from urllib.parse import quote, urlencode

PagePolicy = Literal["open", "signed"]

REPORTS_PREFIX = "/reports"


def report_path(digest_id: int) -> str:
    return f"{REPORTS_PREFIX}/{digest_id}"


def index_path(repo: str) -> str:
    """`/reports/repo/<owner>/<name>` (each part percent-encoded)."""
    return f"{REPORTS_PREFIX}/repo/" + "/".join(quote(part, safe="") for part in repo.split("/"))


class ReportLinks:
    """Builds and checks the links of digest pages and repository indexes."""

    def __init__(
        self,
        *,
        base_url: str,
        secret: bytes,
        policies: Mapping[str, PagePolicy],
        lifetime: timedelta,
        clock: Callable[[], datetime],
    ) -> None:
        self._base = base_url.rstrip("/")
        self._secret = secret
        self._policies = {name.lower(): policy for name, policy in policies.items()}
        self._lifetime = lifetime
        self._clock = clock

    def policy(self, repo: str) -> PagePolicy:
        """ "open" only for repositories configured so; everything else is signed."""
        return self._policies.get(repo.lower(), "signed")

    def report_url(self, repo: str, digest_id: int) -> str:
        return self._url(repo, report_path(digest_id))

    def index_url(self, repo: str) -> str:
        return self._url(repo, index_path(repo))

    def signed_query(self, path: str) -> dict[str, str]:
        """The `exp` and `sig` parameters that open `path` until the link expires."""
        expires = int((self._clock() + self._lifetime).timestamp())
        return {"exp": str(expires), "sig": self._signature(path, expires)}

    def allowed(self, repo: str, path: str, exp: str | None, sig: str | None) -> bool:
        """May this request see `path` (a page of `repo`)?"""
        if self.policy(repo) == "open":
            return True
        if not exp or not sig or not exp.isdigit() or len(exp) > 12:
            return False
        expected = self._signature(path, int(exp))
        if not hmac.compare_digest(expected, sig.strip().lower()):
            return False
        return int(exp) >= int(self._clock().timestamp())

    def _url(self, repo: str, path: str) -> str:
        if self.policy(repo) == "open":
            return f"{self._base}{path}"
        return f"{self._base}{path}?{urlencode(self.signed_query(path))}"

    def _signature(self, path: str, expires: int) -> str:
        message = f"{path}\n{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()
