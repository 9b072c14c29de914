"""The GitHub REST JSON shapes the fake server answers with, and the in-memory model behind them.

Shapes follow https://docs.github.com/en/rest/commits/commits (commit list items and detail),
https://docs.github.com/en/rest/commits/commits#list-pull-requests-associated-with-a-commit and
the fields PyGithub's Commit, GitCommit, File, NamedUser, PullRequest and Label classes read.
"""

from __future__ import annotations

import hashlib
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote


@dataclass
class FakeFile:
    filename: str
    status: str = "modified"
    additions: int = 1
    deletions: int = 0
    patch: str | None = "@@ -1 +1 @@\n-old\n+new"
    previous_filename: str | None = None


@dataclass
class FakePull:
    number: int
    title: str = ""
    body: str | None = ""
    labels: tuple[str, ...] = ()
    merge_commit_sha: str | None = None
    merged: bool = True
    user: str = "octocat"


@dataclass
class FakeCommit:
    sha: str
    message: str
    author_name: str
    author_email: str
    author_login: str | None
    authored_at: datetime
    committer_name: str
    committer_email: str
    committer_login: str | None
    committed_at: datetime
    parents: list[str]
    files: list[FakeFile]
    pulls: list[FakePull] = field(default_factory=list)


@dataclass
class FakeRepo:
    full_name: str
    default_branch: str = "main"
    private: bool = False
    commits: dict[str, FakeCommit] = field(default_factory=dict)
    branches: dict[str, list[str]] = field(default_factory=dict)  # newest first


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Payloads:
    """Builds JSON for one server: `api` is its API base URL, `origin` its web root."""

    def __init__(self, *, api: str, origin: str) -> None:
        self.api = api
        self.origin = origin

    def web(self, full_name: str) -> str:
        return f"{self.origin}/{full_name}"

    def user(self, login: str | None) -> dict[str, Any] | None:
        if login is None:
            return None
        return {
            "login": login,
            "id": zlib.crc32(login.encode()),
            "node_id": f"U_{login}",
            "avatar_url": f"{self.origin}/avatars/{login}",
            "url": f"{self.api}/users/{login}",
            "html_url": f"{self.origin}/{login}",
            "type": "Bot" if login.endswith("[bot]") else "User",
            "site_admin": False,
        }

    def repo_json(self, repo: FakeRepo) -> dict[str, Any]:
        owner = repo.full_name.split("/")[0]
        api = f"{self.api}/repos/{repo.full_name}"
        return {
            "id": zlib.crc32(repo.full_name.encode()),
            "node_id": f"R_{repo.full_name}",
            "name": repo.full_name.split("/")[1],
            "full_name": repo.full_name,
            "private": repo.private,
            "owner": self.user(owner),
            "html_url": self.web(repo.full_name),
            "url": api,
            "commits_url": f"{api}/commits{{/sha}}",
            "default_branch": repo.default_branch,
        }

    def commit_json(self, repo: FakeRepo, commit: FakeCommit) -> dict[str, Any]:
        api = f"{self.api}/repos/{repo.full_name}"
        web = self.web(repo.full_name)
        return {
            "sha": commit.sha,
            "node_id": f"C_{commit.sha}",
            "commit": {
                "author": {
                    "name": commit.author_name,
                    "email": commit.author_email,
                    "date": _iso(commit.authored_at),
                },
                "committer": {
                    "name": commit.committer_name,
                    "email": commit.committer_email,
                    "date": _iso(commit.committed_at),
                },
                "message": commit.message,
                "tree": {"sha": "0" * 40, "url": f"{api}/git/trees/{'0' * 40}"},
                "url": f"{api}/git/commits/{commit.sha}",
                "comment_count": 0,
                "verification": {"verified": False, "reason": "unsigned"},
            },
            "url": f"{api}/commits/{commit.sha}",
            "html_url": f"{web}/commit/{commit.sha}",
            "comments_url": f"{api}/commits/{commit.sha}/comments",
            "author": self.user(commit.author_login),
            "committer": self.user(commit.committer_login),
            "parents": [
                {"sha": p, "url": f"{api}/commits/{p}", "html_url": f"{web}/commit/{p}"}
                for p in commit.parents
            ],
        }

    def file_json(self, repo: FakeRepo, commit: FakeCommit, file: FakeFile) -> dict[str, Any]:
        web = self.web(repo.full_name)
        quoted = quote(file.filename)
        item: dict[str, Any] = {
            "sha": hashlib.sha1(file.filename.encode()).hexdigest(),
            "filename": file.filename,
            "status": file.status,
            "additions": file.additions,
            "deletions": file.deletions,
            "changes": file.additions + file.deletions,
            "blob_url": f"{web}/blob/{commit.sha}/{quoted}",
            "raw_url": f"{web}/raw/{commit.sha}/{quoted}",
            "contents_url": f"{self.api}/repos/{repo.full_name}/contents/{quoted}?ref={commit.sha}",
        }
        if file.patch is not None:
            item["patch"] = file.patch
        if file.previous_filename is not None:
            item["previous_filename"] = file.previous_filename
        return item

    def pull_json(self, repo: FakeRepo, pull: FakePull) -> dict[str, Any]:
        api = f"{self.api}/repos/{repo.full_name}"
        merged_at = "2026-02-08T10:00:00Z" if pull.merged else None
        return {
            "url": f"{api}/pulls/{pull.number}",
            "id": pull.number * 1000,
            "node_id": f"PR_{pull.number}",
            "html_url": f"{self.web(repo.full_name)}/pull/{pull.number}",
            "number": pull.number,
            "state": "closed" if pull.merged else "open",
            "locked": False,
            "title": pull.title,
            "user": self.user(pull.user),
            "body": pull.body,
            "labels": [
                {
                    "id": i,
                    "node_id": f"L_{name}",
                    "url": f"{api}/labels/{quote(name)}",
                    "name": name,
                    "color": "ededed",
                    "default": False,
                    "description": None,
                }
                for i, name in enumerate(pull.labels)
            ],
            "created_at": "2026-02-07T10:00:00Z",
            "updated_at": "2026-02-08T10:00:00Z",
            "closed_at": merged_at,
            "merged_at": merged_at,
            "merge_commit_sha": pull.merge_commit_sha,
            "draft": False,
        }


