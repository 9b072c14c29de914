"""The GitHub commit source: REST via PyGithub, run in worker threads behind a bounded policy."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Generic, NoReturn, TypeVar
from urllib.parse import quote, urlsplit

from github import Github
from github.Commit import Commit as GhCommit
from github.File import File as GhFile
from github.PullRequest import PullRequest as GhPull

from bot.config import REPO_NAME_RE
from bot.errors import (
    AmbiguousShaError,
    InvalidInputError,
    NotFoundError,
    SourceUnavailableError,
)
from bot.metrics import GitHubObserver
from bot.models import Commit, CommitSummary, FileChange, PullRequest, Window
from bot.repos import RepoTarget
from bot.sources.base import BranchHead, validate_sha
from bot.sources.github_transport import (
    Clock,
    GitHubSession,
    GitHubTransport,
    Rejected,
    Sleep,
    normalize_api_url,
)

if TYPE_CHECKING:
    from bot.config import Settings

_Item = TypeVar("_Item")
_Out = TypeVar("_Out")

# GitHub lists at most 3000 files of a commit, 300 per page.
# https://docs.github.com/en/rest/commits/commits#get-a-commit
MAX_COMMIT_FILES = 3000
COMMIT_FILES_PER_PAGE = 300
_FULL_SHA_RE = re.compile(r"^[0-9a-f]{40}$")
# Squash merges end their title with "(#1234)"; merge commits start "Merge pull request #1234".
_PR_IN_TITLE = re.compile(r"\(#(\d{1,9})\)\s*$|^Merge pull request #(\d{1,9})\b")


class _Pages(Generic[_Item, _Out]):
    """A PyGithub PaginatedList converted as pages arrive; calling `fetch` again after a failure
    resumes at the page that failed (PaginatedList keeps what it already has)."""

    def __init__(
        self,
        open_list: Callable[[Github], Iterable[_Item]],
        convert: Callable[[_Item], _Out | None],
    ) -> None:
        self._open = open_list
        self._convert = convert
        self._list: Iterable[_Item] | None = None
        self._seen = 0
        self.items: list[_Out] = []

    def fetch(self, client: Github) -> list[_Out]:
        if self._list is None:
            self._list = self._open(client)
        for item in itertools.islice(self._list, self._seen, None):
            self._seen += 1
            converted = self._convert(item)
            if converted is not None:
                self.items.append(converted)
        return self.items


@dataclass(frozen=True)
class _Detail:
    """The head of a commit detail, read in the worker thread (no lazy requests later)."""

    handle: GhCommit  # completed; its files and pulls are fetched from it
    sha: str
    message: str
    author: str
    author_login: str | None
    committed_at: datetime
    url: str
    parents: tuple[str, ...]
    additions: int
    deletions: int


def web_base_url(api_url: str) -> str:
    """The web host for an API base: api.github.com -> github.com, https://h/api/v3 -> https://h."""
    parts = urlsplit(normalize_api_url(api_url))
    netloc, path = parts.netloc, parts.path
    if netloc.lower().startswith("api."):  # api.github.com, api.<tenant>.ghe.com
        netloc = netloc[4:]
        path = ""
    for suffix in ("/api/v3", "/api"):
        if path.endswith(suffix):
            path = path[: -len(suffix)]
            break
    scheme = "https" if netloc.lower() == "github.com" else parts.scheme
    return f"{scheme}://{netloc}{path}"


