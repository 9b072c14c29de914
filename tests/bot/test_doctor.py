"""The doctor's core: the table and exit code, and the settings, config, time-zone, local-repo
and database checks (real SQLite files, a closed PostgreSQL port)."""

from __future__ import annotations

import asyncio
import socket
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.config import AppConfig, RepoConfig, Settings
from bot.doctor import (
    DETAIL_LIMIT,
    Check,
    _store_fix,
    check_config,
    check_local_repo,
    check_settings,
    check_store,
    check_timezones,
    exit_code,
    render_table,
    run_probe,
    safe_database_url,
)
from bot.errors import StorageError
from bot.logs import Redactor
from tests.fakes.git_repo import GitRepoBuilder


def settings(tmp_path: Path, **values: Any) -> Settings:
    base: dict[str, Any] = {"digestbot_data_dir": tmp_path / "data", "database_url": None}
    return Settings(_env_file=None, **{**base, **values})  # type: ignore[call-arg]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- table -----------------------------------------------------------------------------------


def test_table_marks_each_line_and_puts_the_fix_under_failures_only() -> None:
    checks = [
        Check.passed("settings", "read"),
        Check.failed("github", "GitHub refused GITHUB_TOKEN", "Set GITHUB_TOKEN to a valid one."),
        Check.skip("slack", "not configured"),
    ]
    table = render_table(checks)
    lines = table.splitlines()
    assert lines[0].startswith("✓ settings")
    assert lines[1].startswith("✗ github") and "GitHub refused GITHUB_TOKEN" in lines[1]
    assert lines[2].strip() == "fix: Set GITHUB_TOKEN to a valid one."
    assert lines[3].startswith("– slack")
    assert "fix:" not in lines[3]
    assert lines[-1] == "1 passed, 1 failed, 1 skipped"
    assert exit_code(checks) == 1
    assert exit_code([checks[0], checks[2]]) == 0  # skipped is not failed


def test_table_redacts_secrets_even_if_a_detail_carried_one() -> None:
    secret = "ghp_" + "A" * 36
    checks = [Check.failed("github", f"token {secret}", f"not {secret}, nor xoxb-1234567890-abc")]
    table = render_table(checks, Redactor([secret]))
    assert secret not in table and "xoxb-1234567890" not in table
    assert "[redacted]" in table


async def test_a_crashing_or_hanging_probe_is_a_failed_line_not_a_crash() -> None:
    async def crash() -> Check:
        raise KeyError("boom")

    async def hang() -> Check:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    crashed = await run_probe("github", crash)
    assert [(c.name, c.ok) for c in crashed] == [("github", False)]
    assert "KeyError" in crashed[0].detail and crashed[0].fix
    hung = await run_probe("llm", hang, timeout=0.01)
    assert not hung[0].ok and "no answer" in hung[0].detail


# -- settings, config, time zones --------------------------------------------------------------


def test_bad_setting_is_named_with_a_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PORT", "99999")
    found, check = check_settings(lambda: Settings(_env_file=None))  # type: ignore[call-arg]
    assert found is None and not check.ok
    assert "HTTP_PORT" in check.detail and check.fix and "HTTP_PORT" in check.fix


