"""The one exception hierarchy: each error carries a short, safe message for users."""

from __future__ import annotations

from datetime import datetime


class DigestbotError(Exception):
    """Base of every error digestbot raises on purpose.

    `user_message` is short and safe to show in a chat or terminal (no secrets, no
    stack traces, no raw upstream bodies); the exception's `str()` may carry more
    detail and is for logs only. `exit_code` is what the CLI exits with.
    """

    exit_code = 1

    def __init__(
        self, user_message: str, *, detail: str | None = None, zh: str | None = None
    ) -> None:
        super().__init__(detail or user_message)
        self.user_message = user_message
        self.zh_message = zh  # the same message for a chat session held in Chinese

    def message_in(self, language: str | None) -> str:
        """`user_message` in the session's language when there is a translation."""
        if language == "zh" and self.zh_message:
            return self.zh_message
        return self.user_message


class ConfigError(DigestbotError):
    """The settings or the config file are missing something or contradict themselves."""

    exit_code = 78  # EX_CONFIG


class InvalidInputError(DigestbotError):
    """Something a user typed is malformed (repo name, SHA, date, window, option)."""

    exit_code = 2


class UnknownRepoError(InvalidInputError):
    """Neither an alias, a configured repo, a valid owner/name nor a local checkout."""

    def __init__(self, name: str, suggestions: list[str] | None = None) -> None:
        hint = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
        hint_zh = f"你是否指：{'、'.join(suggestions)}？" if suggestions else ""
        super().__init__(f"Unknown repository '{name}'.{hint}", zh=f"未知仓库 '{name}'。{hint_zh}")
        self.name = name
        self.suggestions = suggestions or []


class RepoNotAllowedError(DigestbotError):
    """The repository exists but is not on this bot's allowlist."""

    exit_code = 77  # EX_NOPERM


class NotFoundError(DigestbotError):
    """A repository, branch or commit does not exist (or is invisible to our token)."""

    exit_code = 4


class AmbiguousShaError(InvalidInputError):
    """A short SHA matches more than one commit."""

    def __init__(self, prefix: str, candidates: list[str]) -> None:
        shown = f" ({', '.join(c[:10] for c in candidates[:5])})" if candidates else ""
        super().__init__(
            f"'{prefix}' matches several commits{shown}; give more characters.",
            zh=f"'{prefix}' 匹配多个提交{shown}；请多给几位。",
        )
        self.candidates = candidates


class AccessDeniedError(DigestbotError):
    """401/403 from the source: bad or missing token, or no access to the repository."""

    exit_code = 77


class RateLimitedError(DigestbotError):
    """An upstream rate limit that would take longer than we are allowed to wait."""

    exit_code = 75  # EX_TEMPFAIL

    def __init__(self, service: str, reset_at: datetime | None, *, detail: str | None = None):
        when = f" until {reset_at:%H:%M:%S} UTC" if reset_at else ""
        super().__init__(f"{service} rate limit reached{when}; try again later.", detail=detail)
        self.service = service
        self.reset_at = reset_at


class SourceUnavailableError(DigestbotError):
    """The commit source could not be reached (network, 5xx, git failure)."""

    exit_code = 69  # EX_UNAVAILABLE


class AnalysisError(DigestbotError):
    """The LLM could not produce a valid analysis (the caller falls back to the heuristic)."""

    exit_code = 70


class PlatformError(DigestbotError):
    """A chat platform refused or failed a request after our retries."""

    exit_code = 69


class StorageError(DigestbotError):
    """The database could not be read or written."""

    exit_code = 74  # EX_IOERR


class MissingAccessError(PlatformError):
    """The platform says the bot may not see or post in a channel (Discord 403 with code 50001
    Missing Access or 50013 Missing Permissions).

    `failures` counts the refusals in a row for that channel. Once they repeat, `pause` is True
    and the adapter stops calling the platform for the channel for a while: the scheduler
    should pause the subscription (with a log line) instead of retrying every day.
    """

    def __init__(
        self,
        user_message: str,
        *,
        platform: str,
        channel_id: str,
        failures: int = 1,
        pause: bool = False,
        detail: str | None = None,
    ) -> None:
        super().__init__(user_message, detail=detail)
        self.platform = platform
        self.channel_id = channel_id
        self.failures = failures
        self.pause = pause


class WindowTooLargeError(InvalidInputError):
    """An on-demand digest's window holds more commits than one command may read.

    `fits_days` is how many whole days at the end of the window fit under the limit (0: not
    even the last day), so the caller can suggest a narrower window in its own words."""

    def __init__(self, commits: int, limit: int, fits_days: int, hint: str | None = None) -> None:
        super().__init__(
            f"That window has {commits} commits; the limit per chat command is {limit}. "
            + (hint or "Ask for a shorter window.")
        )
        self.commits = commits
        self.limit = limit
        self.fits_days = fits_days


class RequestBudgetError(DigestbotError):
    """The repository's hourly GitHub request budget for on-demand commands is used up, or too
    small for what a command needs (the scheduled posts are never counted against it);
    `retry_at` is when enough of it is free again (None: not within the hour)."""

    exit_code = 75  # EX_TEMPFAIL

    def __init__(
        self, repo: str, retry_at: datetime | None, *, needed: int = 0, remaining: int = 0
    ) -> None:
        when = f" at {retry_at:%H:%M} UTC" if retry_at else " later"
        if needed > remaining > 0:
            text = (
                f"This window needs about {needed} GitHub requests; on-demand digests of {repo} "
                f"have {remaining} left this hour. Ask for a shorter window, or try again{when}."
            )
        else:
            text = (
                f"On-demand digests of {repo} have used this hour's GitHub request budget; "
                f"try again{when}."
            )
        super().__init__(text)
        self.repo = repo
        self.retry_at = retry_at
