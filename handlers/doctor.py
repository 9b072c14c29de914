"""`digestbot doctor`: the core's checks (bot.doctor) plus one per configured chat platform,
printed as a ✓/✗ table with the fix for each ✗; exit code 1 when anything failed."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import IO

from bot.app import config_path
from bot.config import Settings
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
from bot.doctor_remote import Sleep, check_github, check_llm
from bot.logs import Redactor, configure_logging

PlatformCheck = Callable[[Settings], Awaitable[Check | None]]

# What to set when a platform is not configured (shown on its skipped line).
_HOW_TO_ENABLE = {
    "slack": "not configured (SLACK_BOT_TOKEN and SLACK_APP_TOKEN; README: Run on Slack)",
    "feishu": "not configured (FEISHU_APP_ID and FEISHU_APP_SECRET; README: Run on Feishu / Lark)",
    "discord": "not configured (DISCORD_BOT_TOKEN; README: Run on Discord)",
}


def platform_checks() -> list[tuple[str, PlatformCheck]]:
    """Each platform's `doctor_check`, imported here: chat SDKs load only in their adapters."""
    from handlers import discord_app, feishu_app, slack_app

    return [
        ("slack", slack_app.doctor_check),
        ("feishu", feishu_app.doctor_check),
        ("discord", discord_app.doctor_check),
    ]


async def collect_checks(
    settings: Settings | None,
    settings_check: Check,
    config_file: Path | None,
    *,
    platforms: Sequence[tuple[str, PlatformCheck]] | None = None,
    github_sleep: Sleep | None = None,
) -> list[Check]:
    """Every check, in table order: settings, config, time zones, database, GitHub and its
    repositories, the LLM, then Slack, Feishu and Discord."""
    checks = [settings_check]
    names = [name for name, _ in platforms] if platforms is not None else list(_HOW_TO_ENABLE)
    if settings is None:
        not_checked = ["config", "time zones", "database", "github", "llm", *names]
        return checks + [Check.skip(n, "not checked: fix the settings first") for n in not_checked]
    config, config_check = check_config(config_path(settings, config_file))
    checks.append(config_check)
    if config is None:
        checks.append(Check.skip("time zones", "not checked: fix the config file first"))
    else:
        checks.append(check_timezones(settings, config))
    checks += await run_probe("database", lambda: check_store(settings))
    if config is None:
        checks.append(Check.skip("github", "not checked: fix the config file first"))
    else:
        checks += await run_probe(
            "github", lambda: check_github(settings, config, sleep=github_sleep)
        )
    checks += await run_probe("llm", lambda: check_llm(settings))
    for name, check in platforms if platforms is not None else platform_checks():
        checks += await run_probe(name, _platform_probe(name, check, settings))
    return checks


def _platform_probe(name: str, check: PlatformCheck, settings: Settings) -> Probe:
    async def probe() -> Check:
        result = await check(settings)
        return (
            result
            if result is not None
            else Check.skip(name, _HOW_TO_ENABLE.get(name, "not configured"))
        )

    return probe


async def run_doctor(
    settings: Settings | None,
    settings_check: Check,
    config_file: Path | None,
    out: IO[str],
    *,
    platforms: Sequence[tuple[str, PlatformCheck]] | None = None,
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
    from bot.cli import secrets_of

    return secrets_of(settings)
