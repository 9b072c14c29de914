"""`digestbot doctor`: the core's checks (bot.doctor) plus one per registered chat platform,
printed as a ✓/✗ table with the fix for each ✗; exit code 1 when anything failed."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from bot.alerts.doctor import check_alert_polling, check_alert_webhook
from bot.config import AppConfig, Settings, secret_values
from bot.doctor import (
    Check,
    Probe,
    check_config,
    check_settings,
    check_store,
    check_timezones,
    exit_code,
    render_table,
    run_probe,
)
from bot.logs import Redactor, configure_logging
from digestbot.settings_loading import invalid_setting
from digestbot.wiring import config_path
from handlers.platform import Platform
from handlers.registry import PLATFORMS

PlatformCheck = Callable[[], Awaitable[Check | None]]
Sleep = Callable[[float], Awaitable[None]]


# bot.doctor_remote is imported when its probes run: PyGithub and openai load only then.


async def _check_github(settings: Settings, config: AppConfig, sleep: Sleep | None) -> list[Check]:
    from bot.doctor_remote import check_github

    return await check_github(settings, config, sleep=sleep)


async def _check_llm(settings: Settings) -> Check:
    from bot.doctor_remote import check_llm

    return await check_llm(settings)


NamedCheck = tuple[str, PlatformCheck]


def platform_checks() -> list[NamedCheck]:
    """Each registered platform's doctor check over its own settings; malformed settings are
    that platform's ✗ line, not a crash."""
    return [(platform.name, _platform_check(platform)) for platform in PLATFORMS]


def _platform_check(platform: Platform[Any]) -> PlatformCheck:
    async def check() -> Check | None:
        try:
            settings = platform.load_settings()
        except ValidationError as exc:
            return Check.failed(
                platform.name,
                invalid_setting(exc, prefix=f"{platform.name}_"),
                "Fix it in the environment or .env (README: Configuration).",
            )
        result = await platform.doctor(settings)
        return (
            result
            if result is not None
            else Check.skip(platform.name, f"not configured ({platform.enable_hint})")
        )

    return check


async def collect_checks(
    settings: Settings | None,
    settings_check: Check,
    config_file: Path | None,
    *,
    platforms: Sequence[NamedCheck] | None = None,
    github_sleep: Sleep | None = None,
) -> list[Check]:
    """Every check, in table order: settings, config, time zones, database, GitHub and its
    repositories, the LLM, then Slack, Feishu and Discord."""
    checks = [settings_check]
    named = list(platforms) if platforms is not None else platform_checks()
    names = [name for name, _ in named]
    if settings is None:
        not_checked = ["config", "time zones", "database", "github", "llm", *names]
        return checks + [Check.skip(n, "not checked: fix the settings first") for n in not_checked]
    config, config_check = check_config(config_path(settings, config_file))
    checks.append(config_check)
    if config is None:
        checks.append(Check.skip("time zones", "not checked: fix the config file first"))
    else:
        checks.append(check_timezones(settings, config))
        checks += [check_alert_webhook(settings, config), check_alert_polling(settings, config)]
    checks += await run_probe("database", lambda: check_store(settings))
    if config is None:
        checks.append(Check.skip("github", "not checked: fix the config file first"))
    else:
        checks += await run_probe("github", lambda: _check_github(settings, config, github_sleep))
    checks += await run_probe("llm", lambda: _check_llm(settings))
    for name, check in named:
        checks += await run_probe(name, _skipped_when_unset(name, check))
    return checks


def _skipped_when_unset(name: str, check: PlatformCheck) -> Probe:
    async def probe() -> Check:
        result = await check()
        return result if result is not None else Check.skip(name, "not configured")

    return probe


async def run_doctor(
    settings: Settings | None,
    settings_check: Check,
    config_file: Path | None,
    out: IO[str],
    *,
    platforms: Sequence[NamedCheck] | None = None,
    github_sleep: Sleep | None = None,
) -> int:
    """Run every check, print the table to `out`, return the exit code."""
    checks = await collect_checks(
        settings, settings_check, config_file, platforms=platforms, github_sleep=github_sleep
    )
    secrets = _secrets(settings) if settings is not None else []
    out.write(render_table(checks, Redactor(secrets)))
    return exit_code(checks)


def main(config_file: Path | None, *, verbose: bool = False, out: IO[str] | None = None) -> int:
    """`digestbot doctor` (bad settings are reported in the table, not as a crash)."""
    settings, settings_check = check_settings()
    level = "DEBUG" if verbose else "ERROR"
    if settings is not None and not verbose and "log_level" in settings.model_fields_set:
        level = settings.log_level
    fmt = settings.log_format if settings is not None else "plain"
    configure_logging(level, fmt, _secrets(settings) if settings is not None else [])
    return asyncio.run(run_doctor(settings, settings_check, config_file, out or sys.stdout))


def _secrets(settings: Settings) -> list[str]:
    """The core's secrets and every platform's that load (a malformed one is its ✗ line)."""
    platforms = []
    for platform in PLATFORMS:
        try:
            platforms.append(platform.load_settings())
        except ValidationError:
            continue
    return secret_values(settings, *platforms)
