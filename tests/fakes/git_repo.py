"""Builds real local git repositories with fixed authors and dates, for the git source tests."""

from __future__ import annotations

import os
import subprocess
from datetime import datetime
from pathlib import Path


class GitRepoBuilder:
    """`commit(...)` writes files and commits them with the given author and (aware) date."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q", "-b", "main")
        self.git("config", "user.email", "dev@example.com")
        self.git("config", "user.name", "Dev")
        self.git("config", "commit.gpgsign", "false")

    def git(self, *args: str, env: dict[str, str] | None = None) -> str:
        full_env = {**os.environ, "GIT_CONFIG_NOSYSTEM": "1", **(env or {})}
        return subprocess.run(
            ["git", "-C", str(self.path), *args],
            check=True,
            capture_output=True,
            text=True,
            env=full_env,
        ).stdout

    def commit(
        self,
        message: str,
        files: dict[str, str | None],
        *,
        when: datetime,
        author: str = "Dev",
        email: str = "dev@example.com",
    ) -> str:
        """Write (or, with None, delete) files and commit them; returns the full SHA."""
        for rel, content in files.items():
            target = self.path / rel
            if content is None:
                self.git("rm", "-q", rel)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, encoding="utf-8")
            self.git("add", rel)
        stamp = when.isoformat()
        env = {
            "GIT_AUTHOR_NAME": author,
            "GIT_AUTHOR_EMAIL": email,
            "GIT_AUTHOR_DATE": stamp,
            "GIT_COMMITTER_NAME": author,
            "GIT_COMMITTER_EMAIL": email,
            "GIT_COMMITTER_DATE": stamp,
        }
        self.git("commit", "-q", "--allow-empty", "-m", message, env=env)
        return self.git("rev-parse", "HEAD").strip()
