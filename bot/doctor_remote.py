"""`digestbot doctor`'s checks of the remote dependencies the core uses: GitHub (rate limit, then
each configured repository) and the LLM endpoint (one tiny completion)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NoReturn

from bot.config import AppConfig, RepoConfig, Settings, secret_values
from bot.doctor import DETAIL_LIMIT, Check, check_local_repo
from bot.errors import (
    AccessDeniedError,
    AnalysisError,
    ConfigError,
    DigestbotError,
    NotFoundError,
    RateLimitedError,
    SourceUnavailableError,
)
from bot.logs import Redactor
from bot.sources.github_transport import GitHubTransport, Rejected

if TYPE_CHECKING:  # PyGithub and openai load when their probe runs, not for every doctor
    from github import Github

Sleep = Callable[[float], Awaitable[None]]

DOCTOR_TIMEOUT = 15.0  # seconds per request: the doctor should answer quickly
UPSTREAM_LIMIT = 80  # characters of an upstream message quoted in a detail (after redaction)
TOKEN_HELP = (
    "a fine-grained token (github.com → Settings → Developer settings → Fine-grained tokens) "
    "with Contents: read and Pull requests: read on the repositories, or a classic token with "
    "the repo scope (public_repo for public repositories only)"
)
TOKEN_REFUSED = "GitHub refused GITHUB_TOKEN (401 Bad credentials)"
# The word JSON must appear in the messages for json_object mode (OpenAI rejects it otherwise).
LLM_PING: list[dict[str, str]] = [{"role": "user", "content": 'Reply with the JSON {"ok": true}.'}]
PING_SCHEMA: dict[str, Any] = {
    "type": "json_schema",
    "json_schema": {
        "name": "ping",
        "strict": True,
        "schema": {
            "type": "object",
            "properties": {"ok": {"type": "boolean"}},
            "required": ["ok"],
            "additionalProperties": False,
        },
    },
}


# -- GitHub ----------------------------------------------------------------------------------


async def check_github(
    settings: Settings, config: AppConfig, *, sleep: Sleep | None = None
) -> list[Check]:
    """GET /rate_limit once, then each configured repository (GitHub ones: GET /repos/{name},
    and its branch when one is set; local ones: a git checkout on disk)."""
    local = [r for r in config.repos if r.path is not None]
    remote = [r for r in config.repos if r.path is None]
    checks = [check_local_repo(r) for r in local]
    redactor = Redactor(secret_values(settings))
    token = settings.github_token.get_secret_value().strip() if settings.github_token else ""
    if not remote and not token:
        return [
            Check.skip("github", "no GitHub repositories configured and no GITHUB_TOKEN"),
            *checks,
        ]
    try:
        transport = GitHubTransport.create(
            settings.github_api_url,
            token or None,
            concurrency=1,
            max_rate_limit_wait=0.0,  # report a rate limit, never wait for it
            timeout=min(settings.github_timeout, DOCTOR_TIMEOUT),
            sleep=sleep,
        )
    except ConfigError as exc:
        fix = "Set GITHUB_API_URL to https://api.github.com, or https://HOST/api/v3 (Enterprise)."
        return [Check.failed("github", exc.user_message, fix), *checks]
    try:
        rate = await _rate_limit(transport, bool(token), redactor)
        if rate.detail == TOKEN_REFUSED:
            skipped = [
                Check.skip(f"repo {r.name}", "not checked: GitHub refused the token")
                for r in remote
            ]
            return [rate, *skipped, *checks]
        repos = [await _repo(transport, r, bool(token), redactor) for r in remote]
    finally:
        await transport.aclose()
    return [rate, *repos, *checks]


async def _rate_limit(transport: GitHubTransport, has_token: bool, redactor: Redactor) -> Check:
    def fetch(client: Github) -> tuple[int, int, datetime]:
        core = client.get_rate_limit().resources.core
        return int(core.remaining), int(core.limit), core.reset

    def unexpected(r: Rejected) -> Any:
        raise SourceUnavailableError(_answered(r, redactor))

    try:
        async with transport.session("rate_limit") as session:
            remaining, limit, reset = await session.run(fetch, unexpected)
    except DigestbotError as exc:
        return _github_failure("github", exc, has_token, repo=None, redactor=redactor)
    auth = "authenticated" if has_token else "no GITHUB_TOKEN"
    when = reset.astimezone(UTC).strftime("%H:%M UTC")
    detail = f"{auth}, {remaining}/{limit} requests left until {when}"
    if remaining == 0:
        fix = (
            f"Wait until {when}"
            + (
                ""
                if has_token
                else f", or set GITHUB_TOKEN ({TOKEN_HELP}) for 5000 requests an hour"
            )
            + "."
        )
        return Check.failed("github", detail, fix)
    if not has_token:
        detail += " (set GITHUB_TOKEN for 5000/hour and private repos)"
    return Check.passed("github", detail)


async def _repo(
    transport: GitHubTransport, repo: RepoConfig, has_token: bool, redactor: Redactor
) -> Check:
    name, branch = repo.name, repo.branch
    label = f"repo {name}"

    def fetch(client: Github) -> tuple[bool, str]:
        gh_repo = client.get_repo(name)
        gh_repo.complete()  # the client is lazy: this is the GET /repos/{name}
        if branch:
            gh_repo.get_branch(branch)
        return bool(gh_repo.private), str(gh_repo.default_branch or "")

    def rejected(r: Rejected) -> NoReturn:
        if r.status == 404 and branch:
            raise NotFoundError(
                f"{name} or its branch {branch} was not found", detail=f"HTTP 404: {r.message}"
            )
        if r.status == 404:
            raise NotFoundError(f"{name} was not found", detail=f"HTTP 404: {r.message}")
        raise SourceUnavailableError(_answered(r, redactor))

    try:
        async with transport.session(name) as session:
            private, default = await session.run(fetch, rejected)
    except DigestbotError as exc:
        return _github_failure(label, exc, has_token, repo=repo, redactor=redactor)
    kind = "private" if private else "public"
    return Check.passed(label, f"{kind}, branch {branch or default}")


def _answered(r: Rejected, redactor: Redactor) -> str:
    """`GitHub answered HTTP 418 (…)`: the upstream message redacted, then cut (cutting first
    could leave most of a secret that no longer matches it)."""
    return f"GitHub answered HTTP {r.status} ({redactor.clip(r.message, UPSTREAM_LIMIT)})"


def _github_failure(
    name: str,
    exc: DigestbotError,
    has_token: bool,
    *,
    repo: RepoConfig | None,
    redactor: Redactor,
) -> Check:
    status = _status(exc)
    if isinstance(exc, AccessDeniedError) and status == 401:
        return Check.failed(
            name,
            TOKEN_REFUSED,
            f"Set GITHUB_TOKEN to a valid token: {TOKEN_HELP}. This one is "
            "wrong, expired or revoked.",
        )
    if isinstance(exc, AccessDeniedError):
        target = repo.name if repo is not None else "the API"
        return Check.failed(
            name,
            f"GitHub denied access to {target} (HTTP {status or 403})",
            "Give the token access to the repository: a fine-grained token "
            "needs it under Repository access, with Contents: read and Pull "
            "requests: read; if the organization uses SAML SSO, authorize the "
            "token for it (Configure SSO).",
        )
    if isinstance(exc, NotFoundError):
        assert repo is not None
        where = f"`{repo.name}`" + (f" (branch `{repo.branch}`)" if repo.branch else "")
        fix = f"Check the name {where} in the config file" + (
            "; a private repository also needs the token to have access to it "
            "(Repository access → select it)."
            if has_token
            else f"; a private repository needs GITHUB_TOKEN ({TOKEN_HELP})."
        )
        return Check.failed(name, redactor.clip(exc.user_message, DETAIL_LIMIT), fix)
    if isinstance(exc, RateLimitedError):
        fix = "Wait for the reset" + ("" if has_token else f", or set GITHUB_TOKEN ({TOKEN_HELP})")
        return Check.failed(name, redactor.clip(exc.user_message, DETAIL_LIMIT), fix + ".")
    return Check.failed(
        name,
        redactor.clip(exc.user_message, DETAIL_LIMIT),
        "Check GITHUB_API_URL (GitHub Enterprise: https://HOST/api/v3), the "
        "network and proxy, and https://www.githubstatus.com.",
    )


def _status(exc: BaseException) -> int | None:
    from github import GithubException

    cause = exc.__cause__
    return cause.status if isinstance(cause, GithubException) else None


# -- LLM -------------------------------------------------------------------------------------


async def check_llm(settings: Settings) -> Check:
    """One chat completion of at most one token through the configured client, in the
    configured structured mode (an endpoint that cannot do json_schema fails here, not on
    every commit)."""
    if not settings.llm_enabled or settings.openai_api_key is None:
        return Check.skip("llm", "no OPENAI_API_KEY: commits get the offline heuristic analysis")
    from bot.analysis.llm_factory import build_llm_client  # openai loads here, when it is used

    endpoint = settings.openai_base_url or "https://api.openai.com/v1"
    mode = settings.llm_structured_mode
    client = build_llm_client(
        settings,
        timeout=min(settings.llm_timeout, DOCTOR_TIMEOUT),
        max_retries=0,  # the doctor reports the first answer
    )
    try:
        reply = await client.complete(
            LLM_PING, response_format=_ping_format(mode), max_tokens=1, temperature=0
        )
    except (AnalysisError, RateLimitedError) as exc:
        check = _llm_failure(exc, settings.llm_model, endpoint, mode)
        redactor = Redactor(secret_values(settings))
        return Check.failed(check.name, redactor.clip(check.detail, DETAIL_LIMIT), check.fix or "")
    finally:
        await client.aclose()
    return Check.passed("llm", f"{reply.model} at {endpoint} answered ({mode} mode)")


def _ping_format(mode: str) -> dict[str, Any] | None:
    if mode == "json_schema":
        return PING_SCHEMA
    return {"type": "json_object"} if mode == "json_object" else None


def _llm_failure(exc: DigestbotError, model: str, endpoint: str, mode: str) -> Check:
    import openai

    cause = exc.__cause__
    fallback = " Until then digests use the heuristic analysis (marked as a fallback)."
    if isinstance(exc, RateLimitedError):
        return Check.failed(
            "llm",
            f"{endpoint} answered 429 (rate limit or no quota left)",
            "Check the account's quota and billing, or lower LLM_CONCURRENCY." + fallback,
        )
    if isinstance(cause, openai.AuthenticationError):
        return Check.failed(
            "llm",
            f"{endpoint} refused OPENAI_API_KEY (401)",
            "Set OPENAI_API_KEY to an active key of this provider; a key of "
            "another provider needs its OPENAI_BASE_URL too." + fallback,
        )
    if isinstance(cause, openai.PermissionDeniedError):
        return Check.failed(
            "llm",
            f"{endpoint} denied the key access (403)",
            f"Give the key access to the model {model} (project or "
            "organization settings)." + fallback,
        )
    if isinstance(cause, openai.NotFoundError):
        return Check.failed(
            "llm",
            f"{endpoint} does not know model {model} (404)",
            "Set LLM_MODEL to a model this endpoint serves, and check "
            "OPENAI_BASE_URL (it usually ends in /v1)." + fallback,
        )
    if isinstance(cause, openai.BadRequestError):
        return Check.failed(
            "llm",
            f"{endpoint} rejected a minimal request (400)",
            f"Check that {model} is a chat model this endpoint serves and that it supports "
            f"LLM_STRUCTURED_MODE={mode} (DeepSeek, Qwen: json_object; when unsure: prompt); "
            "`digestbot -v doctor` shows its message." + fallback,
        )
    if isinstance(cause, openai.APIStatusError):
        return Check.failed(
            "llm",
            f"{endpoint} is failing (HTTP {cause.status_code})",
            "The provider has a problem; retry later or check its status page." + fallback,
        )
    if isinstance(cause, openai.APITimeoutError | openai.APIConnectionError):
        return Check.failed(
            "llm",
            f"cannot reach {endpoint}",
            "Check OPENAI_BASE_URL (e.g. http://localhost:11434/v1 for Ollama), "
            "that the server runs, and the network or proxy." + fallback,
        )
    return Check.failed(
        "llm", exc.user_message, "Run `digestbot -v doctor` for the details." + fallback
    )
