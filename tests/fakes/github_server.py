"""A fake GitHub REST API on 127.0.0.1 that speaks the wire format PyGithub reads.

`FakeGitHub` holds repositories, commits and pull requests in memory and serves:

- `GET {prefix}/repos/{o}/{r}`                       repository JSON
- `GET {prefix}/repos/{o}/{r}/commits`               list, `sha since until per_page page`, Link
- `GET {prefix}/repos/{o}/{r}/commits/{ref}`         detail (full SHA, prefix or branch), files
                                                     paginated at `per_page` (≤ 300) with Link,
                                                     at most 3000 files; `Accept:
                                                     application/vnd.github.sha` answers the SHA
- `GET {prefix}/repos/{o}/{r}/commits/{sha}/pulls`   associated pull requests
- `GET {prefix}/rate_limit`

Every response carries the x-ratelimit-* headers. The SHA media type answers with an ETag,
and `If-None-Match` on an unchanged ref gets a 304 that is not charged (`charged` counts the
rest). Failures are scripted with `fail_next(...)`;
every request is recorded (`requests`), and `max_in_flight` shows how many were served at once.
`prefix` is "" for github.com-style URLs or e.g. "/api/v3" for GitHub Enterprise. All URLs in
the JSON point at the server's own base, because PyGithub follows them.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from tests.fakes.github_payloads import (
    FakeCommit,
    FakeFile,
    FakePull,
    FakeRepo,
    Payloads,
    failure_response,
    iter_files,
    utc,
)
from tests.fakes.http_fake import LocalHttpFake, send_bytes

# https://docs.github.com/en/rest/commits/commits#get-a-commit: at most 3000 files, 300 per page.
MAX_FILES = 3000
MAX_FILES_PER_PAGE = 300
RATE_LIMIT = 5000


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str  # without the prefix and the query
    query: dict[str, str]
    headers: dict[str, str]


@dataclass
class _Failure:
    kind: str
    retry_after: int | None
    reset_at: int | None
    path_contains: str | None
    after: int = 0


def _parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class FakeGitHub(LocalHttpFake):
    """A threaded fake of the GitHub REST API; use as a context manager (starts and stops it)."""

    def __init__(self, *, prefix: str = "", latency: float = 0.0) -> None:
        super().__init__()
        self.prefix = prefix.rstrip("/")
        self.latency = latency
        self.repos: dict[str, FakeRepo] = {}
        self.requests: list[RecordedRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.remaining = RATE_LIMIT
        self.charged = 0  # requests that counted against the rate limit (not 304s)
        self._failures: list[_Failure] = []
        self._lock = threading.Lock()
        self._counter = 0

    # -- lifecycle -------------------------------------------------------------------------------

    def stop(self) -> None:
        self.close()
        self._server = None

    @property
    def url(self) -> str:
        """The API base URL to configure (GITHUB_API_URL)."""
        return f"{self.origin}{self.prefix}"

    @property
    def payloads(self) -> Payloads:
        return Payloads(api=self.url, origin=self.origin)

    def web_url(self, full_name: str) -> str:
        return f"{self.origin}/{full_name}"

    # -- model -----------------------------------------------------------------------------------

    def add_repo(self, full_name: str, *, default_branch: str = "main") -> FakeRepo:
        repo = FakeRepo(full_name=full_name, default_branch=default_branch)
        repo.branches[default_branch] = []
        self.repos[full_name] = repo
        return repo

    def add_commit(
        self,
        full_name: str,
        message: str,
        *,
        committed_at: datetime,
        sha: str | None = None,
        authored_at: datetime | None = None,
        author: str = "Dev Eloper",
        author_email: str = "dev@example.com",
        author_login: str | None = "dev",
        committer: str | None = None,
        committer_login: str | None = "web-flow",
        parents: list[str] | None = None,
        files: list[FakeFile] | None = None,
        pulls: list[FakePull] | None = None,
        branch: str | None = None,
    ) -> FakeCommit:
        """Add a commit on top of `branch` (default branch); its parent defaults to the old head."""
        repo = self.repos.get(full_name) or self.add_repo(full_name)
        branch_name = branch or repo.default_branch
        history = repo.branches.setdefault(branch_name, [])
        if sha is None:
            self._counter += 1
            sha = hashlib.sha1(f"{full_name}:{self._counter}:{message}".encode()).hexdigest()
        if parents is None:
            parents = [history[0]] if history else []
        commit = FakeCommit(
            sha=sha,
            message=message,
            author_name=author,
            author_email=author_email,
            author_login=author_login,
            authored_at=authored_at or committed_at,
            committer_name=committer or author,
            committer_email=author_email,
            committer_login=committer_login,
            committed_at=committed_at,
            parents=parents,
            files=files if files is not None else [FakeFile("README.md")],
            pulls=pulls or [],
        )
        repo.commits[sha] = commit
        history.insert(0, sha)
        return commit

    # -- scripting and recording -----------------------------------------------------------------

    def fail_next(
        self,
        kind: str,
        count: int = 1,
        *,
        retry_after: int | None = None,
        reset_at: int | None = None,
        path_contains: str | None = None,
        after: int = 0,
    ) -> None:
        """Answer the next `count` matching requests with a failure instead of the real answer.

        kinds: "rate_limit" (403, x-ratelimit-remaining 0, x-ratelimit-reset=`reset_at`),
        "secondary" (403 secondary rate limit with Retry-After), "429" (Retry-After),
        "401", "403" (forbidden, not a rate limit), "404", "garbage" (200 with a truncated JSON
        body), or any other status ("409", "500", ...).
        Only requests whose path contains `path_contains` match; the first `after` matching
        requests are answered normally.
        """
        with self._lock:
            for i in range(count):
                skip = after if i == 0 else 0
                self._failures.append(_Failure(kind, retry_after, reset_at, path_contains, skip))

    def reset_requests(self) -> None:
        with self._lock:
            self.requests.clear()
            self.max_in_flight = 0

    def count(self, path_prefix: str = "", *, exact: bool = False) -> int:
        """How many recorded requests had this path (prefix) — paths exclude the API prefix."""
        return sum(
            1
            for r in self.requests
            if (r.path == path_prefix if exact else r.path.startswith(path_prefix))
        )

    def _take_failure(self, path: str) -> _Failure | None:
        with self._lock:
            for index, failure in enumerate(self._failures):
                if failure.path_contains is None or failure.path_contains in path:
                    if failure.after > 0:
                        failure.after -= 1
                        return None
                    return self._failures.pop(index)
        return None

    # -- JSON shapes (https://docs.github.com/en/rest/commits/commits) ---------------------------
    # -- routing ---------------------------------------------------------------------------------

    def find_commit(self, repo: FakeRepo, ref: str) -> list[FakeCommit]:
        if ref == "HEAD":
            ref = repo.default_branch
        if ref in repo.branches:
            head = repo.branches[ref]
            return [repo.commits[head[0]]] if head else []
        return [c for sha, c in repo.commits.items() if sha.startswith(ref.lower())]

    def _page_links(self, path: str, query: dict[str, str], page: int, last: int) -> str | None:
        links = []
        if page < last:
            links.append((page + 1, "next"))
            links.append((last, "last"))
        if page > 1:
            links.append((1, "first"))
            links.append((page - 1, "prev"))
        if not links:
            return None
        return ", ".join(
            f'<{self.url}{path}?{urlencode({**query, "page": str(n)})}>; rel="{rel}"'
            for n, rel in links
        )

    def handle(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str]
    ) -> tuple[int, dict[str, str], Any]:
        """(status, extra headers, body) for one request; body is JSON-able or a str."""
        if method != "GET":
            return 404, {}, {"message": "Not Found"}
        if path == "/rate_limit":
            core = self._rate_core()
            return 200, {}, {"resources": {"core": core}, "rate": core}
        parts = path.strip("/").split("/")
        if len(parts) < 3 or parts[0] != "repos":
            return 404, {}, {"message": "Not Found"}
        repo = self.repos.get(f"{parts[1]}/{parts[2]}")
        if repo is None:
            return 404, {}, {"message": "Not Found"}
        rest = parts[3:]
        if not rest:
            return 200, {}, self.payloads.repo_json(repo)
        if rest == ["commits"]:
            return self._list_commits(repo, path, query)
        if len(rest) == 2 and rest[0] == "commits":
            return self._get_commit(repo, rest[1], path, query, headers)
        if len(rest) == 3 and rest[0] == "commits" and rest[2] == "pulls":
            found = self.find_commit(repo, rest[1])
            if len(found) != 1:
                return 422, {}, {"message": f"No commit found for SHA: {rest[1]}"}
            return 200, {}, [self.payloads.pull_json(repo, p) for p in found[0].pulls]
        return 404, {}, {"message": "Not Found"}

    def _list_commits(
        self, repo: FakeRepo, path: str, query: dict[str, str]
    ) -> tuple[int, dict[str, str], Any]:
        ref = query.get("sha") or repo.default_branch
        if ref in repo.branches:
            shas = repo.branches[ref]
        else:
            found = self.find_commit(repo, ref)
            if not found:
                return 404, {}, {"message": f"No commit found for SHA: {ref}"}
            shas = self._ancestry(repo, found[0].sha)
        commits = [repo.commits[s] for s in shas]
        # GitHub's since/until are both inclusive on the committer date.
        if "since" in query:
            since = _parse_iso(query["since"])
            commits = [c for c in commits if c.committed_at >= since]
        if "until" in query:
            until = _parse_iso(query["until"])
            commits = [c for c in commits if c.committed_at <= until]
        commits.sort(key=lambda c: c.committed_at, reverse=True)
        per_page = max(1, min(100, int(query.get("per_page", "30"))))
        page = max(1, int(query.get("page", "1")))
        last = max(1, -(-len(commits) // per_page))
        chunk = commits[(page - 1) * per_page : page * per_page]
        link = self._page_links(path, query, page, last)
        items = [self.payloads.commit_json(repo, c) for c in chunk]
        return 200, {"Link": link} if link else {}, items

    def _ancestry(self, repo: FakeRepo, sha: str) -> list[str]:
        seen: list[str] = []
        todo = [sha]
        while todo:
            current = todo.pop(0)
            if current in seen or current not in repo.commits:
                continue
            seen.append(current)
            todo.extend(repo.commits[current].parents)
        return seen

    def _get_commit(
        self, repo: FakeRepo, ref: str, path: str, query: dict[str, str], headers: dict[str, str]
    ) -> tuple[int, dict[str, str], Any]:
        found = self.find_commit(repo, ref)
        if not found:
            return 404, {}, {"message": f"No commit found for SHA: {ref}", "status": "404"}
        if len(found) > 1:
            return 422, {}, {"message": f"The SHA {ref} is ambiguous.", "status": "422"}
        commit = found[0]
        if headers.get("accept", "").startswith("application/vnd.github.sha"):
            # A conditional request on an unchanged ref answers 304 with no body, which
            # GitHub does not count against the rate limit.
            etag = f'"{hashlib.sha256(commit.sha.encode()).hexdigest()[:32]}"'
            if headers.get("if-none-match") == etag:
                return 304, {"ETag": etag}, b""
            kind = "application/vnd.github.sha; charset=utf-8"
            return 200, {"Content-Type": kind, "ETag": etag}, commit.sha
        body = self.payloads.commit_json(repo, commit)
        visible = commit.files[:MAX_FILES]
        body["stats"] = {
            "total": sum(f.additions + f.deletions for f in commit.files),
            "additions": sum(f.additions for f in commit.files),
            "deletions": sum(f.deletions for f in commit.files),
        }
        per_page = max(1, min(MAX_FILES_PER_PAGE, int(query.get("per_page", "300"))))
        page = max(1, int(query.get("page", "1")))
        last = max(1, -(-len(visible) // per_page))
        body["files"] = [
            self.payloads.file_json(repo, commit, f)
            for f in visible[(page - 1) * per_page : page * per_page]
        ]
        link = self._page_links(path, query, page, last)
        return 200, {"Link": link} if link else {}, body

    def _rate_core(self) -> dict[str, int]:
        reset = int(time.time()) + 3600
        return {
            "limit": RATE_LIMIT,
            "remaining": self.remaining,
            "reset": reset,
            "used": RATE_LIMIT - self.remaining,
        }

    # -- serving ---------------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        split = urlsplit(handler.path)
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        headers = {k.lower(): v for k, v in handler.headers.items()}
        path = split.path
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.latency:
                time.sleep(self.latency)
            extra: dict[str, str]
            if not path.startswith(self.prefix + "/"):
                status, extra, body = 404, {}, {"message": "Not Found"}
                relative = path
            else:
                relative = path[len(self.prefix) :]
                with self._lock:
                    self.requests.append(RecordedRequest(method, relative, query, headers))
                failure = self._take_failure(relative)
                if failure is not None:
                    status, extra, body = failure_response(
                        failure.kind, failure.retry_after, failure.reset_at
                    )
                else:
                    status, extra, body = self.handle(method, relative, query, headers)
            self._send(handler, status, extra, body)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _send(
        self, handler: BaseHTTPRequestHandler, status: int, extra: dict[str, str], body: Any
    ) -> None:
        if isinstance(body, bytes):
            payload = body
            content_type = "text/plain"
        elif isinstance(body, str):
            payload = body.encode()
            content_type = "text/plain; charset=utf-8"
        else:
            payload = json.dumps(body).encode()
            content_type = "application/json; charset=utf-8"
        with self._lock:
            if self.remaining > 0 and status < 400 and status != 304:
                self.remaining -= 1
                self.charged += 1
            core = self._rate_core()
        extra = dict(extra)
        content_type = extra.pop("Content-Type", content_type)
        headers = {
            "x-ratelimit-limit": str(core["limit"]),
            "x-ratelimit-used": str(core["used"]),
            "x-ratelimit-resource": "core",
            "x-github-api-version-selected": "2022-11-28",
        }
        if "x-ratelimit-remaining" not in extra:
            headers["x-ratelimit-remaining"] = str(core["remaining"])
            headers["x-ratelimit-reset"] = str(core["reset"])
        send_bytes(handler, status, payload, content_type, headers | extra)


__all__ = [
    "MAX_FILES",
    "FakeCommit",
    "FakeFile",
    "FakeGitHub",
    "FakePull",
    "FakeRepo",
    "RecordedRequest",
    "iter_files",
    "utc",
]
