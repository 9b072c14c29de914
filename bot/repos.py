"""Resolve what a user typed (alias, owner/name, local path) into a repository target."""

from __future__ import annotations

import difflib
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from bot.config import REPO_NAME_RE, AppConfig, PathRolesConfig, RepoConfig
from bot.errors import (
    ConfigError,
    InvalidInputError,
    RepoNotAllowedError,
    SourceUnavailableError,
    UnknownRepoError,
)

# The spellings of a GitHub remote: https (with or without credentials, which are never kept),
# http, git://, ssh:// (with a port or not) and scp-like `git@github.com:owner/name.git`.
# https://docs.github.com/en/get-started/getting-started-with-git/about-remote-repositories
_GITHUB_REMOTE_RE = re.compile(
    r"^(?:(?:https?|git|ssh|git\+ssh)://(?:[^@/\s]+@)?github\.com(?::\d+)?/"
    r"|(?:[^@/:\s]+@)?github\.com:/?)"
    r"(?P<name>[A-Za-z0-9-]+/[A-Za-z0-9._-]+?)(?:\.git)?/?$",
    re.IGNORECASE,
)
_GIT_TIMEOUT = 30.0
NOT_A_REPOSITORY = "'{path}' is not a git repository (or a subfolder of one)."


@dataclass(frozen=True)
class RepoTarget:
    """A repository digestbot can read: on GitHub (by owner/name) or a local git checkout."""

    kind: Literal["github", "local"]
    name: str  # owner/name for GitHub; the checkout's directory name (or configured name) for local
    path: Path | None = None
    branch: str | None = None
    components: dict[str, str] = field(default_factory=dict)
    # `[repos.paths]`: the globs the analysis reads this repository's paths by (see
    # bot/analysis/paths.PathRoles); plain data here, so the sources need no analysis.
    paths: PathRolesConfig = field(default_factory=PathRolesConfig)
    exclude_authors: tuple[str, ...] = ()
    exclude_paths: tuple[str, ...] = ()
    configured: bool = False

    @property
    def key(self) -> str:
        """The storage key: owner/name, or `local:<abs path>` for a checkout."""
        return self.name if self.kind == "github" else f"local:{self.path}"


def _from_config(entry: RepoConfig) -> RepoTarget:
    return RepoTarget(
        kind="local" if entry.path else "github",
        name=entry.name,
        path=entry.path,
        branch=entry.branch,
        components=dict(entry.components),
        paths=entry.paths,
        exclude_authors=entry.exclude_authors,
        exclude_paths=entry.exclude_paths,
        configured=True,
    )


class RepoResolver:
    """Maps user input to a RepoTarget, honouring aliases, the allowlist and local paths."""

    def __init__(self, config: AppConfig, *, allow_local_paths: bool = True) -> None:
        self._config = config
        self._allow_local = allow_local_paths
        self._by_key: dict[str, RepoConfig] = {}
        for entry in config.repos:
            self._by_key[entry.name.lower()] = entry
            for alias in entry.aliases:
                self._by_key[alias.lower()] = entry

    def names(self) -> list[str]:
        """Every configured name and alias (for help texts and autocomplete)."""
        return sorted(
            {e.name for e in self._config.repos}
            | {a for e in self._config.repos for a in e.aliases}
        )

    def resolve(self, text: str, *, for_chat: bool = False) -> RepoTarget:
        """Resolve `text`; chat users may not name local paths and must stay on the allowlist."""
        raw = text.strip()
        if not raw:
            raise InvalidInputError("Which repository? Give owner/name or a configured alias.")
        entry = self._by_key.get(raw.lower())
        if entry is not None:
            return _from_config(entry)
        looks_like_path = raw in {".", ".."} or raw.startswith(("/", "./", "../", "~"))
        if looks_like_path or (not for_chat and "/" not in raw and Path(raw).is_dir()):
            if for_chat or not self._allow_local:
                raise InvalidInputError("Local paths cannot be used here; name a repository.")
            return self._local(raw)
        if "/" in raw:
            name = raw.removeprefix("https://github.com/").removesuffix(".git").strip("/")
            if not REPO_NAME_RE.match(name):
                raise InvalidInputError(
                    f"'{_clip(raw)}' is not a valid GitHub repository name (owner/name)."
                )
            if for_chat and not self.is_allowed(name):
                raise RepoNotAllowedError(f"{name} is not on this bot's list of repositories.")
            return RepoTarget(kind="github", name=name)
        suggestions = difflib.get_close_matches(raw.lower(), list(self._by_key), n=3, cutoff=0.6)
        raise UnknownRepoError(_clip(raw), suggestions)

    def is_allowed(self, name: str) -> bool:
        access = self._config.access
        if access.allow_any_public_repo:
            return True
        allowed = {n.lower() for n in access.allowed_repos} | {
            e.name.lower() for e in self._config.repos
        }
        return name.lower() in allowed

    def _local(self, raw: str) -> RepoTarget:
        path = Path(raw).expanduser().resolve()
        if not path.is_dir():
            what = "does not exist" if not path.exists() else "is not a directory"
            raise InvalidInputError(f"'{_clip(raw)}' {what}.")
        root = checkout_root(path, shown=_clip(raw))
        for entry in self._config.repos:
            if entry.path and entry.path.resolve() == root:
                return _from_config(entry)
        return RepoTarget(kind="local", name=origin_github_name(root) or root.name, path=root)


