"""Runs PyGithub calls in worker threads with bounded rate-limit waits, retries, error mapping."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

from github import (
    Auth,
    BadAttributeException,
    Github,
    GithubException,
    RateLimitExceededException,
)

from bot.costs import count_request
from bot.errors import (
    AccessDeniedError,
    ConfigError,
    RateLimitedError,
    SourceUnavailableError,
)
from bot.metrics import GitHubObserver

log = logging.getLogger(__name__)

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], datetime]

SERVICE = "GitHub"
USER_AGENT = "digestbot"
# Waits before the retries after a 5xx answer or a network failure; then we give up.
RETRY_BACKOFF: tuple[float, ...] = (1.0, 2.0)
# A secondary limit without Retry-After: "wait for at least one minute before retrying".
# https://docs.github.com/en/rest/using-the-rest-api/rate-limits-for-the-rest-api#exceeding-the-rate-limit
SECONDARY_LIMIT_WAIT = 60.0
# x-ratelimit-reset is in whole epoch seconds; wait a little past it.
RESET_MARGIN = 1.0


@dataclass(frozen=True)
class Rejected:
    """A 4xx answer that is neither an auth failure nor a rate limit; the caller decides."""

    status: int
    message: str


def _utcnow() -> datetime:
    return datetime.now(UTC)


def normalize_api_url(base_url: str) -> str:
    """The API base URL without a trailing slash; ConfigError unless it is http(s)://host[/path]."""
    url = base_url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ConfigError(f"GITHUB_API_URL must be an http(s) URL, not '{base_url[:80]}'.")
    return url


class _ClientPool:
    """One PyGithub client per concurrent operation.

    PyGithub's connection object is not thread-safe (`request()` stores the URL that a later
    `getresponse()` sends), so two threads must never share a client; each operation checks
    one out for its whole duration, which also bounds concurrency.
    """

    def __init__(self, factory: Callable[[], Github], size: int) -> None:
        self._factory = factory
        self._idle: list[Github] = []
        self._slots = asyncio.Semaphore(size)
        self._closed = False

    async def acquire(self) -> Github:
        await self._slots.acquire()
        if self._closed:
            self._slots.release()
            raise SourceUnavailableError("The GitHub source is closed.")
        return self._idle.pop() if self._idle else self._factory()

    def release(self, client: Github, *, reuse: bool = True) -> None:
        """Return a client; one that may still be in use (`reuse=False`) is closed by its owner."""
        if reuse and not self._closed:
            self._idle.append(client)
        elif reuse:
            client.close()
        self._slots.release()

    def drain(self) -> list[Github]:
        self._closed = True
        idle, self._idle = self._idle, []
        return idle


class GitHubTransport:
    """The bounded thread pool, the client pool and the retry policy shared by a source."""

    def __init__(
        self,
        *,
        clients: _ClientPool,
        executor: ThreadPoolExecutor,
        max_rate_limit_wait: float,
        sleep: Sleep,
        clock: Clock,
    ) -> None:
        self._clients = clients
        self._executor = executor
        self.max_rate_limit_wait = max_rate_limit_wait
        self.sleep = sleep
        self.clock = clock

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
    ) -> GitHubTransport:
        """Build (no I/O) a transport; clients are made lazily, at most `concurrency` of them.
        `observer` (metrics) hears of every response."""
        if concurrency < 1:
            raise ConfigError("GITHUB_CONCURRENCY must be at least 1.")
        api_url = normalize_api_url(base_url)
        auth = Auth.Token(token) if token else None
        timeout_s = max(1, math.ceil(timeout))  # PyGithub asserts an int

        def make_client() -> Github:
            # retry=None: no urllib3 retries and no GithubRetry (which may sleep up to an hour on
            # a rate limit); seconds_between_*=None: no 0.25 s/1 s throttle between requests.
            client = Github(
                auth=auth,
                base_url=api_url,
                timeout=timeout_s,
                user_agent=USER_AGENT,
                per_page=100,
                retry=None,
                seconds_between_requests=None,
                seconds_between_writes=None,
                lazy=True,
            )
            count_requests(client)
            if observer is not None:
                observe_responses(client, observer)
            return client

        return cls(
            clients=_ClientPool(make_client, concurrency),
            executor=ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="github"),
            max_rate_limit_wait=max_rate_limit_wait,
            sleep=sleep or asyncio.sleep,
            clock=clock or _utcnow,
        )

    @asynccontextmanager
    async def session(self, repo: str) -> AsyncIterator[GitHubSession]:
        """A client for one operation on `repo`, with its own rate-limit wait budget."""
        client = await self._clients.acquire()
        session = GitHubSession(self, client, repo)
        try:
            yield session
        finally:
            self._clients.release(client, reuse=not session.abandoned)

    def submit(self, fn: Callable[[Github], T], client: Github) -> asyncio.Future[T]:
        # In a copy of the caller's context, so each request is counted against the command
        # that caused it (bot/costs.py), as asyncio.to_thread would do.
        context = contextvars.copy_context()
        return asyncio.wrap_future(self._executor.submit(context.run, fn, client))

    async def aclose(self) -> None:
        idle = self._clients.drain()
        await asyncio.to_thread(self._executor.shutdown, wait=True, cancel_futures=True)
        for client in idle:
            client.close()


