"""Commit source over a local git checkout through the git CLI: no network, no token."""

from __future__ import annotations

import asyncio
import logging
import re
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from bot.errors import AmbiguousShaError, InvalidInputError, NotFoundError, SourceUnavailableError
from bot.models import Commit, CommitSummary, FileChange, PullRequest, Window
from bot.repos import RepoTarget, origin_github_name
from bot.sources.base import validate_sha

log = logging.getLogger(__name__)

_FS, _RS = "\x1f", "\x1e"
_LIST_FORMAT = _FS.join(["%H", "%P", "%an", "%cI", "%s"]) + _RS
_SHOW_FORMAT = _FS.join(["%H", "%P", "%an", "%cI", "%B"])
_PR_RE = re.compile(r"\(#(\d{1,7})\)\s*$")
# One file's patch beyond this is dropped (the analyzer only ever sends a few KB of it), and a
# commit stops collecting patches past the total: a vendored import must not fill the memory.
MAX_FILE_PATCH_BYTES = 1_000_000
MAX_COMMIT_PATCH_BYTES = 8_000_000
_GIT_TIMEOUT = 120.0
# Stop reading history after this many consecutive commits older than the window.
_OLD_COMMITS_BEFORE_STOP = 200
# `latest` looks at this many of the newest commits for one a digest would show (bots' commits
# and merges are left out); committer dates are only roughly ordered, so it takes the newest.
_LATEST_LOOKAHEAD = 500


def pr_number_from_title(title: str) -> int | None:
    """`Fix X (#18396)` -> 18396: how GitHub's squash merges name the PR."""
    match = _PR_RE.search(title)
    return int(match.group(1)) if match else None