def checkout_root(path: Path, *, shown: str | None = None) -> Path:
    """The repository holding the directory `path`: the top of its work tree, as
    `git rev-parse --show-toplevel` finds it (so `cd bot && digestbot digest .` reads the
    whole checkout); a bare repository (or a path inside a `.git` directory) is its git dir's
    owner. Raises InvalidInputError when `path` is in no git repository."""
    shown = shown if shown is not None else str(path)
    done = _git(path, "rev-parse", "--show-toplevel")
    if done.returncode == 0 and done.stdout.strip():
        return Path(done.stdout.strip()).resolve()
    # Not in a work tree: a bare repository, the inside of a .git directory, or no repository.
    probe = _git(path, "rev-parse", "--is-bare-repository", "--absolute-git-dir")
    if probe.returncode != 0:
        message = probe.stderr.strip() or done.stderr.strip()
        if "dubious ownership" in message or "safe.directory" in message:
            raise ConfigError(
                f"git refuses to read '{shown}': it belongs to another user. Allow it with "
                "git config --global --add safe.directory <path>.",
                detail=message[:500],
            )
        raise InvalidInputError(NOT_A_REPOSITORY.format(path=shown), detail=message[:500])
    bare, _, git_dir = probe.stdout.strip().partition("\n")
    directory = Path(git_dir.strip()).resolve()
    return directory if bare.strip() == "true" else directory.parent


def origin_github_name(root: Path) -> str | None:
    """`owner/name` of the checkout's `origin` remote when it is on github.com (https, ssh or
    scp-like form), else None. Read from the git config file: no subprocess, no network."""
    url = _origin_url(root)
    if url is None:
        return None
    match = _GITHUB_REMOTE_RE.match(url.strip())
    if match is None or not REPO_NAME_RE.match(match.group("name")):
        return None
    return match.group("name")


def _origin_url(root: Path) -> str | None:
    config = _git_dir(root) / "config"
    try:
        text = config.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    in_origin = False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("["):
            in_origin = stripped.replace(" ", "").lower() == '[remote"origin"]'
        elif in_origin and stripped.partition("=")[0].strip().lower() == "url":
            return stripped.partition("=")[2].strip().strip('"')
    return None


def _git_dir(root: Path) -> Path:
    """The directory holding the config: `.git`, what a `.git` file points at (a worktree's
    common dir, a submodule's module dir), or the root itself for a bare repository."""
    dot_git = root / ".git"
    if dot_git.is_dir():
        return dot_git
    if dot_git.is_file():
        try:
            line = dot_git.read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            return dot_git
        target = (root / line.removeprefix("gitdir:").strip()).resolve()
        common = target / "commondir"  # a linked worktree shares the main repository's config
        if common.is_file():
            try:
                return (target / common.read_text(encoding="utf-8").strip()).resolve()
            except OSError:
                return target
        return target
    return root


def _git(path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["git", "-C", str(path), *args],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=_GIT_TIMEOUT,
            check=False,
        )
    except FileNotFoundError as exc:
        raise SourceUnavailableError(
            "git is not installed; local repositories are read with it.", detail=str(exc)
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise SourceUnavailableError("git took too long.", detail=str(exc)) from exc


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
