"""The doctor's GitHub and LLM checks: real PyGithub and openai clients against the fakes."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.config import AppConfig, RepoConfig, Settings
from bot.doctor import Check, render_table
from bot.doctor_remote import TOKEN_REFUSED, UPSTREAM_LIMIT, check_github, check_llm
from bot.logs import Redactor
from tests.fakes.git_repo import GitRepoBuilder
from tests.fakes.github_server import FakeGitHub
from tests.fakes.openai_server import FakeOpenAI, http_error, text

TOKEN = "ghp_doctordoctordoctordoctor000000"
KEY = "sk-doctor-0123456789abcdefghij"


def settings(**values: Any) -> Settings:
    base: dict[str, Any] = {"github_token": None, "openai_api_key": None}
    return Settings(_env_file=None, **{**base, **values})  # type: ignore[call-arg]


def config(*names: str, branch: str | None = None) -> AppConfig:
    return AppConfig(repos=tuple(RepoConfig(name=n, branch=branch) for n in names))


async def no_sleep(seconds: float) -> None:
    return None


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        fake.add_repo("acme/widget")
        fake.add_commit("acme/widget", "init", committed_at=datetime(2026, 2, 8, tzinfo=UTC))
        yield fake


# -- GitHub ----------------------------------------------------------------------------------


async def test_github_all_green(github: FakeGitHub) -> None:
    checks = await check_github(
        settings(github_api_url=github.url, github_token=TOKEN), config("acme/widget")
    )
    found = by_name(checks)
    assert found["github"].ok and not found["github"].skipped
    assert "authenticated" in found["github"].detail and "/5000" in found["github"].detail
    assert (
        found["repo acme/widget"].ok and "public, branch main" in found["repo acme/widget"].detail
    )
    assert github.count("/rate_limit", exact=True) == 1
    assert github.count("/repos/acme/widget", exact=True) == 1  # really requested
    auth = {r.headers.get("authorization") for r in github.requests}
    assert auth == {f"token {TOKEN}"} or auth == {f"Bearer {TOKEN}"}


async def test_bad_token_is_a_401_with_a_fix_and_repos_are_not_checked(github: FakeGitHub) -> None:
    github.fail_next("401", path_contains="/rate_limit")
    checks = await check_github(
        settings(github_api_url=github.url, github_token=TOKEN), config("acme/widget")
    )
    found = by_name(checks)
    assert not found["github"].ok and found["github"].detail == TOKEN_REFUSED
    assert found["github"].fix and "Contents: read" in found["github"].fix
    assert found["repo acme/widget"].skipped
    assert github.count("/repos") == 0


async def test_missing_repo_and_branch_are_404_with_a_fix(github: FakeGitHub) -> None:
    checks = await check_github(
        settings(github_api_url=github.url, github_token=TOKEN), config("acme/gone")
    )
    gone = by_name(checks)["repo acme/gone"]
    assert not gone.ok and "not found" in gone.detail
    assert gone.fix and "acme/gone" in gone.fix and "Repository access" in gone.fix
    checks = await check_github(
        settings(github_api_url=github.url, github_token=TOKEN),
        config("acme/widget", branch="nope"),
    )
    branch = by_name(checks)["repo acme/widget"]
    assert not branch.ok and "nope" in branch.detail and branch.fix and "branch" in branch.fix


async def test_forbidden_repo_explains_token_access(github: FakeGitHub) -> None:
    github.fail_next("403", path_contains="/repos/acme/widget")
    checks = await check_github(
        settings(github_api_url=github.url, github_token=TOKEN), config("acme/widget")
    )
    repo = by_name(checks)["repo acme/widget"]
    assert not repo.ok and "403" in repo.detail and repo.fix and "SSO" in repo.fix


async def test_exhausted_rate_limit_fails_and_without_token_suggests_one(
    github: FakeGitHub,
) -> None:
    github.remaining = 0
    checks = await check_github(settings(github_api_url=github.url), config("acme/widget"))
    rate = by_name(checks)["github"]
    assert not rate.ok and "no GITHUB_TOKEN, 0/5000" in rate.detail
    assert rate.fix and "set GITHUB_TOKEN" in rate.fix


async def test_rate_limited_answer_is_reported_not_waited_for(github: FakeGitHub) -> None:
    github.fail_next("rate_limit", path_contains="/rate_limit")
    checks = await check_github(
        settings(github_api_url=github.url, github_token=TOKEN), config(), sleep=no_sleep
    )
    rate = by_name(checks)["github"]
    assert not rate.ok and "rate limit" in rate.detail


async def test_github_failing_is_reported_after_the_transport_retries(github: FakeGitHub) -> None:
    github.fail_next("500", count=3, path_contains="/rate_limit")
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    checks = await check_github(
        settings(github_api_url=github.url, github_token=TOKEN), config(), sleep=sleep
    )
    rate = by_name(checks)["github"]
    assert not rate.ok and "500" in rate.detail and rate.fix and "GITHUB_API_URL" in rate.fix
    assert waits == [1.0, 2.0]


async def test_no_token_and_no_github_repos_is_skipped_local_repos_checked(tmp_path: Path) -> None:
    GitRepoBuilder(tmp_path / "w").commit(
        "init", {"a": "a\n"}, when=datetime(2026, 2, 8, tzinfo=UTC)
    )
    local = AppConfig(repos=(RepoConfig(name="w", path=tmp_path / "w"),))
    checks = await check_github(settings(github_api_url="http://127.0.0.1:9"), local)
    found = by_name(checks)
    assert found["github"].skipped and found["repo w"].ok


async def test_bad_api_url_is_a_config_failure() -> None:
    checks = await check_github(settings(github_api_url="ftp://x", github_token=TOKEN), config())
    assert not checks[0].ok and checks[0].fix and "GITHUB_API_URL" in checks[0].fix


# -- LLM -------------------------------------------------------------------------------------


def llm_settings(fake: FakeOpenAI) -> Settings:
    return settings(openai_api_key=KEY, openai_base_url=fake.base_url, llm_model="fake-model")


async def test_llm_skipped_without_key() -> None:
    check = await check_llm(settings())
    assert check.skipped and "OPENAI_API_KEY" in check.detail


async def test_llm_tiny_request_passes() -> None:
    with FakeOpenAI() as fake:
        fake.enqueue(text("OK"))
        check = await check_llm(llm_settings(fake))
    assert check.ok and "fake-model" in check.detail and "json_schema mode" in check.detail
    assert len(fake.requests) == 1 and fake.requests[0]["max_tokens"] == 1
    assert fake.requests[0]["response_format"]["type"] == "json_schema"  # as analyses ask
    assert KEY not in str(fake.requests[0])
    assert fake.request_headers[0]["authorization"] == f"Bearer {KEY}"


@pytest.mark.parametrize(
    ("status", "detail", "fix"),
    [
        (401, "refused OPENAI_API_KEY", "active key"),
        (403, "denied", "access to the model"),
        (404, "does not know model fake-model", "LLM_MODEL"),
        (400, "rejected a minimal request", "LLM_STRUCTURED_MODE=json_schema"),
        (429, "429", "quota"),
        (500, "failing (HTTP 500)", "retry later"),
    ],
)
async def test_llm_errors_each_have_a_fix(status: int, detail: str, fix: str) -> None:
    with FakeOpenAI() as fake:
        fake.enqueue(http_error(status))
        check = await check_llm(llm_settings(fake))
    assert not check.ok and detail in check.detail
    assert check.fix and fix in check.fix and "heuristic" in check.fix
    assert len(fake.requests) == 1  # no retries: the doctor reports the first answer


async def test_llm_unreachable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    check = await check_llm(
        settings(openai_api_key=KEY, openai_base_url=f"http://127.0.0.1:{port}/v1")
    )
    assert (
        not check.ok
        and "cannot reach" in check.detail
        and check.fix
        and "OPENAI_BASE_URL" in check.fix
    )


@pytest.mark.parametrize(("mode", "sent"), [("json_object", "json_object"), ("prompt", None)])
async def test_llm_ping_uses_the_configured_structured_mode(mode: str, sent: str | None) -> None:
    with FakeOpenAI() as fake:
        fake.enqueue(text("{}"))
        settings_ = llm_settings(fake).model_copy(update={"llm_structured_mode": mode})
        assert (await check_llm(settings_)).ok
    request = fake.requests[0]
    assert (request.get("response_format") or {}).get("type") == sent
    if sent == "json_object":  # OpenAI requires the word in the messages for this mode
        assert "JSON" in request["messages"][0]["content"]


# -- secrets in upstream messages ------------------------------------------------------------

ENTERPRISE_TOKEN = "s3cr3t0t0k3n0fr0m0th3nt3rpr1s3"  # 30 characters, no known token shape


class EchoingGitHub(FakeGitHub):
    """A GitHub (or a proxy before it) whose error message quotes the token it was sent, so
    that the 80-character cut of the quoted message falls inside the token."""

    def handle(
        self, method: str, path: str, query: dict[str, str], headers: dict[str, str]
    ) -> tuple[int, dict[str, str], Any]:
        if path == "/rate_limit":
            prefix = "x" * (UPSTREAM_LIMIT - 29)  # the cut keeps 29 of the token's 30 characters
            return 418, {}, {"message": f"{prefix}{ENTERPRISE_TOKEN} is not welcome here"}
        return super().handle(method, path, query, headers)


async def test_an_upstream_message_is_redacted_before_it_is_cut() -> None:
    with EchoingGitHub() as fake:
        fake.add_repo("acme/widget")
        checks = await check_github(
            settings(github_api_url=fake.url, github_token=ENTERPRISE_TOKEN), config()
        )
    rate = by_name(checks)["github"]
    assert not rate.ok and "HTTP 418" in rate.detail
    pieces = {ENTERPRISE_TOKEN[i : i + 8] for i in range(len(ENTERPRISE_TOKEN) - 7)}
    assert "[redacted] is not welcome" in rate.detail
    assert not any(piece in rate.detail for piece in pieces), rate.detail
    table = render_table(checks, Redactor([ENTERPRISE_TOKEN]))
    assert not any(piece in table for piece in pieces)