class GitHubSource:
    """A CommitSource over the GitHub REST API (github.com or Enterprise, by `base_url`)."""

    def __init__(self, transport: GitHubTransport, *, web_base: str) -> None:
        self._transport = transport
        self._web_base = web_base

    @classmethod
    def create(
        cls,
        base_url: str,
        token: str | None,
        *,
        concurrency: int = 8,
        max_rate_limit_wait: float = 60.0,
        timeout: float = 30.0,
        sleep: Sleep | None = None,
        clock: Clock | None = None,
        observer: GitHubObserver | None = None,
    ) -> GitHubSource:
        """Build the source (no I/O). At most `concurrency` requests run at once, over all calls."""
        transport = GitHubTransport.create(
            base_url,
            token,
            concurrency=concurrency,
            max_rate_limit_wait=max_rate_limit_wait,
            timeout=timeout,
            sleep=sleep,
            clock=clock,
            observer=observer,
        )
        return cls(transport, web_base=web_base_url(base_url))

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        sleep: Sleep | None = None,
        clock: Clock | None = None,
        observer: GitHubObserver | None = None,
    ) -> GitHubSource:
        token = settings.github_token.get_secret_value() if settings.github_token else None
        return cls.create(
            settings.github_api_url,
            token,
            concurrency=settings.github_fetch_concurrency,
            max_rate_limit_wait=settings.github_max_rate_limit_wait,
            timeout=settings.github_timeout,
            sleep=sleep,
            clock=clock,
            observer=observer,
        )

    # -- CommitSource --------------------------------------------------------------------------

    async def list_commits(self, repo: RepoTarget, window: Window) -> list[CommitSummary]:
        """Commits on `repo.branch` (else the default branch) in [start, end), newest first."""
        name = _checked_name(repo)
        start, end = window.start.astimezone(UTC), window.end.astimezone(UTC)
        if start >= end:
            return []
        branch = repo.branch

        def open_list(client: Github) -> Iterable[GhCommit]:
            gh_repo = client.get_repo(name)  # lazy: no request
            if branch:
                return gh_repo.get_commits(sha=branch, since=start, until=end)
            return gh_repo.get_commits(since=start, until=end)

        def convert(item: GhCommit) -> CommitSummary | None:
            summary = _summary(name, item)
            # GitHub's `until` is inclusive; the window is half-open.
            return summary if start <= summary.committed_at < end else None

        def rejected(r: Rejected) -> list[CommitSummary]:
            if r.status == 409:  # "Git Repository is empty."
                return []
            if r.status in (404, 422):
                where = f"{name} (branch {branch})" if branch else name
                raise NotFoundError(
                    f"Repository {where} not found, or GITHUB_TOKEN cannot see it.",
                    detail=f"HTTP {r.status}: {r.message}",
                )
            _refused(name, r)

        pages = _Pages(open_list, convert)
        async with self._transport.session(name) as session:
            items = await session.run(pages.fetch, rejected)
        return sorted(items, key=lambda c: c.committed_at, reverse=True)

    async def get_commit(self, repo: RepoTarget, sha: str) -> Commit:
        """One commit with its files (all pages, ≤ 3000), stats and associated pull request."""
        name = _checked_name(repo)
        ref = validate_sha(sha)
        async with self._transport.session(name) as session:
            detail = await session.run(
                lambda client: _open_detail(client, name, ref), _commit_rejected(name, ref)
            )
            handle = detail.handle
            files = _Pages(lambda _: handle.files, _file_change)
            changes = await session.run(files.fetch, _commit_rejected(name, ref))
            pr = await self._pull_request(session, detail)
        listed_additions = sum(f.additions for f in changes)
        listed_deletions = sum(f.deletions for f in changes)
        truncated = (
            len(changes) >= MAX_COMMIT_FILES
            or listed_additions < detail.additions
            or listed_deletions < detail.deletions
        )
        if pr is None:
            pr = self._pr_from_title(repo, _title(detail.message))
        return Commit(
            repo=name,
            sha=detail.sha,
            title=_title(detail.message),
            message=detail.message,
            author=detail.author,
            author_login=detail.author_login,
            committed_at=detail.committed_at,
            url=detail.url,
            parents=detail.parents,
            files=tuple(changes),
            additions=detail.additions,
            deletions=detail.deletions,
            files_truncated=truncated,
            pr=pr,
        )

    async def resolve_sha(self, repo: RepoTarget, prefix: str) -> str:
        """The full SHA for a 7–40 hex prefix (GitHub resolves it), via the SHA-only media type."""
        name = _checked_name(repo)
        ref = validate_sha(prefix)

        def fetch(client: Github) -> str:
            _, data = client.requester.requestJsonAndCheck(
                "GET",
                f"/repos/{name}/commits/{ref}",
                headers={"Accept": "application/vnd.github.sha"},
            )
            # The SHA media type answers plain text, which PyGithub wraps as {"data": text}.
            text = data.get("sha") or data.get("data") if isinstance(data, dict) else None
            return str(text or "").strip().lower()

        async with self._transport.session(name) as session:
            full = await session.run(fetch, _commit_rejected(name, ref))
        if not _FULL_SHA_RE.match(full) or not full.startswith(ref):
            raise NotFoundError(
                f"No commit {ref} in {name}.", detail=f"GitHub resolved {ref} to {full[:60]!r}"
            )
        return full

    async def branch_head(self, repo: RepoTarget, etag: str | None = None) -> BranchHead:
        """`GET /repos/{name}/commits/{branch}` for the SHA alone, conditional on `etag`: GitHub
        answers 304 Not Modified to an unchanged branch, which does not count against the rate
        limit (https://docs.github.com/en/rest/using-the-rest-api/best-practices-for-using-the-rest-api#use-conditional-requests-if-appropriate).
        `HEAD` names the default branch when none is configured."""
        name = _checked_name(repo)
        ref = repo.branch or "HEAD"
        headers = {"Accept": "application/vnd.github.sha"}
        if etag:
            headers["If-None-Match"] = etag

        def fetch(client: Github) -> BranchHead:
            status, answer, body = client.requester.requestJson(
                "GET", f"/repos/{name}/commits/{quote(ref, safe='')}", headers=headers
            )
            given = {str(k).lower(): str(v) for k, v in answer.items()}
            if status == 304:
                return BranchHead(None, etag)
            if status >= 400:
                raise client.requester.createException(status, answer, {"message": body[:300]})
            sha = str(body or "").strip().lower()
            if not _FULL_SHA_RE.match(sha):
                raise ValueError(f"not a SHA: {sha[:60]!r}")
            return BranchHead(sha, given.get("etag"))

        def rejected(r: Rejected) -> BranchHead:
            if r.status in (404, 409, 422):
                where = f"{name} (branch {ref})"
                raise NotFoundError(
                    f"Branch {where} not found, or GITHUB_TOKEN cannot see it.",
                    detail=f"HTTP {r.status}: {r.message}",
                )
            _refused(name, r)

        async with self._transport.session(name) as session:
            return await session.run(fetch, rejected)

    def repo_url(self, repo: RepoTarget) -> str:
        if repo.kind != "github" or not REPO_NAME_RE.match(repo.name):
            return ""
        return f"{self._web_base}/{repo.name}"

    async def aclose(self) -> None:
        await self._transport.aclose()

    # -- pull requests -------------------------------------------------------------------------

    async def _pull_request(self, session: GitHubSession, detail: _Detail) -> PullRequest | None:
        """The PR the commit came through: the one that merged it as this SHA, else the first."""
        handle = detail.handle
        pages = _Pages(lambda _: handle.get_pulls(), _pull)

        def rejected(r: Rejected) -> list[tuple[PullRequest, str | None, bool]]:
            # Older Enterprise servers lack this endpoint; fall back to the title.
            return []

        pulls = await session.run(pages.fetch, rejected)
        for pr, merge_sha, merged in pulls:
            if merged and merge_sha == detail.sha:
                return pr
        return pulls[0][0] if pulls else None

    def _pr_from_title(self, repo: RepoTarget, title: str) -> PullRequest | None:
        match = _PR_IN_TITLE.search(title)
        if match is None:
            return None
        number = int(match.group(1) or match.group(2))
        base = self.repo_url(repo)
        return PullRequest(number=number, url=f"{base}/pull/{number}" if base else "")


