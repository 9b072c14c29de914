"""The `digestbot` command line: digest, details (and the serving commands of later features)."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from bot.app import Core, build_core
from bot.config import Settings, validate_timezone
from bot.errors import ConfigError, DigestbotError, InvalidInputError
from bot.logs import configure_logging
from bot.models import LANGUAGES, Importance, Language
from bot.progress import RichProgress
from bot.service import DigestRequest
from bot.windows import WINDOW_HELP, parse_window

log = logging.getLogger("digestbot")

FORMATS = ("markdown", "json", "slack", "feishu", "discord")
LONG_RUNNING = {"serve"}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="digestbot",
        description="Daily, importance-ranked digests of what changed in a repository.",
    )
    parser.add_argument(
        "--config",
        type=Path,
        help="TOML config file (default: DIGESTBOT_CONFIG or ./digestbot.toml)",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level on stderr")
    sub = parser.add_subparsers(dest="command", required=True)

    digest = sub.add_parser("digest", help="print the digest of a repository for a window")
    digest.add_argument("repo", help="owner/name, a configured alias, or a local git checkout path")
    digest.add_argument("when", nargs="?", default="today", help=WINDOW_HELP + " (default: today)")
    digest.add_argument("--tz", help="IANA time zone of the days (default: config, else UTC)")
    digest.add_argument("--lang", choices=LANGUAGES, help="language of the report")
    digest.add_argument("--format", choices=FORMATS, default="markdown", dest="fmt")
    digest.add_argument(
        "--min",
        choices=[i.value for i in Importance],
        default="low",
        help="lowest importance shown",
    )
    digest.add_argument(
        "--no-cache", action="store_true", help="ignore cached commits and analyses"
    )

    details = sub.add_parser("details", help="print the full analysis of one commit")
    details.add_argument("repo")
    details.add_argument("sha", help="7 to 40 hex characters")
    details.add_argument("--lang", choices=LANGUAGES)
    details.add_argument("--format", choices=FORMATS, default="markdown", dest="fmt")
    details.add_argument("--no-cache", action="store_true")

    sub.add_parser("serve", help="run the chat bots (every platform whose settings are set)")
    sub.add_parser("chat", help="talk to the bot in this terminal (no chat platform needed)")
    sub.add_parser("doctor", help="check the settings and every configured dependency")

    sync = sub.add_parser("discord-sync", help="register the /digest command with Discord")
    sync.add_argument(
        "--guild",
        action="append",
        default=[],
        metavar="ID",
        help="sync to this server only (instant; repeatable). "
        "Default: DISCORD_GUILD_IDS, else globally",
    )
    sync.add_argument(
        "--global",
        action="store_true",
        dest="sync_global",
        help="sync globally even when DISCORD_GUILD_IDS is set",
    )
    sync.add_argument(
        "--clear", action="store_true", help="remove the commands from those servers (or globally)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "doctor":  # reports bad settings in its table instead of exiting
        from handlers.doctor import main as doctor_main

        return doctor_main(args.config, verbose=args.verbose)
    try:
        settings = Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        print(f"digestbot: invalid setting {first['loc'][0]}: {first['msg']}", file=sys.stderr)
        return ConfigError.exit_code
    configure_logging(_log_level(args, settings), settings.log_format, secrets_of(settings))
    try:
        return asyncio.run(_run(args, settings))
    except DigestbotError as exc:
        log.debug("command failed: %s", exc, exc_info=True)
        print(f"digestbot: {exc.user_message}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("digestbot: interrupted", file=sys.stderr)
        return 130


def _log_level(args: argparse.Namespace, settings: Settings) -> str:
    """One-shot commands keep stderr for errors unless asked; long-running ones log at INFO."""
    if args.verbose:
        return "DEBUG"
    if "log_level" in settings.model_fields_set or args.command in LONG_RUNNING:
        return settings.log_level
    return "ERROR"  # the one-line error message is printed anyway


def secrets_of(settings: Settings) -> list[str]:
    """Every secret value set, so the log filter can redact them."""
    values = []
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if hasattr(value, "get_secret_value"):
            secret = value.get_secret_value()
            if secret:
                values.append(secret)
    return values


async def _run(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "discord-sync":  # talks to Discord only: no store, no sources
        return await _discord_sync(args, settings, sys.stdout)
    core = build_core(settings, config_file=args.config)
    try:
        if args.command == "digest":
            return await _digest(core, args, sys.stdout)
        if args.command == "details":
            return await _details(core, args, sys.stdout)
        if args.command == "serve":
            from handlers.serve import run_serve  # handlers/ depends on bot/, never the reverse

            return await run_serve(core)
        if args.command == "chat":
            from handlers.console import run_chat

            return await run_chat(core, sys.stdin, sys.stdout)
        raise InvalidInputError(f"Unknown command {args.command}.")
    finally:
        await core.aclose()


async def _discord_sync(args: argparse.Namespace, settings: Settings, out: IO[str]) -> int:
    from handlers.discord_commands import parse_guild_ids, sync_commands

    token = settings.discord_bot_token.get_secret_value() if settings.discord_bot_token else ""
    if not token.strip():
        raise ConfigError("Set DISCORD_BOT_TOKEN (Developer Portal → your app → Bot → Token).")
    guilds = [] if args.sync_global else parse_guild_ids(args.guild or [settings.discord_guild_ids])
    for line in await sync_commands(token.strip(), guilds, clear=args.clear):
        out.write(f"synced {line}\n")
    return 0


async def _digest(core: Core, args: argparse.Namespace, out: IO[str]) -> int:
    repo = core.resolver.resolve(args.repo)
    tz = args.tz or core.default_timezone()
    validate_timezone(tz)
    window = parse_window(args.when, tz, core.clock())
    language: Language = args.lang or core.default_language()
    request = DigestRequest(
        language=language,
        min_importance=Importance(args.min),
        use_cache=not args.no_cache,
        commit_filter=core.commit_filter(repo),
    )
    progress = RichProgress(sys.stderr) if sys.stderr.isatty() else None
    digest = await core.service.build_digest(repo, window, request, progress)
    out.write(render_digest(digest, args.fmt))
    return 0


async def _details(core: Core, args: argparse.Namespace, out: IO[str]) -> int:
    repo = core.resolver.resolve(args.repo)
    language: Language = args.lang or core.default_language()
    item = await core.service.commit_details(repo, args.sha, language, use_cache=not args.no_cache)
    repo_url = core.service.source_for(repo).repo_url(repo)
    out.write(render_details(item, repo_url, language, args.fmt, core.default_timezone()))
    return 0


def render_digest(digest: Any, fmt: str) -> str:
    from formatters.json_out import render_json
    from formatters.markdown import render_markdown

    if fmt == "markdown":
        return render_markdown(digest)
    if fmt == "json":
        return render_json(digest)
    from formatters.platform_payloads import render_payloads

    return json.dumps(render_payloads(digest, fmt), ensure_ascii=False, indent=2) + "\n"


def render_details(item: Any, repo_url: str, language: Language, fmt: str, tz: str) -> str:
    from formatters.json_out import render_commit_json
    from formatters.markdown import render_commit_markdown

    if fmt == "markdown":
        return render_commit_markdown(item, language, repo_url=repo_url, tz=tz)
    if fmt == "json":
        return render_commit_json(item, repo_url=repo_url, tz=tz)
    from formatters.platform_payloads import render_details_payload

    payload = render_details_payload(item, repo_url, language, fmt)
    return json.dumps(payload, ensure_ascii=False, indent=2) + "\n"


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
