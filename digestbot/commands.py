"""Runs a parsed `digestbot` command line: settings, logging, the core, and each command's
work (digest, details, serve, chat, discord-sync; doctor has its own module)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
from collections.abc import Mapping
from typing import IO, TYPE_CHECKING, cast

from pydantic import ValidationError

from bot.config import Settings, secret_values, validate_timezone
from bot.errors import ConfigError, DigestbotError, InvalidInputError
from bot.logs import configure_logging
from bot.models import Digest, DigestItem, Importance, Language, Window
from bot.repos import RepoTarget
from bot.service import DigestRequest
from bot.sources.git import GitSource
from bot.windows import LATEST_NEEDS_A_CHECKOUT, parse_window
from digestbot.settings_loading import (
    invalid_setting,
    load_platform_settings,
    require_a_platform,
)
from handlers.discord.settings import DiscordSettings, parse_guild_ids
from handlers.platform import PlatformSettings, secret_text
from handlers.registry import platform_named

if TYPE_CHECKING:
    from digestbot.wiring import Core

log = logging.getLogger("digestbot")

LONG_RUNNING = {"serve"}


def run_command(args: argparse.Namespace) -> int:
    """Run a parsed command line; the process's exit status."""
    if args.command == "doctor":  # reports bad settings in its table instead of exiting
        from digestbot.doctor import main as doctor_main

        return doctor_main(args.config, verbose=args.verbose)
    try:
        settings = Settings()
        platforms = load_platform_settings()
    except ValidationError as exc:
        print(f"digestbot: {invalid_setting(exc)}", file=sys.stderr)
        return ConfigError.exit_code
    except ConfigError as exc:
        print(f"digestbot: {exc.user_message}", file=sys.stderr)
        return exc.exit_code
    secrets = secret_values(settings, *platforms.values())
    configure_logging(_log_level(args, settings), settings.log_format, secrets)
    try:
        return asyncio.run(_run(args, settings, platforms))
    except DigestbotError as exc:
        log.debug("command failed: %s", exc, exc_info=True)
        print(f"digestbot: {exc.user_message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("digestbot: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `digestbot digest . | head`: the reader left. Point stdout at /dev/null so the
        # interpreter's final flush cannot fail again; no traceback, no message.
        # https://docs.python.org/3/library/signal.html#note-on-sigpipe
        # A stdout without a file descriptor (io.UnsupportedOperation is a ValueError) is left.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _log_level(args: argparse.Namespace, settings: Settings) -> str:
    """One-shot commands keep stderr for errors unless asked; long-running ones log at INFO."""
    if args.verbose:
        return "DEBUG"
    if "log_level" in settings.model_fields_set or args.command in LONG_RUNNING:
        return settings.log_level
    return "ERROR"  # the one-line error message is printed anyway


async def _run(
    args: argparse.Namespace, settings: Settings, platforms: Mapping[str, PlatformSettings]
) -> int:
    if args.command == "discord-sync":  # talks to Discord only: no store, no sources
        return await _discord_sync(args, cast(DiscordSettings, platforms["discord"]), sys.stdout)
    if args.command == "serve":  # refuse at once, before the store and any SDK load
        require_a_platform(platforms)
    from digestbot.wiring import build_core  # the store and the sources: not for --help

    core = build_core(settings, config_file=args.config)
    try:
        if args.command == "digest":
            return await _digest(core, args, sys.stdout)
        if args.command == "details":
            return await _details(core, args, sys.stdout)
        if args.command == "serve":
            from digestbot.serve import run_serve

            return await run_serve(core, platforms)
        if args.command == "chat":
            from digestbot.chat_wiring import build_console_conversation
            from handlers.console import run_console

            return await run_console(build_console_conversation(core), sys.stdin, sys.stdout)
        raise InvalidInputError(f"Unknown command {args.command}.")
    finally:
        await core.aclose()


async def _discord_sync(args: argparse.Namespace, settings: DiscordSettings, out: IO[str]) -> int:
    from handlers.discord.app_commands import sync_commands

    token = secret_text(settings.bot_token)
    if token is None:
        raise ConfigError("Set DISCORD_BOT_TOKEN (Developer Portal → your app → Bot → Token).")
    guilds = [] if args.sync_global else parse_guild_ids(args.guild or [settings.guild_ids])
    for line in await sync_commands(token, guilds, clear=args.clear):
        out.write(f"synced {line}\n")
    return 0


def _language(core: Core, args: argparse.Namespace) -> Language:
    """--lang, else the language chosen in the settings or config, else Chinese for Feishu
    payloads (as the bot posts them there), else the default."""
    if args.lang:
        return cast(Language, args.lang)
    chosen = core.explicit_language()
    if chosen is not None:
        return chosen
    return "zh" if getattr(args, "fmt", None) == "feishu" else core.default_language()


async def _digest(core: Core, args: argparse.Namespace, out: IO[str]) -> int:
    repo = core.resolver.resolve(args.repo)
    tz = args.tz or core.default_timezone()
    validate_timezone(tz)
    window = await _window(core, repo, args.when, tz)
    language = _language(core, args)
    request = DigestRequest(
        language=language,
        min_importance=Importance(args.min),
        use_cache=not args.no_cache,
        commit_filter=core.commit_filter(repo),
    )
    progress = None
    if sys.stderr.isatty():
        from bot.progress import RichProgress  # rich: only for a terminal

        progress = RichProgress(sys.stderr)
    digest = await core.service.build_digest(repo, window, request, progress)
    out.write(render_digest(digest, args.fmt))
    return 0


async def _window(core: Core, repo: RepoTarget, when: str | None, tz: str) -> Window:
    """The window `when` names; by default `latest` for a local checkout (its newest day with
    commits, so a fresh clone's first digest is not empty) and `today` for GitHub, where
    finding the newest day would cost requests (README: Using the CLI)."""
    spec = (when or ("latest" if repo.kind == "local" else "today")).strip().lower()
    now = core.clock()
    if spec != "latest":
        return parse_window(spec, tz, now)
    source = core.service.source_for(repo)
    if repo.kind != "local" or not isinstance(source, GitSource):
        raise InvalidInputError(LATEST_NEEDS_A_CHECKOUT)
    newest = await source.latest_commit_at(repo, core.commit_filter(repo).keeps_summary)
    return parse_window(spec, tz, now, latest=newest or now)  # no commits at all: today


async def _details(core: Core, args: argparse.Namespace, out: IO[str]) -> int:
    repo = core.resolver.resolve(args.repo)
    tz = args.tz or core.default_timezone()
    validate_timezone(tz)
    language = _language(core, args)
    item = await core.service.commit_details(repo, args.sha, language, use_cache=not args.no_cache)
    repo_url = core.service.source_for(repo).repo_url(repo)
    out.write(render_details(item, repo_url, language, args.fmt, tz))
    return 0


def render_digest(digest: Digest, fmt: str) -> str:
    from formatters.json_out import render_json
    from formatters.markdown import render_markdown

    if fmt == "markdown":
        return render_markdown(digest)
    if fmt == "json":
        return render_json(digest)
    if fmt == "html":  # one digest, one page (digestbot/cli.py: DIGEST_FORMAT_HELP)
        from formatters.html_report import render_html_report

        return render_html_report(digest)
    payloads = platform_named(fmt).render_digest(digest)
    return json.dumps(payloads, ensure_ascii=False, indent=2) + "\n"


def render_details(item: DigestItem, repo_url: str, language: Language, fmt: str, tz: str) -> str:
    from formatters.json_out import render_commit_json
    from formatters.markdown import render_commit_markdown

    if fmt == "markdown":
        return render_commit_markdown(item, language, repo_url=repo_url, tz=tz)
    if fmt == "json":
        return render_commit_json(item, repo_url=repo_url, tz=tz)
    payload = platform_named(fmt).render_details(item, repo_url, language)
    return json.dumps(payload, ensure_ascii=False, indent=2) + "\n"
