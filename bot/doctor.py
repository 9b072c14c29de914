"""`digestbot doctor`'s core: the Check result, the runner and its ✓/✗ table, and the checks of
the settings, config file, time zones and store (GitHub and the LLM: bot.doctor_remote)."""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.config import (
    AppConfig,
    RepoConfig,
    Settings,
    load_app_config,
    secret_values,
    validate_timezone,
)
from bot.errors import ConfigError, StorageError
from bot.logs import Redactor

log = logging.getLogger(__name__)

CHECK_TIMEOUT = 45.0  # seconds one check may take before it counts as failed
OK_MARK, FAIL_MARK, SKIP_MARK = "✓", "✗", "–"
ENV_HELP = "see .env.example for every setting and its format"
DETAIL_LIMIT = 200  # characters of an upstream error a table line shows (redacted first)


@dataclass(frozen=True)
class Check:
    """One line of the doctor's table. `fix` says what to do when `ok` is False."""

    name: str
    ok: bool
    detail: str = ""
    fix: str | None = None
    skipped: bool = False

    @classmethod
    def passed(cls, name: str, detail: str) -> Check:
        return cls(name, True, detail)

    @classmethod
    def failed(cls, name: str, detail: str, fix: str) -> Check:
        return cls(name, False, detail, fix)

    @classmethod
    def skip(cls, name: str, detail: str) -> Check:
        """Not configured, or not checkable because an earlier check failed: not a failure."""
        return cls(name, True, detail, skipped=True)

    @property
    def mark(self) -> str:
        if self.skipped:
            return SKIP_MARK
        return OK_MARK if self.ok else FAIL_MARK


Probe = Callable[[], Awaitable[Check | Sequence[Check]]]


async def run_probe(name: str, probe: Probe, *, timeout: float = CHECK_TIMEOUT) -> list[Check]:
    """Run one probe; a timeout or an unexpected error becomes a failed check, never a crash."""
    try:
        async with asyncio.timeout(timeout):
            result = await probe()
    except TimeoutError:
        return [
            Check.failed(
                name,
                f"no answer within {timeout:.0f} s",
                "Check the network (proxy, firewall) between this host and "
                "the service, then run digestbot doctor again.",
            )
        ]
    except Exception as exc:  # the doctor reports; the log (-v) has the traceback
        log.debug("doctor check %s crashed", name, exc_info=True)
        return [
            Check.failed(
                name,
                f"unexpected error ({type(exc).__name__})",
                "Run `digestbot -v doctor` for the details and report them.",
            )
        ]
    return [result] if isinstance(result, Check) else list(result)


def render_table(checks: Sequence[Check], redactor: Redactor | None = None) -> str:
    """The table: a mark, the name and the detail per check, the fix under each ✗."""
    width = max((len(c.name) for c in checks), default=0)
    lines: list[str] = []
    for check in checks:
        lines.append(f"{check.mark} {check.name.ljust(width)}  {check.detail}".rstrip())
        if not check.ok and check.fix:
            lines.append(f"  {' ' * width}  fix: {check.fix}")
    failed = sum(1 for c in checks if not c.ok)
    skipped = sum(1 for c in checks if c.skipped)
    passed = len(checks) - failed - skipped
    lines.append("")
    lines.append(f"{passed} passed, {failed} failed, {skipped} skipped")
    out = "\n".join(lines) + "\n"
    # Token shapes are redacted even when no secret was named; the checks already redacted
    # each upstream detail before cutting it (a cut secret no longer equals itself).
    return (redactor or Redactor([])).redact(out)


def exit_code(checks: Iterable[Check]) -> int:
    return 1 if any(not c.ok for c in checks) else 0


# -- configuration -------------------------------------------------------------------------


def check_settings(load: Callable[[], Settings] = Settings) -> tuple[Settings | None, Check]:
    """Parse the environment and .env."""
    try:
        settings = load()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "a setting"
        return None, Check.failed(
            "settings",
            f"{name}: {first['msg']}",
            f"Fix {name} in the environment or .env ({ENV_HELP}).",
        )
    env = Path(".env")
    where = "environment and ./.env" if env.is_file() else "environment (no ./.env)"
    return settings, Check.passed("settings", f"read from the {where}")


def check_config(path: Path | None) -> tuple[AppConfig | None, Check]:
    """Read and validate the TOML config file (none at all is fine: the defaults)."""
    if path is None:
        return AppConfig(), Check.passed(
            "config", "no config file: defaults only (set DIGESTBOT_CONFIG or ./digestbot.toml)"
        )
    try:
        config = load_app_config(path)
    except ConfigError as exc:
        return None, Check.failed(
            "config",
            exc.user_message,
            "Fix the file (digestbot.example.toml shows every key), or point DIGESTBOT_CONFIG "
            "at the right one.",
        )
    repos, subs = len(config.repos), len(config.subscriptions)
    detail = f"{path}: {repos} repo{'s' * (repos != 1)}, {subs} subscription{'s' * (subs != 1)}"
    return config, Check.passed("config", detail)


