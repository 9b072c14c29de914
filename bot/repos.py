"""Resolve what a user typed (alias, owner/name, local path) into a repository target."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from bot.config import REPO_NAME_RE, AppConfig, PathRolesConfig, RepoConfig
from bot.errors import InvalidInputError, RepoNotAllowedError, UnknownRepoError


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
        if not (path / ".git").exists() and not path.joinpath("HEAD").is_file():
            raise UnknownRepoError(_clip(raw), [])
        for entry in self._config.repos:
            if entry.path and entry.path.resolve() == path:
                return _from_config(entry)
        return RepoTarget(kind="local", name=path.name, path=path)


def _clip(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
