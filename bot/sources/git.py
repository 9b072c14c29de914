"""Commit source over a local git checkout through the git CLI: no network, no token."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import selectors
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bot.errors import AmbiguousShaError, InvalidInputError, NotFoundError, SourceUnavailableError
from bot.models import Commit, CommitSummary, FileChange, PullRequest, Window
from bot.repos import RepoTarget, origin_github_name
from bot.sources.base import BranchHead, validate_sha

log = logging.getLogger(__name__)

_FS, _RS = "\x1f", "\x1e"
_LIST_FORMAT = _FS.join(["%H", "%P", "%an", "%cI", "%s"]) + _RS
# Every field NUL-terminated: a commit message cannot hold a NUL (git refuses one).
_SHOW_FORMAT = "%H%x00%P%x00%an%x00%cI%x00%B%x00"
# One process per commit for the header, the files' status and stats, and the patch. Merges
# diff against their first parent (what the merge brought in), renames are found (-M), the
# root commit diffs against the empty tree. The user's config may not change the shape of what
# is printed: no colour, external diff, signature check, or submodule log instead of a diff.
_SHOW_ARGS = (
    f"--format={_SHOW_FORMAT}",
    "-z",
    "--raw",
    "--numstat",
    "--patch",
    "-M",
    "--first-parent",
    "-m",
    "--root",
    "--no-color",
    "--no-ext-diff",
    "--no-show-signature",
    "--submodule=short",
)
# What git says on stderr when the revision names no commit (unknown, ambiguous, a tree).
_NO_COMMIT_MARKERS = (
    "bad revision",
    "bad object",
    "unknown revision",
    "ambiguous argument",
    "is ambiguous",
    "expected commit type",
)
_READ_CHUNK = 65536
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
        # `git show` runs on one worker of its own, created on first use: commits are read one
        # at a time in call order instead of queueing behind each other on the default pool.
        self._show_executor: ThreadPoolExecutor | None = None
        self._show_proc: subprocess.Popen[bytes] | None = None

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
            summary = _summary(record, repo.name, base)
            if window.start <= summary.committed_at < window.end:
                result.append(summary)
        return result

    async def branch_head(self, repo: RepoTarget, etag: str | None = None) -> BranchHead:
        """The branch tip by `git rev-parse` (no request, no ETag: a local ref is free to
        read). A checkout someone else updates (`git pull` by cron) is polled this way."""
        path = self._path(repo)
        ref = repo.branch or "HEAD"
        if not await self._exists(path, ref):
            raise NotFoundError(f"Branch '{ref}' not found in {repo.name}.")
        out = await self._run(path, "rev-parse", "--verify", f"{ref}^{{commit}}")
        return BranchHead(out.strip().lower())

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
            summaries.append(_summary(record, repo.name, base=""))
        if not summaries:
            return None
        kept = [s for s in summaries if keep is None or keep(s)] or summaries
        return max(s.committed_at for s in kept)

    async def get_commit(self, repo: RepoTarget, sha: str) -> Commit:
        path = self._path(repo)
        sha = validate_sha(sha)
        # Queued before the first await: the one worker reads commits in the order asked for.
        loop = asyncio.get_running_loop()
        shown = await loop.run_in_executor(self._show_pool(), self._show_sync, path, sha, repo.name)
        title = shown.message.split("\n", 1)[0]
        base = self.repo_url(repo)
        pr_number = pr_number_from_title(title)
        return Commit(
            repo=repo.name,
            sha=shown.sha,
            title=title,
            message=shown.message,
            author=shown.author,
            committed_at=datetime.fromisoformat(shown.committed_at),
            url=f"{base}/commit/{shown.sha}" if base else "",
            parents=shown.parents,
            files=shown.files,
            additions=sum(f.additions for f in shown.files),
            deletions=sum(f.deletions for f in shown.files),
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
        executor, self._show_executor = self._show_executor, None
        if executor is not None:
            executor.shutdown(wait=False, cancel_futures=True)
        proc = self._show_proc
        if proc is not None and proc.poll() is None:
            proc.kill()  # the read in flight ends now rather than at git's timeout

    def _show_pool(self) -> ThreadPoolExecutor:
        if self._show_executor is None:
            self._show_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="git-show")
        return self._show_executor

    def _show_sync(self, path: Path, sha: str, repo_name: str) -> _Shown:
        """One `git show` for the header, the file list with stats and the patches, read as it
        streams: patches past the caps are skipped, never held. `^{commit}` makes a tree or a
        blob as unknown as a missing object."""
        cmd = [*self._base(path), "show", *_SHOW_ARGS, f"{sha}^{{commit}}", "--"]
        try:
            proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
        except FileNotFoundError as exc:
            raise SourceUnavailableError("git is not installed.", detail=str(exc)) from exc
        except OSError as exc:
            raise SourceUnavailableError("git could not be started.", detail=str(exc)) from exc
        self._show_proc = proc
        parser = _ShowParser()
        stderr = bytearray()
        deadline = time.monotonic() + _GIT_TIMEOUT
        try:
            assert proc.stdout is not None and proc.stderr is not None
            with selectors.DefaultSelector() as selector:
                selector.register(proc.stdout, selectors.EVENT_READ)
                selector.register(proc.stderr, selectors.EVENT_READ)
                while selector.get_map():
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise SourceUnavailableError("git took too long.", detail=" ".join(cmd))
                    for key, _ in selector.select(remaining):
                        data = os.read(key.fd, _READ_CHUNK)
                        if not data:
                            selector.unregister(key.fileobj)
                        elif key.fileobj is proc.stdout:
                            parser.feed(data)
                        elif len(stderr) < _READ_CHUNK:
                            stderr += data
            try:
                returncode = proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired as exc:
                raise SourceUnavailableError("git took too long.", detail=" ".join(cmd)) from exc
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            for pipe in (proc.stdout, proc.stderr):
                if pipe is not None:
                    pipe.close()
            self._show_proc = None
        message = stderr.decode("utf-8", "replace").strip()
        if returncode != 0:
            if _names_no_commit(message, sha):
                raise NotFoundError(f"No commit {sha[:12]} in {repo_name}.")
            raise SourceUnavailableError(
                f"git failed in {path.name}.", detail=f"{' '.join(cmd)}: {message[:500]}"
            )
        try:
            return parser.close()
        except _ParseError as exc:
            raise SourceUnavailableError(
                f"git gave unexpected output in {path.name}.", detail=f"{' '.join(cmd)}: {exc}"
            ) from exc

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


def _summary(record: str, repo_name: str, base: str) -> CommitSummary:
    """One `_LIST_FORMAT` record; `base` is the repository's web page ("": no links)."""
    sha, parents, author, date, title = record.split(_FS, 4)
    return CommitSummary(
        repo=repo_name,
        sha=sha,
        title=title,
        author=author,
        committed_at=datetime.fromisoformat(date),
        parents=tuple(parents.split()),
        url=f"{base}/commit/{sha}" if base else "",
    )


