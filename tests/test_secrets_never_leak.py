"""Secrets never leak: with a canary value in every secret setting, DEBUG logs (plain and JSON),
the CLI's output, the LLM request bodies and the chat payloads never contain one.

Scenarios: digests through the CLI against the fake GitHub and OpenAI (a good one; GitHub 401;
a GitHub rate limit; LLM 401 and 500 with fallbacks), chat through real bolt dispatch against
the fake Slack API (a digest, a thread question answered by the LLM, a details request, a failing
digest), and `digestbot doctor` with failing checks on every dependency. Authorization headers
sent to the fakes carry tokens, as they must; bodies and logs may not.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from discord.http import Route
from pydantic import SecretStr
from pydantic_settings import BaseSettings

import digestbot.cli
import digestbot.commands
from bot.config import Settings, secret_values
from bot.logs import configure_logging
from digestbot.chat_wiring import build_answerer
from digestbot.settings_loading import load_platform_settings
from digestbot.wiring import build_core
from handlers.registry import PLATFORMS
from handlers.runtime.pacing import ChannelPacer
from handlers.slack.outbound import RetryAfterHandler
from handlers.slack.service import SlackBot
from handlers.slack.settings import SlackConfig, SlackSettings
from tests.fakes.chat import preserved_logging
from tests.fakes.conversations import conversation_of
from tests.fakes.discord_api import FakeDiscordApi
from tests.fakes.feishu_api import APP_ID, FakeFeishuApi
from tests.fakes.github_server import FakeFile, FakeGitHub, FakePull
from tests.fakes.openai_server import FakeOpenAI, Scripted, http_error, sample_analysis, text, valid
from tests.fakes.slack_api import FakeSlackApi
from tests.fakes.slack_requests import (
    FORM,
    JSON,
    event_callback,
    message_event,
    signed_request,
    slash_command,
)

REPO = "acme/widget"
NOW = datetime(2026, 2, 9, 12, 0, tzinfo=UTC)
# One canary per secret setting; the shapes are the real ones (the redactor also knows them).
CANARIES: dict[str, str] = {
    "GITHUB_TOKEN": "ghp_C4nAryGitHubClassicToken0000000001",
    "OPENAI_API_KEY": "sk-c4nary-openai-key-00000000000000002",
    "SLACK_BOT_TOKEN": "xoxb-0000000003-0000000003-c4naryslackbottoken",
    "SLACK_APP_TOKEN": "xapp-1-A00000004-0000000004-c4naryslackapptoken",
    "SLACK_SIGNING_SECRET": "c4narysigningsecret00000000000005",
    "FEISHU_APP_SECRET": "c4naryfeishuappsecret000000000006",
    "FEISHU_ENCRYPT_KEY": "c4naryfeishuencryptkey00000000007",
    "FEISHU_VERIFICATION_TOKEN": "c4naryfeishuverifytoken000000008",
    "DISCORD_BOT_TOKEN": "MTEwMDAwMDAwMDAwMDAwMDAwOQ.C4nary.discordbottoken000000009",
    "GITHUB_WEBHOOK_SECRET": "c4narygithubwebhooksecret0000000012",
    "DIGESTBOT_PAGES_SECRET": "c4narydigestbotpagessecret000000013",
}
GITHUB_PAT = "github_pat_11C4NARY000000000000010_c4naryfinegrainedpersonaltoken0000000010"
DB_PASSWORD = "c4narydbpassword0011"
ALL_CANARIES = (*CANARIES.values(), GITHUB_PAT, DB_PASSWORD)
OWN_LOGGERS = ("bot", "handlers", "digestbot", "formatters")


class RawRecords(logging.Handler):
    """Our own loggers' records before any redaction: our code must not even hand a secret to
    the logging system (library loggers may, and rely on the redacting formatter)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.split(".")[0] in OWN_LOGGERS:
            self.lines.append(record.getMessage() + " " + repr(vars(record)))