def iter_files(count: int, *, patch_bytes: int = 0) -> Iterator[FakeFile]:
    """`count` files named src/f0000.py…; each patch is about `patch_bytes` long (0: a tiny one)."""
    for i in range(count):
        body = "+" + "x" * max(0, patch_bytes - 20) if patch_bytes else "+new"
        yield FakeFile(f"src/f{i:04d}.py", additions=1, deletions=0, patch=f"@@ -0,0 +1 @@\n{body}")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, sec: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, sec, tzinfo=UTC)


def failure_response(
    kind: str, retry_after: int | None, reset_at: int | None
) -> tuple[int, dict[str, str], Any]:
    """(status, headers, body) of a scripted failure, shaped like GitHub's error answers."""
    reset_at = reset_at if reset_at is not None else int(time.time()) + 60
    docs = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
    if kind == "rate_limit":
        return (
            403,
            {"x-ratelimit-remaining": "0", "x-ratelimit-reset": str(reset_at)},
            {
                "message": "API rate limit exceeded for 127.0.0.1.",
                "documentation_url": docs,
            },
        )
    if kind == "secondary":
        return (
            403,
            {"Retry-After": str(retry_after or 60)},
            {
                "message": "You have exceeded a secondary rate limit. Please wait a few minutes "
                "before you try again.",
                "documentation_url": docs,
            },
        )
    if kind == "429":
        return 429, {"Retry-After": str(retry_after or 60)}, {"message": "Too Many Requests"}
    if kind == "garbage":  # a truncated JSON body
        return 200, {"Content-Type": "application/json"}, '{"sha": "abc'
    if kind == "401":
        return 401, {}, {"message": "Bad credentials", "documentation_url": docs}
    if kind == "403":
        return 403, {}, {"message": "Resource not accessible by integration"}
    if kind == "404":
        return 404, {}, {"message": "Not Found"}
    status = int(kind)
    messages = {409: "Git Repository is empty.", 422: "Validation Failed"}
    return status, {}, {"message": messages.get(status, "Server Error")}