class GitSource:
    """Reads commits with `git log` / `git show` in a checkout named by RepoTarget.path."""

    def __init__(self, git: str = "git") -> None:
        self._git = git
        self._urls: dict[Path, str] = {}

    async def list_commits(self, repo: RepoTarget, window: Window) -> list[CommitSummary]:
        path = self._path(repo)
        ref = repo.branch or "HEAD"
        if not await self._exists(path, ref):
            if repo.branch:
                raise NotFoundError(f"Branch '{repo.branch}' not found in {repo.name}.")
            return []  # a fresh repository without commits has an empty day, not an error
        base = self.repo_url(repo)
        result: list[CommitSummary] = []
        for record in await self._log_records(path, ref, window):
            sha, parents, author, date, title = record.split(_FS, 4)
            committed_at = datetime.fromisoformat(date)
            if window.start <= committed_at < window.end:
                result.append(
                    CommitSummary(
                        repo=repo.name,
                        sha=sha,
                        title=title,
                        author=author,
                        committed_at=committed_at,
                        parents=tuple(parents.split()),
                        url=f"{base}/commit/{sha}" if base else "",
                    )
                )
        return result

    async def latest_commit_at(
        self, repo: RepoTarget, keep: Callable[[CommitSummary], bool] | None = None
    ) -> datetime | None:
        """The committer date of the newest commit on the branch that `keep` keeps (of the
        newest few hundred; the newest of all when it keeps none of them), or None when the
        repository has no commits. What the window `latest` is the local day of."""
        path = self._path(repo)
        ref = repo.branch or "HEAD"
        if not await self._exists(path, ref):
            if repo.branch:
                raise NotFoundError(f"Branch '{repo.branch}' not found in {repo.name}.")
            return None
        out = await self._run(
            path,
            "log",
            ref,
            "--date-order",
            f"-n{_LATEST_LOOKAHEAD}",
            f"--format={_LIST_FORMAT}",
            "--",
        )
        summaries = []
        for raw in out.split(_RS):
            record = raw.strip("\n")
            if not record:
                continue
            sha, parents, author, date, title = record.split(_FS, 4)
            summaries.append(
                CommitSummary(
                    repo=repo.name,
                    sha=sha,
                    title=title,
                    author=author,
                    committed_at=datetime.fromisoformat(date),
                    parents=tuple(parents.split()),
                )
            )
        if not summaries:
            return None
        kept = [s for s in summaries if keep is None or keep(s)] or summaries
        return max(s.committed_at for s in kept)

    async def get_commit(self, repo: RepoTarget, sha: str) -> Commit:
        path = self._path(repo)
        sha = validate_sha(sha)
        if not await self._exists(path, sha):
            raise NotFoundError(f"No commit {sha[:12]} in {repo.name}.")
        header = await self._run(path, "show", "-s", f"--format={_SHOW_FORMAT}", sha, "--")
        full, parents, author, date, message = header.split(_FS, 4)
        message = message.strip("\n")
        parent_list = tuple(parents.split())
        # Diff against the first parent (also for merges: what the merge brought in).
        diff_args = ["--first-parent", "-m"] if len(parent_list) > 1 else []
        numstat = await self._run(
            path, "show", "--format=", "--numstat", "-z", "-M", *diff_args, full, "--"
        )
        status = await self._run(
            path, "show", "--format=", "--name-status", "-z", "-M", *diff_args, full, "--"
        )
        patch = await self._run(
            path, "show", "--format=", "--patch", "--no-color", "-M", *diff_args, full, "--"
        )
        files = _merge_file_info(
            _parse_numstat(numstat), _parse_name_status(status), _split_patch(patch)
        )
        title = message.split("\n", 1)[0]
        base = self.repo_url(repo)
        pr_number = pr_number_from_title(title)
        return Commit(
            repo=repo.name,
            sha=full,
            title=title,
            message=message,
            author=author,
            committed_at=datetime.fromisoformat(date),
            url=f"{base}/commit/{full}" if base else "",
            parents=parent_list,
            files=tuple(files),
            additions=sum(f.additions for f in files),
            deletions=sum(f.deletions for f in files),
            pr=PullRequest(number=pr_number, url=f"{base}/pull/{pr_number}" if base else "")
            if pr_number
            else None,
        )

    async def resolve_sha(self, repo: RepoTarget, prefix: str) -> str:
        return await self._resolve_candidates(repo, validate_sha(prefix))

    async def _resolve_candidates(self, repo: RepoTarget, prefix: str) -> str:
        """`prefix` is validated hex of at least 4 digits (git's minimum for --disambiguate)."""
        path = self._path(repo)
        try:
            out = await self._run(path, "rev-parse", f"--disambiguate={prefix}")
        except SourceUnavailableError:
            out = ""
        candidates = [line.strip() for line in out.splitlines() if line.strip()]
        commits = []
        for candidate in candidates:
            kind = (await self._run(path, "cat-file", "-t", candidate)).strip()
            if kind == "commit":
                commits.append(candidate)
        if not commits:
            raise NotFoundError(f"No commit {prefix} in {repo.name}.")
        if len(commits) > 1:
            raise AmbiguousShaError(prefix, commits)
        return commits[0]

    def repo_url(self, repo: RepoTarget) -> str:
        """https://github.com/owner/name when the checkout's origin is on GitHub, else ""."""
        path = self._path(repo)
        if path not in self._urls:
            name = origin_github_name(path)
            self._urls[path] = f"https://github.com/{name}" if name else ""
        return self._urls[path]

    async def aclose(self) -> None:
        return None

    async def _log_records(self, path: Path, ref: str, window: Window) -> list[str]:
        return await asyncio.to_thread(self._log_records_sync, path, ref, window)

    def _log_records_sync(self, path: Path, ref: str, window: Window) -> list[str]:
        """`git log` records newest first, stopping once history is clearly older.

        Not `--since`: git stops walking at the first few commits older than it, so one old
        commit on top (a cherry-pick, a rebased branch merged fast-forward) hides a whole day.
        Committer dates are only roughly ordered, so we stop after a run of old commits.
        """
        until = window.end.astimezone(UTC).isoformat()
        cmd = [
            *self._base(path),
            "log",
            ref,
            f"--until={until}",
            "--date-order",
            f"--format={_LIST_FORMAT}",
        ]
        records: list[str] = []
        older_in_a_row = 0
        try:
            proc = subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL
            )
        except OSError as exc:
            raise SourceUnavailableError("git is not installed.", detail=str(exc)) from exc
        assert proc.stdout is not None
        buffer = b""
        try:
            while older_in_a_row < _OLD_COMMITS_BEFORE_STOP:
                chunk = proc.stdout.read(65536)
                if not chunk:
                    break
                buffer += chunk
                *complete, buffer = buffer.split(_RS.encode())
                for raw in complete:
                    record = raw.decode("utf-8", "replace").strip("\n")
                    if not record:
                        continue
                    older = datetime.fromisoformat(record.split(_FS, 4)[3]) < window.start
                    older_in_a_row = older_in_a_row + 1 if older else 0
                    records.append(record)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.stdout.close()
            proc.wait()
        return records

    async def _exists(self, path: Path, ref: str) -> bool:
        try:
            await self._run(path, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
        except NotFoundError:
            return False
        return True

    @staticmethod
    def _path(repo: RepoTarget) -> Path:
        if repo.kind != "local" or repo.path is None:
            raise InvalidInputError(f"{repo.name} is not a local checkout.")
        return repo.path

    def _base(self, path: Path) -> list[str]:
        return [self._git, "-C", str(path), "-c", "core.quotepath=off"]

    async def _run(self, path: Path, *args: str) -> str:
        # In a worker thread rather than asyncio's subprocess API: forking a big process
        # blocks the event loop, and asyncio's child watcher can misreport exit codes when
        # other code reaps children too.
        return await asyncio.to_thread(self._run_sync, path, *args)

    def _run_sync(self, path: Path, *args: str) -> str:
        cmd = [*self._base(path), *args]
        try:
            done = subprocess.run(
                cmd,
                capture_output=True,
                stdin=subprocess.DEVNULL,
                timeout=_GIT_TIMEOUT,
                check=False,
            )
        except FileNotFoundError as exc:
            raise SourceUnavailableError("git is not installed.", detail=str(exc)) from exc
        except subprocess.TimeoutExpired as exc:
            raise SourceUnavailableError("git took too long.", detail=" ".join(cmd)) from exc
        if done.returncode != 0:
            message = done.stderr.decode("utf-8", "replace").strip()
            if done.returncode == 1 and not message:  # rev-parse --verify --quiet: no such ref
                raise NotFoundError(f"Not found in {path.name}.")
            raise SourceUnavailableError(
                f"git failed in {path.name}.", detail=f"{' '.join(cmd)}: {message[:500]}"
            )
        return done.stdout.decode("utf-8", "replace")


def _parse_numstat(out: str) -> list[tuple[str, int, int, bool]]:
    """`-z --numstat`: `add\tdel\tpath\0` or, for renames, `add\tdel\t\0old\0new\0`."""
    items = out.split("\0")
    result: list[tuple[str, int, int, bool]] = []
    i = 0
    while i < len(items):
        entry = items[i].lstrip("\n")
        i += 1
        if not entry:
            continue
        adds, dels, path = entry.split("\t", 2)
        if path == "" and i + 1 < len(items):  # rename: old and new paths follow
            path = items[i + 1]
            i += 2
        binary = adds == "-"
        result.append((path, 0 if binary else int(adds), 0 if binary else int(dels), binary))
    return result


def _parse_name_status(out: str) -> dict[str, tuple[str, str | None]]:
    """`-z --name-status`: `M\0path\0`, `R100\0old\0new\0` -> {path: (status, previous)}."""
    names = {
        "A": "added",
        "M": "modified",
        "D": "removed",
        "R": "renamed",
        "C": "copied",
        "T": "changed",
    }
    items = [x for x in out.split("\0")]
    result: dict[str, tuple[str, str | None]] = {}
    i = 0
    while i < len(items):
        code = items[i].strip()
        i += 1
        if not code:
            continue
        letter = code[0]
        if letter in "RC" and i + 1 < len(items):
            old, new = items[i], items[i + 1]
            i += 2
            result[new] = (names[letter], old)
        elif i < len(items):
            result[items[i]] = (names.get(letter, "modified"), None)
            i += 1
    return result


_DIFF_HEADER_RE = re.compile(r"^diff --git a/(.*) b/(.*)$")


def _split_patch(out: str) -> dict[str, str]:
    """Split `git show --patch` output into per-file hunks keyed by the new path."""
    patches: dict[str, str] = {}
    current: str | None = None
    lines: list[str] = []
    size = 0
    total = 0

    def flush() -> None:
        nonlocal total
        if (
            current is not None
            and lines
            and size <= MAX_FILE_PATCH_BYTES
            and total + size <= MAX_COMMIT_PATCH_BYTES
        ):
            patches[current] = "\n".join(lines)
            total += size

    for line in out.split("\n"):
        header = _DIFF_HEADER_RE.match(line)
        if header:
            flush()
            current, lines, size = header.group(2), [], 0
            continue
        if current is None:
            continue
        if not lines and not line.startswith("@@"):
            continue  # index/mode/---/+++ lines before the first hunk
        if size <= MAX_FILE_PATCH_BYTES:
            lines.append(line)
            size += len(line) + 1
    flush()
    return {path: text.rstrip("\n") for path, text in patches.items()}


def _merge_file_info(
    numstat: list[tuple[str, int, int, bool]],
    status: dict[str, tuple[str, str | None]],
    patches: dict[str, str],
) -> list[FileChange]:
    files = []
    for path, adds, dels, binary in numstat:
        kind, previous = status.get(path, ("modified", None))
        files.append(
            FileChange(
                path=path,
                status=kind,
                additions=adds,
                deletions=dels,
                patch=None if binary else patches.get(path),
                previous_path=previous,
            )
        )
    return files