def check_timezones(settings: Settings, config: AppConfig) -> Check:
    """DIGESTBOT_TZ, the config's zones, and that the zone database is installed at all."""
    try:
        ZoneInfo("Asia/Shanghai")
    except ZoneInfoNotFoundError:
        return Check.failed(
            "time zones",
            "no IANA time zone database on this system",
            "Install it: pip install tzdata (or apt-get install tzdata).",
        )
    if settings.digestbot_tz:
        try:
            validate_timezone(settings.digestbot_tz)
        except ConfigError as exc:
            return Check.failed(
                "time zones",
                exc.user_message,
                "Set DIGESTBOT_TZ to an IANA name such as Asia/Shanghai, "
                "Europe/Berlin or UTC (not CST or +08:00).",
            )
    zones = {settings.digestbot_tz or config.defaults.timezone}
    zones |= {s.timezone for s in config.subscriptions if s.timezone}
    return Check.passed("time zones", ", ".join(sorted(zones)))


def check_local_repo(repo: RepoConfig) -> Check:
    """A configured local checkout: the path is a git repository and git is installed."""
    name = f"repo {repo.name}"
    path = repo.path
    assert path is not None
    if shutil.which("git") is None:
        return Check.failed(
            name,
            "git is not installed",
            "Install git (apt-get install git); local repositories are read with it.",
        )
    if not path.is_dir():
        return Check.failed(
            name,
            f"{path} does not exist",
            f"Clone the repository to {path}, or fix `path` of {repo.name} in the config file.",
        )
    if not (path / ".git").exists() and not (path / "HEAD").is_file():
        return Check.failed(
            name,
            f"{path} is not a git checkout",
            f"Point `path` of {repo.name} at a git clone (the directory that holds .git).",
        )
    return Check.passed(name, f"local checkout at {path}")


# -- store -----------------------------------------------------------------------------------


def safe_database_url(url: str) -> str:
    """The URL without its password, for display."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unparseable URL)"


async def check_store(settings: Settings, redactor: Redactor | None = None) -> Check:
    """Open the database (creating the SQLite file and schema if needed) and run SELECT 1.
    The error's detail is redacted (with `redactor`, else the settings' secrets) before it is
    cut to fit the table."""
    from bot.storage.sql import UNWRITABLE, SqlStore

    url = settings.resolved_database_url
    shown = safe_database_url(url)
    redactor = redactor or Redactor(secret_values(settings))  # DATABASE_URL's password too

    def probe() -> None:
        store = SqlStore.open(url)
        try:
            with store.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        finally:
            store.close()

    try:
        await asyncio.to_thread(probe)
    except ImportError as exc:
        return Check.failed(
            "database",
            f"{shown}: the driver is missing ({exc.name})",
            'Install the PostgreSQL driver: pip install ".[postgres]" (the Docker image has it).',
        )
    except ConfigError as exc:  # another database, or PostgreSQL without its driver
        return Check.failed(
            "database",
            redactor.clip(f"{shown}: {exc.user_message}", DETAIL_LIMIT),
            'Install the PostgreSQL driver: pip install ".[postgres]" (the Docker image has it).'
            if "driver" in exc.user_message
            else "Unset DATABASE_URL (SQLite in DIGESTBOT_DATA_DIR), or point it at PostgreSQL: "
            "postgresql+psycopg://user:password@host:5432/db.",
        )
    except StorageError as exc:
        first_line = (str(exc).splitlines() or [""])[0]
        if first_line.startswith(UNWRITABLE):  # names the directory; the fix says what to do
            detail = redactor.clip(first_line.partition("; ")[0], DETAIL_LIMIT)
        else:
            detail = redactor.clip(f"{shown}: {first_line}", DETAIL_LIMIT)
        return Check.failed("database", detail, _store_fix(url, str(exc)))
    except OSError as exc:
        return Check.failed(
            "database",
            f"{shown}: {exc.strerror or exc}",
            "Make DIGESTBOT_DATA_DIR a writable directory (in Docker: the /data "
            "volume must be writable by uid 10001).",
        )
    kind = "SQLite" if url.startswith("sqlite") else "PostgreSQL" if "postgres" in url else "SQL"
    return Check.passed("database", f"{kind} at {shown} answers")


def _store_fix(url: str, error: str) -> str:
    lowered = error.lower()
    if "database is locked" in lowered:
        return (
            "Another process holds the SQLite file's write lock. Run one digestbot per "
            "SQLite file; for several replicas use PostgreSQL (DATABASE_URL)."
        )
    if (
        "unable to open database file" in lowered
        or "readonly" in lowered
        or "cannot write the database directory" in lowered
    ):
        return (
            "digestbot cannot write the SQLite file: make DIGESTBOT_DATA_DIR writable "
            "(in Docker: the /data volume, owned by uid 10001)."
        )
    if "could not parse" in lowered or "can't load plugin" in lowered:
        return (
            "DATABASE_URL is malformed: use postgresql+psycopg://user:password@host:5432/db "
            "or sqlite:////absolute/path.db."
        )
    if "password authentication failed" in lowered or "role" in lowered:
        return "PostgreSQL refused the user or password in DATABASE_URL; check both."
    if "does not exist" in lowered and not url.startswith("sqlite"):
        return "The database in DATABASE_URL does not exist: create it (createdb digestbot)."
    if url.startswith("sqlite"):
        return "Check DIGESTBOT_DATA_DIR / DATABASE_URL and the disk (space, permissions)."
    return (
        "PostgreSQL is unreachable: check host and port in DATABASE_URL and that the "
        "server runs (compose: `docker compose ps postgres`)."
    )