class GitHubSession:
    """Runs one operation's PyGithub calls on one client, one call at a time."""

    def __init__(self, transport: GitHubTransport, client: Github, repo: str) -> None:
        self._transport = transport
        self._client = client
        self.repo = repo
        self.waited = 0.0
        self.abandoned = False

    async def run(self, fn: Callable[[Github], T], on_rejected: Callable[[Rejected], T]) -> T:
        """`fn(client)` in a worker thread; waits out short rate limits, retries 5xx/network.

        Raises AccessDeniedError, RateLimitedError or SourceUnavailableError; other 4xx answers
        go to `on_rejected`, which returns a fallback result or raises a bot.errors type.
        """
        failures = 0
        while True:
            future = self._transport.submit(fn, self._client)
            try:
                return await future
            except asyncio.CancelledError:
                # The thread may still be using the client: never hand it to another operation.
                self.abandoned = True
                future.add_done_callback(_closer(self._client))
                raise
            except GithubException as exc:
                wait = self._rate_limit_wait(exc)
                if wait is not None:
                    await self._wait_out(*wait, exc)
                    continue
                if exc.status in (401, 403):
                    log.warning("GitHub %s for %s: %s", exc.status, self.repo, _message(exc))
                    raise AccessDeniedError(
                        f"GitHub denied access to {self.repo}: check GITHUB_TOKEN.",
                        detail=f"HTTP {exc.status}: {_message(exc)}",
                    ) from exc
                if exc.status < 500:
                    return on_rejected(Rejected(exc.status, _message(exc)))
                failures += 1
                detail = f"HTTP {exc.status}: {_message(exc)}"
                user = f"GitHub is failing right now (HTTP {exc.status}); try again later."
            except OSError as exc:  # requests' ConnectionError, Timeout, ... are OSErrors
                failures += 1
                detail = f"{type(exc).__name__}: {exc}"
                user = "Could not reach GitHub; try again later."
            except (ValueError, RuntimeError, AssertionError, BadAttributeException) as exc:
                # Malformed JSON, a redirect to another host, a URL PyGithub refuses to follow,
                # a field of the wrong type: not worth retrying.
                log.exception("Unexpected answer from GitHub for %s", self.repo)
                raise SourceUnavailableError(
                    "GitHub gave an answer digestbot could not read; try again later.",
                    detail=f"{type(exc).__name__}: {exc}",
                ) from exc
            if failures > len(RETRY_BACKOFF):
                log.warning("GitHub unavailable for %s (%d tries): %s", self.repo, failures, detail)
                raise SourceUnavailableError(user, detail=detail)
            log.info("GitHub call for %s failed (%s); retrying", self.repo, detail)
            await self._transport.sleep(RETRY_BACKOFF[failures - 1])

    def _rate_limit_wait(self, exc: GithubException) -> tuple[float, datetime] | None:
        """(seconds to wait, when the limit resets) if `exc` is a rate limit, else None."""
        if exc.status not in (403, 429):
            return None
        headers = {str(k).lower(): str(v) for k, v in (exc.headers or {}).items()}
        now = self._transport.clock()
        retry_after = headers.get("retry-after")
        if retry_after is not None:
            try:
                seconds = max(0.0, float(retry_after))
            except ValueError:
                seconds = SECONDARY_LIMIT_WAIT
            return seconds, now + timedelta(seconds=seconds)
        if headers.get("x-ratelimit-remaining") == "0" and "x-ratelimit-reset" in headers:
            try:
                reset_at = datetime.fromtimestamp(int(headers["x-ratelimit-reset"]), UTC)
            except (ValueError, OverflowError, OSError):
                reset_at = now + timedelta(seconds=SECONDARY_LIMIT_WAIT)
            return max(0.0, (reset_at - now).total_seconds()) + RESET_MARGIN, reset_at
        if exc.status == 429 or isinstance(exc, RateLimitExceededException):
            return SECONDARY_LIMIT_WAIT, now + timedelta(seconds=SECONDARY_LIMIT_WAIT)
        return None

    async def _wait_out(self, seconds: float, reset_at: datetime, exc: GithubException) -> None:
        budget = self._transport.max_rate_limit_wait
        if self.waited + seconds > budget:
            log.warning(
                "GitHub rate limit for %s: reset at %s, beyond our %.0f s wait budget",
                self.repo,
                reset_at.isoformat(),
                budget,
            )
            raise RateLimitedError(
                SERVICE, reset_at, detail=f"HTTP {exc.status}: {_message(exc)}"
            ) from exc
        log.info("GitHub rate limit for %s: waiting %.1f s", self.repo, seconds)
        self.waited += seconds
        await self._transport.sleep(seconds)


def count_requests(client: Github) -> None:
    """Count every REST call of `client` against the current command's meter, if any (the
    same hook as `observe_responses`: every call PyGithub makes for us goes through it)."""
    requester = client.requester
    send = requester.requestJson

    def request_json(*args: Any, **kwargs: Any) -> tuple[int, dict[str, Any], str]:
        count_request()
        return send(*args, **kwargs)

    requester.requestJson = request_json  # type: ignore[method-assign]


def observe_responses(client: Github, observer: GitHubObserver) -> None:
    """Report each response of `client` to `observer`. PyGithub has no response hook; every
    REST call it makes for us (pages, completions, the SHA lookup) goes through the
    requester's `requestJson`, which returns the status and headers of each response."""
    requester = client.requester
    send = requester.requestJson

    def request_json(*args: Any, **kwargs: Any) -> tuple[int, dict[str, Any], str]:
        try:
            status, headers, output = send(*args, **kwargs)
        except OSError:  # no answer (connection refused, timeout)
            observer.github_response(None, None)
            raise
        observer.github_response(status, headers)
        return status, headers, output

    requester.requestJson = request_json  # type: ignore[method-assign]


def _closer(client: Github) -> Callable[[object], None]:
    def close(_: object) -> None:
        client.close()

    return close


def _message(exc: GithubException) -> str:
    if exc.message:
        return exc.message
    data = exc.data
    if isinstance(data, dict) and isinstance(data.get("message"), str):
        return str(data["message"])
    return ""