# -- conversions (run in worker threads; they read only fields present in each payload) ----------


def _checked_name(repo: RepoTarget) -> str:
    if repo.kind != "github" or not REPO_NAME_RE.match(repo.name):
        raise InvalidInputError(f"'{repo.name[:80]}' is not a GitHub repository (owner/name).")
    return repo.name


def _title(message: str) -> str:
    return message.strip().split("\n", 1)[0].strip()


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:  # GitHub dates end in Z; be safe with odd servers
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _identity(item: GhCommit) -> tuple[str, str | None, datetime]:
    """(git author name, GitHub login, committer date) of a list item or a commit detail."""
    git = item.commit
    signature = git.committer or git.author
    user = item.author  # None when no GitHub account matches the author's email
    login: str | None = user.login if user is not None else None
    author_name = (git.author.name if git.author else None) or login or "unknown"
    return str(author_name), login, _utc(signature.date)


def _summary(repo: str, item: GhCommit) -> CommitSummary:
    author, login, committed_at = _identity(item)
    return CommitSummary(
        repo=repo,
        sha=item.sha,
        title=_title(item.commit.message or ""),
        author=author,
        author_login=login,
        committed_at=committed_at,
        parents=tuple(p.sha for p in item.parents),
        url=item.html_url or "",
    )


def _open_detail(client: Github, name: str, ref: str) -> _Detail:
    handle = client.get_repo(name).get_commit(ref, commit_files_per_page=COMMIT_FILES_PER_PAGE)
    handle.complete()  # one GET .../commits/{ref}?page=1&per_page=300
    author, login, committed_at = _identity(handle)
    stats = handle.stats
    return _Detail(
        handle=handle,
        sha=handle.sha,
        message=handle.commit.message or "",
        author=author,
        author_login=login,
        committed_at=committed_at,
        url=handle.html_url or "",
        parents=tuple(p.sha for p in handle.parents),
        additions=int(stats.additions or 0) if stats else 0,
        deletions=int(stats.deletions or 0) if stats else 0,
    )


def _file_change(f: GhFile) -> FileChange:
    return FileChange(
        path=f.filename,
        status=f.status or "modified",
        additions=int(f.additions or 0),
        deletions=int(f.deletions or 0),
        patch=f.patch,  # absent for binary files and very large diffs
        previous_path=f.previous_filename,
    )


def _pull(p: GhPull) -> tuple[PullRequest, str | None, bool]:
    """(pull request, merge commit SHA, merged?) from a /commits/{sha}/pulls item."""
    pr = PullRequest(
        number=int(p.number),
        title=p.title or "",
        body=p.body or "",
        labels=tuple(label.name for label in p.labels or ()),
        url=p.html_url or "",
    )
    # `merged_at`, not `merged`: the list payload has no `merged` field, so reading it would
    # cost one more request per pull request.
    return pr, p.merge_commit_sha, p.merged_at is not None


def _commit_rejected(name: str, ref: str) -> Callable[[Rejected], NoReturn]:
    def rejected(r: Rejected) -> NoReturn:
        detail = f"HTTP {r.status}: {r.message}"
        if r.status == 404 or (r.status == 422 and "no commit found" in r.message.lower()):
            raise NotFoundError(f"No commit {ref[:12]} in {name}.", detail=detail)
        if r.status == 422:
            raise AmbiguousShaError(ref, [])
        _refused(name, r)

    return rejected


def _refused(name: str, r: Rejected) -> NoReturn:
    raise SourceUnavailableError(
        f"GitHub refused the request for {name} (HTTP {r.status}).",
        detail=f"HTTP {r.status}: {r.message}",
    )