def _names_no_commit(stderr: str, sha: str) -> bool:
    """Whether git's complaint is about our revision not naming a commit."""
    return any(
        sha in line and any(marker in line for marker in _NO_COMMIT_MARKERS)
        for line in stderr.splitlines()
    )


@dataclass(frozen=True, slots=True)
class _Shown:
    """What one `git show` said about a commit."""

    sha: str
    parents: tuple[str, ...]
    author: str
    committed_at: str
    message: str
    files: tuple[FileChange, ...]


@dataclass(frozen=True, slots=True)
class _RawRecord:
    status: str  # git's letter: A M D R C T (U X never in a commit)
    path: str
    previous: str | None


class _ParseError(ValueError):
    """`git show` printed something this parser does not understand."""


_STATUS_NAMES = {
    "A": "added",
    "M": "modified",
    "D": "removed",
    "R": "renamed",
    "C": "copied",
    "T": "changed",
}
_HEADER_FIELDS = 5  # the NUL-terminated fields of _SHOW_FORMAT
_DIFF_HEADER = b"diff --git "
_NEXT_DIFF_HEADER = b"\n" + _DIFF_HEADER
_NUMSTAT_START = frozenset(b"-0123456789")


class _ShowParser:
    r"""Incremental parser of `git show -z --raw --numstat -p --format=<_SHOW_FORMAT>`.

    The output comes in a fixed order: the NUL-terminated header fields, the raw records
    (`:modes oids STATUS\0path\0`, a second path for renames and copies), the numstat records
    (`add\tdel\tpath\0` or `add\tdel\t\0old\0new\0`; `-` for binary files), a NUL, then the
    patch as text. All three list the same file pairs in the same order, so the n-th
    `diff --git` section is the n-th raw record's (a type change, file to symlink, is printed
    as a deletion and a creation: two sections); no path is read back from quoted patch headers.
    Bytes are held only until they are parsed: a patch past the caps is skipped as it streams,
    without splitting it into lines, so a 200 MB vendored import holds no more than a file's cap.
    """

    def __init__(self) -> None:
        self._buf = bytearray()
        self._phase = "header"
        self._error: str | None = None
        self._header: list[str] = []
        self._records: list[_RawRecord] = []
        self._numstat: list[tuple[str, int, int, bool]] = []
        self._patches: dict[int, str] = {}
        self._total = 0  # bytes of the patches kept so far
        self._next = 0  # the raw record the next `diff --git` section belongs to
        self._current: int | None = None
        self._sections = 0  # sections of the current record seen (2 for a type change)
        self._started = False  # past the section's header lines, at its first hunk
        self._lines: list[bytes] = []
        self._size = 0
        self._dropped = False
        self._skipping = False  # in a section that is not kept: find the next header

    def feed(self, data: bytes) -> None:
        if self._error is not None:
            return
        self._buf += data
        try:
            pos = self._parse(0)
        except _ParseError as exc:
            self._error = str(exc)
            self._buf.clear()
            return
        del self._buf[:pos]

    def close(self) -> _Shown:
        if self._error is None and self._phase == "patch" and not self._skipping and self._buf:
            self._line(bytes(self._buf))  # a last line without a newline
            self._buf.clear()
        if self._error is not None:
            raise _ParseError(self._error)
        if self._phase == "header":
            raise _ParseError("no commit header")
        if self._phase == "files" and self._buf.strip(b"\0\n"):
            raise _ParseError("the file list ends mid-record")
        self._finish_record()
        sha, parents, author, date, message = self._header
        by_path = {r.path: (r, i) for i, r in enumerate(self._records)}
        files = []
        for path, adds, dels, binary in self._numstat:
            record, index = by_path.get(path, (None, -1))
            files.append(
                FileChange(
                    path=path,
                    status=_STATUS_NAMES.get(record.status, "modified") if record else "modified",
                    additions=adds,
                    deletions=dels,
                    patch=None if binary else self._patches.get(index),
                    previous_path=record.previous if record else None,
                )
            )
        return _Shown(
            sha=sha,
            parents=tuple(parents.split()),
            author=author,
            committed_at=date,
            message=message.strip("\n"),
            files=tuple(files),
        )

    def _parse(self, pos: int) -> int:
        """Parse from `pos` as far as the buffer allows; the position of the first byte kept."""
        if self._phase == "header":
            pos = self._parse_header(pos)
        if self._phase == "files":
            pos = self._parse_files(pos)
        if self._phase == "patch":
            pos = self._parse_patch(pos)
        return pos

    def _fields(self, pos: int, count: int) -> tuple[list[bytes], int] | None:
        """`count` NUL-terminated fields from `pos` and the position after them, when buffered."""
        fields = []
        for _ in range(count):
            end = self._buf.find(b"\0", pos)
            if end < 0:
                return None
            fields.append(bytes(self._buf[pos:end]))
            pos = end + 1
        return fields, pos

    def _parse_header(self, pos: int) -> int:
        got = self._fields(pos, _HEADER_FIELDS)
        if got is None:
            return pos
        fields, pos = got
        self._header = [f.decode("utf-8", "replace") for f in fields]
        self._phase = "files"
        return pos

    def _parse_files(self, pos: int) -> int:
        buf = self._buf
        while True:
            while pos < len(buf) and buf[pos] in b"\0\n":  # separators between the parts
                pos += 1
            if pos == len(buf):
                return pos
            first = buf[pos]
            if first == ord(":"):
                got = self._fields(pos, 1)
                if got is None:
                    return pos
                (meta,), after = got
                status = meta.rsplit(b" ", 1)[-1].decode("ascii", "replace")[:1]
                paths = self._fields(after, 2 if status in ("R", "C") else 1)
                if paths is None:
                    return pos
                names, pos = paths
                decoded = [n.decode("utf-8", "replace") for n in names]
                self._records.append(
                    _RawRecord(status, decoded[-1], decoded[0] if len(decoded) == 2 else None)
                )
            elif first in _NUMSTAT_START:
                got = self._fields(pos, 1)
                if got is None:
                    return pos
                (entry,), after = got
                parts = entry.split(b"\t", 2)
                if len(parts) != 3:
                    raise _ParseError(f"bad numstat record {entry[:80]!r}")
                adds, dels, name = parts
                if not name:  # a rename or copy: the old and the new path follow
                    paths = self._fields(after, 2)
                    if paths is None:
                        return pos
                    (_, name), after = paths
                pos = after
                binary = adds == b"-"
                try:
                    counts = (0, 0) if binary else (int(adds), int(dels))
                except ValueError as exc:
                    raise _ParseError(f"bad numstat record {entry[:80]!r}") from exc
                self._numstat.append((name.decode("utf-8", "replace"), *counts, binary))
            elif buf.startswith(_DIFF_HEADER, pos):
                self._phase = "patch"
                return pos
            elif _DIFF_HEADER.startswith(bytes(buf[pos:])):
                return pos  # the start of the patch, cut by the chunk
            else:
                raise _ParseError(f"unexpected {bytes(buf[pos : pos + 80])!r}")

    def _parse_patch(self, pos: int) -> int:
        buf = self._buf
        while True:
            if self._skipping:
                found = buf.find(_NEXT_DIFF_HEADER, pos)
                if found < 0:  # keep what may be the start of a header cut by the chunk
                    return max(pos, len(buf) - len(_NEXT_DIFF_HEADER) + 1)
                pos = found + 1
                self._skipping = False
            end = buf.find(b"\n", pos)
            if end < 0:
                if len(buf) - pos > MAX_FILE_PATCH_BYTES:  # a line no kept patch can hold
                    self._drop()
                    return len(buf)  # mid-line: the next header follows a newline
                return pos
            self._line(bytes(buf[pos:end]))
            # When the section is dropped, keep its newline: the next line may be a header.
            pos = end if self._skipping else end + 1

    def _line(self, line: bytes) -> None:
        if line.startswith(_DIFF_HEADER):
            self._section()
        elif not self._started and not line.startswith(b"@@"):
            return  # index, mode, rename, ---/+++ lines before the first hunk
        else:
            self._started = True
            self._size += len(line) + 1
            if (
                self._size > MAX_FILE_PATCH_BYTES
                or self._total + self._size > MAX_COMMIT_PATCH_BYTES
            ):
                self._drop()
            else:
                self._lines.append(line)

    def _section(self) -> None:
        """A `diff --git` line: the next record's patch starts (or a type change's second)."""
        current = self._current
        self._started = False
        if current is not None and self._records[current].status == "T" and self._sections == 1:
            self._sections = 2
            self._skipping = self._dropped
            return
        self._finish_record()
        if self._next >= len(self._records):  # not seen from git: skip rather than guess
            log.warning("git show printed more patch sections than files; skipping one")
            self._skipping = True
            return
        self._current, self._next = self._next, self._next + 1
        self._sections = 1
        self._lines, self._size, self._dropped = [], 0, False

    def _drop(self) -> None:
        self._lines, self._dropped, self._skipping = [], True, True

    def _finish_record(self) -> None:
        if self._current is not None and not self._dropped and self._lines:
            text = b"\n".join(self._lines).decode("utf-8", "replace")
            self._patches[self._current] = text.rstrip("\n")
            self._total += self._size
        self._current, self._lines = None, []
