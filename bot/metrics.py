"""Prometheus metrics: one registry per process, built in the composition root and passed down.

The observer Protocols below are the seams the core calls (the digest service, the GitHub
transport, the delivery runner); `Metrics` implements all of them over its own
`CollectorRegistry` (never prometheus_client's global one), and `NO_METRICS` is the no-op used
when nothing was passed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from bot.errors import (
    AccessDeniedError,
    ConfigError,
    DigestbotError,
    InvalidInputError,
    MissingAccessError,
    NotFoundError,
    PlatformError,
    RateLimitedError,
    RepoNotAllowedError,
    SourceUnavailableError,
    StorageError,
)
from bot.models import CommitAnalysis

PREFIX = "digestbot"
CACHES = ("commit", "analysis")
# Command latency: an acked help is milliseconds, a cold digest with an LLM can take minutes.
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)
# Labels of digestbot_deliveries_failed_total: a bounded set, whatever the error text said.
DELIVERY_REASONS = frozenset(
    {
        "missing_access",
        "platform",
        "rate_limited",
        "source_access",
        "not_found",
        "source_unavailable",
        "storage",
        "config",
        "not_allowed",
        "invalid_input",
        "timeout",
        "missed",
        "interrupted",
        "unsubscribed",
        "internal",
        "other",
    }
)


class DigestObserver(Protocol):
    """What the digest service reports: digests, cache lookups and fresh analyses."""

    def digest_built(self, repo: str, analyzers: Iterable[str]) -> None: ...

    def cache_lookups(self, cache: str, *, hits: int, misses: int) -> None: ...

    def analyses_made(self, analyses: Iterable[CommitAnalysis]) -> None: ...


class GitHubObserver(Protocol):
    """Called (from worker threads) once per GitHub REST response; status None: no answer."""

    def github_response(self, status: int | None, headers: Mapping[str, object] | None) -> None: ...


class DeliveryObserver(Protocol):
    """What the delivery runner reports: an attempt failed, with a label from
    `delivery_failure_reason` (or "missed" / "interrupted" / "unsubscribed")."""

    def delivery_failed(self, reason: str) -> None: ...


class CommandObserver(Protocol):
    """What the conversation layer reports: answered commands and posted digests."""

    def now(self) -> float: ...

    def command_finished(self, platform: str, command: str, started: float) -> None: ...

    def digest_posted(self, platform: str) -> None: ...


def delivery_failure_reason(exc: BaseException | None) -> str:
    """A bounded label for a failed delivery attempt (None: an unexpected error)."""
    if exc is None:
        return "internal"
    kinds: tuple[tuple[type[BaseException], str], ...] = (
        (MissingAccessError, "missing_access"),
        (RateLimitedError, "rate_limited"),
        (PlatformError, "platform"),
        (AccessDeniedError, "source_access"),
        (NotFoundError, "not_found"),
        (SourceUnavailableError, "source_unavailable"),
        (StorageError, "storage"),
        (ConfigError, "config"),
        (RepoNotAllowedError, "not_allowed"),
        (InvalidInputError, "invalid_input"),
        (TimeoutError, "timeout"),
    )
    for kind, label in kinds:
        if isinstance(exc, kind):
            return label
    return "other" if isinstance(exc, DigestbotError) else "internal"


class Metrics:
    """Every digestbot metric, in a registry of its own. Thread-safe (prometheus_client is)."""

    def __init__(
        self,
        *,
        registry: CollectorRegistry | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        self._clock = clock
        # The hit ratio gauge reads these (reading the registry while it is collected would
        # recurse).
        self._lookups = {(cache, result): 0 for cache in CACHES for result in ("hit", "miss")}
        self._lock = threading.Lock()
        reg = self.registry
        self.digests_built = Counter(
            f"{PREFIX}_digests_built",
            "Digests built, by repository and analyzer(s) used.",
            ["repo", "analyzer"],
            registry=reg,
        )
        self.digests_posted = Counter(
            f"{PREFIX}_digests_posted",
            "Digests posted to a chat, by platform.",
            ["platform"],
            registry=reg,
        )
        self.deliveries_failed = Counter(
            f"{PREFIX}_deliveries_failed",
            "Failed attempts of scheduled posts, by reason.",
            ["reason"],
            registry=reg,
        )
        self.llm_analyses = Counter(
            f"{PREFIX}_llm_analyses",
            "Commit analyses sent to the LLM: ok, or fallback (the heuristic answered instead).",
            ["outcome"],
            registry=reg,
        )
        self.llm_tokens = Counter(
            f"{PREFIX}_llm_tokens",
            "LLM tokens of commit analyses, prompt or completion.",
            ["kind"],
            registry=reg,
        )
        self.github_requests = Counter(
            f"{PREFIX}_github_requests",
            "GitHub REST requests, by HTTP status (error: none).",
            ["status"],
            registry=reg,
        )
        self.github_remaining = Gauge(
            f"{PREFIX}_github_rate_limit_remaining",
            "x-ratelimit-remaining of the latest GitHub response.",
            registry=reg,
        )
        self.github_reset = Gauge(
            f"{PREFIX}_github_rate_limit_reset_timestamp_seconds",
            "x-ratelimit-reset (Unix time) of the latest GitHub response.",
            registry=reg,
        )
        self.command_latency = Histogram(
            f"{PREFIX}_command_duration_seconds",
            "Time from receiving a chat command to its last reply, by platform and command.",
            ["platform", "command"],
            buckets=LATENCY_BUCKETS,
            registry=reg,
        )
        self.cache = Counter(
            f"{PREFIX}_cache_lookups",
            "Commit-detail and analysis cache lookups, by cache and result (hit or miss).",
            ["cache", "result"],
            registry=reg,
        )
        ratio = Gauge(
            f"{PREFIX}_cache_hit_ratio",
            "Cache hits / lookups since the process started (NaN before the first lookup).",
            ["cache"],
            registry=reg,
        )
        for cache in CACHES:
            ratio.labels(cache).set_function(self._ratio_of(cache))
            for result in ("hit", "miss"):
                self.cache.labels(cache, result)  # exported as 0 from the start

    # -- DigestObserver ----------------------------------------------------------------------

    def digest_built(self, repo: str, analyzers: Iterable[str]) -> None:
        used = sorted(set(analyzers))
        self.digests_built.labels(repo, "+".join(used) or "none").inc()

    def cache_lookups(self, cache: str, *, hits: int, misses: int) -> None:
        with self._lock:
            self._lookups[(cache, "hit")] = self._lookups.get((cache, "hit"), 0) + hits
            self._lookups[(cache, "miss")] = self._lookups.get((cache, "miss"), 0) + misses
        if hits:
            self.cache.labels(cache, "hit").inc(hits)
        if misses:
            self.cache.labels(cache, "miss").inc(misses)

    def analyses_made(self, analyses: Iterable[CommitAnalysis]) -> None:
        """Count the LLM's part of freshly computed analyses (their provenance says it)."""
        for analysis in analyses:
            prov = analysis.provenance
            if prov.analyzer == "llm":
                self.llm_analyses.labels("ok").inc()
            elif prov.fallback_reason:
                self.llm_analyses.labels("fallback").inc()
            if prov.prompt_tokens:
                self.llm_tokens.labels("prompt").inc(prov.prompt_tokens)
            if prov.completion_tokens:
                self.llm_tokens.labels("completion").inc(prov.completion_tokens)

    # -- GitHubObserver ----------------------------------------------------------------------

    def github_response(self, status: int | None, headers: Mapping[str, object] | None) -> None:
        self.github_requests.labels(str(status) if status is not None else "error").inc()
        found = {str(k).lower(): v for k, v in (headers or {}).items()}
        remaining = _number(found.get("x-ratelimit-remaining"))
        if remaining is not None:
            self.github_remaining.set(remaining)
        reset = _number(found.get("x-ratelimit-reset"))
        if reset is not None:
            self.github_reset.set(reset)

    # -- DeliveryObserver --------------------------------------------------------------------

    def delivery_failed(self, reason: str) -> None:
        self.deliveries_failed.labels(reason if reason in DELIVERY_REASONS else "other").inc()

    # -- CommandObserver ---------------------------------------------------------------------

    def now(self) -> float:
        return self._clock()

    def command_finished(self, platform: str, command: str, started: float) -> None:
        elapsed = max(0.0, self._clock() - started)
        self.command_latency.labels(platform, command).observe(elapsed)

    def digest_posted(self, platform: str) -> None:
        self.digests_posted.labels(platform).inc()

    # -- reading -----------------------------------------------------------------------------

    def render(self) -> tuple[bytes, str]:
        """(body, content type) for `GET /metrics`, in the Prometheus text format."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def value(self, name: str, labels: Mapping[str, str] | None = None) -> float:
        """One sample's current value (0 when absent), e.g. value("digestbot_digests_built_total",
        {"repo": "acme/widget", "analyzer": "heuristic"})."""
        found = self.registry.get_sample_value(name, dict(labels or {}))
        return float(found) if found is not None else 0.0

    def cache_hit_ratio(self, cache: str) -> float:
        return self._ratio_of(cache)()

    def _ratio_of(self, cache: str) -> Callable[[], float]:
        def ratio() -> float:
            with self._lock:
                hits = self._lookups.get((cache, "hit"), 0)
                total = hits + self._lookups.get((cache, "miss"), 0)
            return hits / total if total else float("nan")

        return ratio


class NullMetrics:
    """Every observer Protocol, doing nothing: the default where no Metrics was passed."""

    def digest_built(self, repo: str, analyzers: Iterable[str]) -> None:
        return None

    def cache_lookups(self, cache: str, *, hits: int, misses: int) -> None:
        return None

    def analyses_made(self, analyses: Iterable[CommitAnalysis]) -> None:
        return None

    def github_response(self, status: int | None, headers: Mapping[str, object] | None) -> None:
        return None

    def delivery_failed(self, reason: str) -> None:
        return None

    def now(self) -> float:
        return 0.0

    def command_finished(self, platform: str, command: str, started: float) -> None:
        return None

    def digest_posted(self, platform: str) -> None:
        return None


NO_METRICS = NullMetrics()


def _number(value: object) -> float | None:
    try:
        return float(str(value)) if value is not None else None
    except ValueError:
        return None