def test_good_settings_pass(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    found, check = check_settings(lambda: Settings(_env_file=None))  # type: ignore[call-arg]
    assert found is not None and check.ok and "no ./.env" in check.detail


def test_config_file_checks(tmp_path: Path) -> None:
    config, check = check_config(None)
    assert config == AppConfig() and check.ok
    good = tmp_path / "good.toml"
    good.write_text('[[repos]]\nname = "acme/widget"\n', encoding="utf-8")
    config, check = check_config(good)
    assert config is not None and check.ok and "1 repo, 0 subscriptions" in check.detail
    bad = tmp_path / "bad.toml"
    bad.write_text('[[repos]]\nnme = "typo"\n', encoding="utf-8")
    config, check = check_config(bad)
    assert config is None and not check.ok
    assert "repos" in check.detail and check.fix and "digestbot.example.toml" in check.fix
    missing, check = check_config(tmp_path / "nope.toml")
    assert missing is None and not check.ok and "not found" in check.detail


def test_time_zones(tmp_path: Path) -> None:
    assert check_timezones(settings(tmp_path, digestbot_tz="Asia/Shanghai"), AppConfig()).ok
    bad = check_timezones(settings(tmp_path, digestbot_tz="CST"), AppConfig())
    assert not bad.ok and bad.fix and "IANA" in bad.fix and "DIGESTBOT_TZ" in bad.fix


def test_local_repo_must_be_a_git_checkout(tmp_path: Path) -> None:
    GitRepoBuilder(tmp_path / "widget").commit(
        "init", {"a.txt": "a\n"}, when=datetime(2026, 2, 8, tzinfo=UTC)
    )
    assert check_local_repo(RepoConfig(name="widget", path=tmp_path / "widget")).ok
    (tmp_path / "plain").mkdir()
    plain = check_local_repo(RepoConfig(name="plain", path=tmp_path / "plain"))
    assert not plain.ok and "not a git checkout" in plain.detail
    gone = check_local_repo(RepoConfig(name="gone", path=tmp_path / "gone"))
    assert not gone.ok and "does not exist" in gone.detail and gone.fix


# -- database --------------------------------------------------------------------------------


async def test_sqlite_store_opens_and_answers(tmp_path: Path) -> None:
    check = await check_store(settings(tmp_path))
    assert check.ok and "SQLite" in check.detail
    assert (tmp_path / "data" / "digestbot.db").is_file()


async def test_unreachable_postgres_fails_without_showing_the_password(tmp_path: Path) -> None:
    url = f"postgresql+psycopg://digestbot:hunter2secret@127.0.0.1:{closed_port()}/digestbot"
    check = await check_store(settings(tmp_path, database_url=url))
    assert not check.ok
    assert "hunter2secret" not in check.detail + (check.fix or "")
    assert check.fix and "PostgreSQL is unreachable" in check.fix


async def test_unwritable_sqlite_location_fails(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")  # a file where the data directory should be
    check = await check_store(settings(tmp_path, database_url=f"sqlite:///{blocker}/sub/db"))
    assert not check.ok and check.fix


async def test_unwritable_data_dir_names_the_directory(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    check = await check_store(settings(tmp_path, digestbot_data_dir=blocker / "data"))
    assert not check.ok
    assert f"Cannot write the database directory {blocker / 'data'}" in check.detail
    assert check.fix and "DIGESTBOT_DATA_DIR" in check.fix


async def test_another_database_says_what_is_supported(tmp_path: Path) -> None:
    check = await check_store(settings(tmp_path, database_url="mysql://me:hunter2pw@db/x"))
    assert not check.ok and "only sqlite and postgresql are supported" in check.detail
    assert "hunter2pw" not in check.detail + (check.fix or "")
    assert check.fix and "Unset DATABASE_URL" in check.fix


async def test_postgres_without_its_driver_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if not installed
    monkeypatch.setitem(sys.modules, "psycopg2", None)
    url = f"postgresql://me:hunter2pw@127.0.0.1:{closed_port()}/x"
    check = await check_store(settings(tmp_path, database_url=url))
    assert not check.ok and "driver (psycopg) is not installed" in check.detail
    assert check.fix and 'pip install ".[postgres]"' in check.fix
    assert "hunter2pw" not in check.detail + check.fix


async def test_a_store_error_is_redacted_before_it_is_cut(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store's first error line, cut to the table's width, must not keep most of a secret
    that straddles the cut."""
    secret = "s3cr3t0t0k3n0fr0m0th3nt3rpr1s3"
    shown = safe_database_url(settings(tmp_path).resolved_database_url)
    filler = "x" * (DETAIL_LIMIT - len(shown) - 2 - 29)  # the cut keeps 29 of its 30 characters

    def failing_open(url: str) -> None:
        raise StorageError("The database is not reachable.", detail=f"{filler}{secret} tail")

    monkeypatch.setattr("bot.storage.sql.SqlStore.open", failing_open)
    check = await check_store(settings(tmp_path, openai_api_key=secret))
    assert not check.ok and "[redacted]" in check.detail
    assert secret[:8] not in check.detail and len(check.detail) <= DETAIL_LIMIT


def test_store_fixes_name_the_usual_causes() -> None:
    assert "PostgreSQL" in _store_fix(
        "sqlite:///x.db", "(sqlite3.OperationalError) database is locked"
    )
    assert "writable" in _store_fix("sqlite:///x.db", "unable to open database file")
    assert "user or password" in _store_fix(
        "postgresql+psycopg://u@h/d", 'FATAL: password authentication failed for user "u"'
    )
    assert "createdb" in _store_fix("postgresql+psycopg://u@h/d", 'database "d" does not exist')
    assert (
        safe_database_url("postgresql+psycopg://u:pw@h:5432/d")
        == "postgresql+psycopg://u:***@h:5432/d"
    )