@dataclass
class Evidence:
    """Everything a secret could leak into."""

    texts: list[str] = field(default_factory=list)

    def add(self, label: str, value: Any) -> None:
        self.texts.append(
            f"[{label}] " + (value if isinstance(value, str) else json.dumps(value, default=str))
        )

    def assert_clean(self) -> None:
        for canary in ALL_CANARIES:
            for text_ in self.texts:
                assert canary not in text_, f"leak of {canary[:12]}… in {text_[:200]}"


def llm_answer(body: dict[str, Any]) -> Scripted:
    shape = json.dumps(body.get("response_format") or body["messages"][0]["content"])
    if '"overview"' in shape:
        return valid({"overview": "A quiet day."})
    if body.get("response_format") is None and "question" in shape.lower():
        return text("It makes the parser stricter.")
    return valid(sample_analysis(importance="high", summary="Tightens the parser."))


@pytest.fixture
def github() -> Iterator[FakeGitHub]:
    with FakeGitHub() as fake:
        fake.add_repo(REPO)
        for hour in (9, 11):
            fake.add_commit(
                REPO,
                f"fix(parser): handle case {hour} (#{hour})\n\nDetails of the fix.",
                committed_at=datetime(2026, 2, 8, hour, tzinfo=UTC),
                files=[FakeFile(f"src/parser/p{hour}.py", "modified", 3, 1, "@@ -1 +1 @@\n+ok")],
                pulls=[FakePull(hour, f"Fix case {hour}", "Body.", ["bug"])],
            )
        yield fake


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, github: FakeGitHub) -> pytest.MonkeyPatch:
    """Every secret set to its canary; the fakes as the endpoints; a config naming the repo."""
    monkeypatch.chdir(tmp_path)
    for name in ("DATABASE_URL", "DIGESTBOT_TZ", "LOG_LEVEL", "SLACK_MODE", "FEISHU_MODE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in CANARIES.items():
        monkeypatch.setenv(name, value)
    config = tmp_path / "digestbot.toml"
    config.write_text(f'[[repos]]\nname = "{REPO}"\naliases = ["widget"]\n', encoding="utf-8")
    monkeypatch.setenv("DIGESTBOT_CONFIG", str(config))
    monkeypatch.setenv("DIGESTBOT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("GITHUB_API_URL", github.url)
    monkeypatch.setenv("LLM_MODEL", "fake-model")
    monkeypatch.setenv("LLM_MAX_RETRIES", "0")
    monkeypatch.setenv("LLM_TRIAGE", "off")
    monkeypatch.setenv("FEISHU_APP_ID", APP_ID)
    return monkeypatch


def config_token() -> str:
    return CANARIES["SLACK_BOT_TOKEN"]


def test_the_evidence_check_catches_a_leak() -> None:
    evidence = Evidence()
    evidence.add("log", f"something {GITHUB_PAT[:30]}")  # a fragment is not the secret
    evidence.assert_clean()
    evidence.add("log", f"Authorization: {CANARIES['DISCORD_BOT_TOKEN']}")
    with pytest.raises(AssertionError, match="leak of"):
        evidence.assert_clean()


def test_every_secret_setting_has_a_canary() -> None:
    """The core's secret settings and every registered platform's, under its env prefix."""
    models: list[tuple[str, type[BaseSettings]]] = [
        ("", Settings),
        *((p.settings.model_config.get("env_prefix", ""), p.settings) for p in PLATFORMS),
    ]
    secret_fields = {
        f"{prefix}{name}".upper()
        for prefix, model in models
        for name, info in model.model_fields.items()
        if info.annotation is not None and SecretStr in getattr(info.annotation, "__args__", ())
    }
    assert secret_fields == set(CANARIES)


@pytest.fixture
def raw_records(monkeypatch: pytest.MonkeyPatch) -> Iterator[RawRecords]:
    """Installed after every configure_logging (which replaces the root handlers)."""
    collector = RawRecords()
    real = digestbot.commands.configure_logging

    def configure(*args: Any, **kwargs: Any) -> None:
        real(*args, **kwargs)
        logging.getLogger().addHandler(collector)

    monkeypatch.setattr(digestbot.commands, "configure_logging", configure)
    with preserved_logging():
        yield collector


def run_cli(capfd: pytest.CaptureFixture[str], evidence: Evidence, *args: str) -> int:
    code = digestbot.cli.main(list(args))
    out, err = capfd.readouterr()
    evidence.add(f"stdout {args}", out)
    evidence.add(f"stderr {args}", err)
    return code


@pytest.mark.parametrize("log_format", ["plain", "json"])
def test_cli_digests_and_failures_at_debug(
    env: pytest.MonkeyPatch,
    github: FakeGitHub,
    raw_records: RawRecords,
    capfd: pytest.CaptureFixture[str],
    log_format: str,
) -> None:
    env.setenv("LOG_FORMAT", log_format)
    evidence = Evidence()
    digest = ("-v", "digest", REPO, "2026-02-08", "--format", "json", "--no-cache")
    with FakeOpenAI(default=llm_answer) as llm:
        env.setenv("OPENAI_BASE_URL", llm.base_url)
        assert run_cli(capfd, evidence, *digest) == 0
        assert any(r.get("max_tokens") for r in llm.requests)
        llm.default = lambda _body: http_error(401)
        assert run_cli(capfd, evidence, *digest) == 0  # falls back to the heuristic
        llm.default = lambda _body: http_error(500)
        assert run_cli(capfd, evidence, *digest) == 0
        evidence.add("llm request bodies", llm.requests)
        assert all(
            h["authorization"] == f"Bearer {CANARIES['OPENAI_API_KEY']}"
            for h in llm.request_headers
        )
    github.fail_next("401")
    assert run_cli(capfd, evidence, *digest) == 77
    env.setenv("GITHUB_MAX_RATE_LIMIT_WAIT", "0")
    github.fail_next("rate_limit")
    assert run_cli(capfd, evidence, *digest) == 75
    env.setenv("GITHUB_TOKEN", GITHUB_PAT)  # the fine-grained shape too
    github.fail_next("403")
    assert run_cli(capfd, evidence, *digest) == 77
    evidence.add("github requests", [(r.path, r.query) for r in github.requests])
    evidence.add("own log records", raw_records.lines)
    logged = "".join(evidence.texts)
    assert "DEBUG" in logged or '"level": "DEBUG"' in logged  # really at DEBUG
    if log_format == "json":
        assert '"level": "DEBUG"' in logged
    evidence.assert_clean()


@pytest.mark.parametrize("log_format", ["plain", "json"])
async def test_slack_chat_commands_at_debug(
    env: pytest.MonkeyPatch,
    github: FakeGitHub,
    capfd: pytest.CaptureFixture[str],
    tmp_path: Path,
    log_format: str,
) -> None:
    evidence = Evidence()
    collector = RawRecords()
    with FakeSlackApi() as slack, FakeOpenAI(default=llm_answer) as llm, preserved_logging():
        env.setenv("OPENAI_BASE_URL", llm.base_url)
        env.setenv("SLACK_MODE", "http")
        env.setenv("SLACK_API_URL", slack.base_url)
        settings = Settings(_env_file=None)  # type: ignore[call-arg]
        # What the CLI redacts: the core's secrets and every platform's.
        secrets = secret_values(settings, *load_platform_settings().values())
        configure_logging("DEBUG", log_format, secrets)
        logging.getLogger().addHandler(collector)
        # A library echoing a token at DEBUG (as HTTP clients do with headers) is redacted.
        logging.getLogger("slack_sdk.web").debug("Authorization: Bearer %s", config_token())
        core = build_core(settings, clock=lambda: NOW)
        answerer = build_answerer(core)  # over the core's LLM client, closed with the core
        assert answerer is not None
        config = SlackConfig.from_settings(SlackSettings(_env_file=None))  # type: ignore[call-arg]
        assert config is not None and config.signing_secret == CANARIES["SLACK_SIGNING_SECRET"]

        async def no_sleep(_seconds: float) -> None:
            return None

        slack_bot = SlackBot(
            conversation_of(core, answerer=answerer),
            config,
            pacer=ChannelPacer(1.0, clock=lambda: 0.0, sleep=no_sleep),
            retry_handler=RetryAfterHandler(sleep=no_sleep),
        )
        secret = CANARIES["SLACK_SIGNING_SECRET"]

        async def dispatch(body: str, content_type: str) -> None:
            response = await slack_bot.app.async_dispatch(
                signed_request(body, content_type=content_type, secret=secret)
            )
            assert response.status == 200
            evidence.add("bolt response", response.body)
            await slack_bot.inflight.join()

        try:
            await dispatch(slash_command(f"{REPO} 2026-02-08", trigger_id="c1"), FORM)
            roots = [c for c in slack.calls_to("chat.postMessage") if c.ok]
            assert roots, "the digest was posted"
            root = str(roots[0].response["ts"])
            sha = next(iter(github.repos[REPO].commits))
            question = message_event(f"why {sha[:7]}?", ts="1700000001.1", thread_ts=root)
            await dispatch(event_callback(question, event_id="Ev1"), JSON)
            details = message_event(f"details {sha[:8]}", ts="1700000002.1", thread_ts=root)
            await dispatch(event_callback(details, event_id="Ev2"), JSON)
            github.fail_next("401")  # a failing digest: the user gets a short notice
            await dispatch(slash_command(f"{REPO} 2026-02-07", trigger_id="c2"), FORM)
        finally:
            await slack_bot.stop(timeout=5)
            await core.aclose()
        assert len(llm.requests) >= 3  # analyses, overview and the thread answer
        evidence.add("llm request bodies", llm.requests)
        evidence.add("slack payloads", [(c.method, c.args, c.response) for c in slack.calls])
        assert {c.token for c in slack.calls} == {CANARIES["SLACK_BOT_TOKEN"]}
    out, err = capfd.readouterr()
    assert "DEBUG" in err
    assert "Authorization: Bearer [redacted]" in err
    evidence.add("stdout", out)
    evidence.add("stderr", err)
    evidence.add("own log records", collector.lines)
    evidence.assert_clean()


@pytest.mark.parametrize("log_format", ["plain", "json"])
def test_doctor_with_failing_checks_at_debug(
    env: pytest.MonkeyPatch,
    github: FakeGitHub,
    capfd: pytest.CaptureFixture[str],
    log_format: str,
) -> None:
    env.setenv("LOG_FORMAT", log_format)
    env.setenv("DATABASE_URL", f"postgresql+psycopg://bot:{DB_PASSWORD}@127.0.0.1:1/digestbot")
    evidence = Evidence()
    github.fail_next("401", path_contains="/rate_limit")
    with (
        FakeOpenAI(default=lambda _body: http_error(401)) as llm,
        FakeSlackApi() as slack,  # no socket URL: apps.connections.open says invalid_auth
        FakeFeishuApi() as feishu,  # the canary is not its secret: code 10014
        FakeDiscordApi() as discord_api,  # nor its token: 401
        preserved_logging(),
    ):
        env.setenv("OPENAI_BASE_URL", llm.base_url)
        env.setenv("SLACK_API_URL", slack.base_url)
        env.setenv("FEISHU_DOMAIN", feishu.base_url)
        env.setattr(Route, "BASE", discord_api.base_url)
        assert run_cli(capfd, evidence, "-v", "doctor") == 1
        # lark-oapi logs through its own stdout handler unless the adapter reroutes it; a
        # warning echoing the secret must come out redacted, on stderr, in LOG_FORMAT.
        logging.getLogger("Lark").warning("echo %s", CANARIES["FEISHU_APP_SECRET"])
        out, err = capfd.readouterr()
        assert "[redacted]" in err and "echo" not in out
        evidence.add("after the doctor", out + err)
        evidence.add("llm request bodies", llm.requests)
        evidence.add("slack payloads", [(c.method, c.args, c.response) for c in slack.calls])
        # The token request's body carries the app secret by design; every other body may not.
        evidence.add("feishu bodies", [c.body for c in feishu.calls if c.kind != "token"])
        evidence.add("discord bodies", [c.body for c in discord_api.calls])
        assert feishu.calls_to("token") and discord_api.calls and slack.calls
    table = evidence.texts[0]
    for name in ("database", "github", "llm", "slack", "feishu", "discord"):
        assert f"✗ {name}" in table, table
    evidence.assert_clean()
