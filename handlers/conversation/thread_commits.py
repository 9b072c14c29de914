"""Which commit a thread reply is about: the repo and SHA from the digest behind the thread."""

from __future__ import annotations

from dataclasses import dataclass

from bot.errors import AmbiguousShaError, InvalidInputError
from bot.models import Language
from bot.repos import RepoTarget
from bot.storage.conversations import ThreadInfo
from handlers.conversation.authz import Authorizer


@dataclass(frozen=True)
class CommitRef:
    """A commit a reply is about; `sha` is full when the digest listed it, else the prefix."""

    repo: RepoTarget
    sha: str
    language: Language
    in_digest: bool


def locate_commit(
    authz: Authorizer,
    *,
    sha: str,
    repo_text: str | None,
    thread: ThreadInfo | None,
    explicit: bool,
    fallback_language: Language,
) -> CommitRef:
    """Resolve the repo (named, else the thread's digest's, else the only configured one)
    and match `sha` against the digest's commits.

    `explicit` (a `details` command or a button) may name commits outside the digest; a bare
    SHA or a question under a digest must name one of its commits."""
    language = _language(thread.language if thread else None) or fallback_language
    if repo_text is None and thread is not None and thread.repo:
        repo_text = thread.repo
    if repo_text is None:
        configured = {authz.repo(name).name for name in authz.repo_names()}
        if len(configured) != 1:
            raise InvalidInputError(
                f"Which repository? Use: details {sha} <repo>",
                zh=f"哪个仓库？请用：details {sha} <仓库>",
            )
        repo_text = configured.pop()
    repo = authz.repo(repo_text)
    if thread is not None and thread.repo and authz.repo(thread.repo) == repo:
        matches = [s for s in thread.shas if s.startswith(sha)]
        if len(matches) > 1:
            raise AmbiguousShaError(sha, matches)
        if matches:
            return CommitRef(repo, matches[0], language, True)
        if not explicit:
            raise InvalidInputError(
                f"{sha} is not one of this digest's commits. "
                f"For any commit of {repo.name}: details {sha} {repo.name}",
                zh=(
                    f"{sha} 不是这份摘要中的提交。"
                    f"查看 {repo.name} 的任意提交：details {sha} {repo.name}"
                ),
            )
    return CommitRef(repo, sha, language, False)


def _language(value: str | None) -> Language | None:
    if value == "zh":
        return "zh"
    if value == "en":
        return "en"
    return None
