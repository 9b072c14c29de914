"""The `digestbot` command line: its parser (digest, details, serve, chat, doctor and
discord-sync) with nothing heavy imported, so `--help` answers at once; the commands run in
digestbot/commands.py."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from bot.vocabulary import LANGUAGES, WINDOW_HELP, Importance
from handlers.platform_names import PLATFORM_NAMES

FORMATS = ("markdown", "json", *PLATFORM_NAMES)
# `digest` alone also writes a web page: one repository per command, so one valid HTML document.
DIGEST_FORMATS = (*FORMATS, "html")
DIGEST_FORMAT_HELP = (
    "markdown (default), json, html (one self-contained HTML5 page: no script, no external "
    "asset; one repository per command, so always one document), or a chat platform's payloads"
)
TZ_HELP = "IANA time zone of the days and times (default: DIGESTBOT_TZ, the config, else UTC)"


def _global_options(parser: argparse.ArgumentParser, *, default: object) -> None:
    """`--config` and `-v`, accepted before the command and after it (`digestbot digest . -v`).
    A subcommand's copies default to SUPPRESS, so they never undo what was given before it."""
    parser.add_argument(
        "--config",
        type=Path,
        default=default,
        help="TOML config file (default: DIGESTBOT_CONFIG or ./digestbot.toml)",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS if default is argparse.SUPPRESS else False,
        help="log at DEBUG level on stderr",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="digestbot",
        description="Daily, importance-ranked digests of what changed in a repository.",
    )
    _global_options(parser, default=None)
    common = argparse.ArgumentParser(add_help=False)
    _global_options(common, default=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help_text, parents=[common])

    digest = command("digest", "print the digest of a repository for a window")
    digest.add_argument("repo", help="owner/name, a configured alias, or a local git checkout path")
    digest.add_argument(
        "when",
        nargs="?",
        default=None,
        help=WINDOW_HELP + " (default: latest for a local checkout, today for GitHub)",
    )
    digest.add_argument("--tz", help=TZ_HELP)
    digest.add_argument("--lang", choices=LANGUAGES, help="language of the report")
    digest.add_argument(
        "--format", choices=DIGEST_FORMATS, default="markdown", dest="fmt", help=DIGEST_FORMAT_HELP
    )
    digest.add_argument(
        "--min",
        choices=[i.value for i in Importance],
        default="low",
        help="lowest importance shown",
    )
    digest.add_argument(
        "--no-cache", action="store_true", help="ignore cached commits and analyses"
    )

    details = command("details", "print the full analysis of one commit")
    details.add_argument("repo")
    details.add_argument("sha", help="7 to 40 hex characters")
    details.add_argument("--tz", help=TZ_HELP)
    details.add_argument("--lang", choices=LANGUAGES)
    details.add_argument("--format", choices=FORMATS, default="markdown", dest="fmt")
    details.add_argument("--no-cache", action="store_true")

    command("serve", "run the chat bots (every platform whose settings are set)")
    command("chat", "talk to the bot in this terminal (no chat platform needed)")
    command("doctor", "check the settings and every configured dependency")

    sync = command("discord-sync", "register the /digest command with Discord")
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
    from digestbot.commands import run_command  # settings, logging, the core: not for --help

    return run_command(args)


def entry() -> NoReturn:
    """The console script: `main`, then a fast exit. Every command has closed what it opened
    (the store, the clients, the servers) before it returns, so the interpreter's own shutdown
    (tearing down every module and object, about a tenth of a second after a digest) is only
    waiting: flush the output and the logs, and leave."""
    code = main()
    with contextlib.suppress(OSError, ValueError):  # a closed pipe or stream: nothing to flush
        sys.stdout.flush()
        sys.stderr.flush()
    logging.shutdown()
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    entry()
