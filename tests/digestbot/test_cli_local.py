"""The CLI's quick start on local checkouts (default window, subfolders, names, times with a
zone) and its one-line errors for a bad database or data directory."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from digestbot.cli import main
from tests.digestbot.test_cli import isolated_env, run  # noqa: F401 - the fixture
from tests.fakes.git_repo import GitRepoBuilder

SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def old_clone(tmp_path: Path) -> GitRepoBuilder:
    """A clone whose last commit is six weeks old: `7d` and `today` are empty there."""
    builder = GitRepoBuilder(tmp_path / "widget")
    last_day = datetime.now(UTC) - timedelta(days=42)
    builder.commit(
        "docs: the first notes", {"README.md": "hi\n"}, when=last_day - timedelta(days=3)
    )
    builder.commit(
        "feat: add the parser (#12)",
        {"src/parser.py": "x = 1\n" * 40},
        when=last_day.replace(hour=10, minute=0),
    )
    builder.commit(
        "fix: parser edge case", {"src/parser.py": "x = 2\n"}, when=last_day.replace(hour=9)
    )
    # The newest commit is a bot's: a digest leaves it out, so `latest` must not pick its day.
    builder.commit(
        "chore(deps): bump",
        {"requirements.txt": "x==2\n"},
        when=last_day + timedelta(days=5),
        author="dependabot[bot]",
    )
    return builder


def _python(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A new interpreter with no model, GitHub, chat or database settings and its own home."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("OPENAI_", "GITHUB_", "SLACK_", "FEISHU_", "DISCORD_", "DATABASE"))
    }
    env.update(HOME=str(home), DIGESTBOT_DATA_DIR=str(home / "data"))
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, env=env, cwd=home, check=False
    )


def test_a_local_heuristic_digest_loads_no_llm_github_chat_or_unused_database_stack(
    old_clone: GitRepoBuilder, tmp_path: Path
) -> None:
    """The README's first command (a local checkout, no keys) imports what it uses and no
    more: not openai, PyGithub (with jwt and cryptography), a chat SDK, the progress bar
    off a terminal, nor SQLAlchemy's PostgreSQL dialect on SQLite (new database and warm)."""
    code = (
        "import io, sys, contextlib\n"
        "from digestbot.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    assert main(['digest', sys.argv[1], 'latest']) == 0\n"
        "assert 'feat: add the parser' in out.getvalue()\n"
        "roots = {m.split('.')[0] for m in sys.modules}\n"
        "heavy = {'openai', 'github', 'jwt', 'cryptography', 'slack_sdk', 'slack_bolt',"
        " 'lark_oapi', 'discord', 'aiohttp', 'rich', 'httpx'}\n"
        "dialects = {m for m in sys.modules if m.startswith('sqlalchemy.dialects.postgresql')}\n"
        "print(sorted(roots & heavy), sorted(dialects), 'sqlalchemy' in roots)\n"
    )
    for run_kind in ("new database", "warm"):
        done = _python(tmp_path, "-c", code, str(old_clone.path))
        assert done.returncode == 0, (run_kind, done.stderr[-2000:])
        assert done.stdout.strip() == "[] [] True", run_kind


def test_the_console_entry_exits_fast_with_every_byte_and_the_exit_status(
    old_clone: GitRepoBuilder, tmp_path: Path
) -> None:
    """`python -m digestbot` (and the console script) leave with os._exit after flushing: the
    whole report is written, and the status is the command's."""

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return _python(tmp_path, "-m", "digestbot", *args)

    done = run("digest", str(old_clone.path), "latest", "--format", "json")
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)["items"]) == 2  # complete JSON: nothing lost at exit
    bad = run("details", str(old_clone.path), "0123456789abcdef")
    assert bad.returncode != 0 and bad.stdout == ""
    assert bad.stderr.startswith("digestbot: ") and bad.stderr.count("\n") == 1


def test_a_fresh_clone_digests_its_latest_day_by_default(
    old_clone: GitRepoBuilder, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(old_clone.path)
    code, out, err = run(capsys, "digest", ".", "--lang", "en")
    assert code == 0, err
    assert "No commits" not in out
    assert "feat: add the parser (#12)" in out and "fix: parser edge case" in out
    assert "docs: the first notes" not in out and "chore(deps)" not in out
    assert "2 commits" in out
    code, explicit, _ = run(capsys, "digest", ".", "latest", "--lang", "en")
    assert code == 0 and explicit == out
    code, week, _ = run(capsys, "digest", ".", "7d", "--lang", "en")
    assert code == 0 and "No commits" in week  # what the quick start used to show


def test_latest_of_an_empty_repository_is_an_empty_today(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    GitRepoBuilder(tmp_path / "empty")
    code, out, err = run(capsys, "digest", str(tmp_path / "empty"), "--lang", "en")
    assert code == 0, err
    assert "No commits" in out


def test_a_subfolder_digests_the_whole_checkout_under_its_github_name(
    old_clone: GitRepoBuilder, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`cd bot && digestbot digest .` said "Unknown repository '.'"; the heading was the
    folder name even with a GitHub origin."""
    old_clone.git("remote", "add", "origin", "git@github.com:acme/widget-tools.git")
    monkeypatch.chdir(old_clone.path / "src")
    code, out, err = run(capsys, "digest", ".", "--lang", "en")
    assert code == 0, err
    assert "## acme/widget-tools" in out and "## widget" not in out
    assert "https://github.com/acme/widget-tools/commit/" in out
    assert "feat: add the parser (#12)" in out


def test_a_folder_outside_any_repository_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "plain").mkdir()
    monkeypatch.chdir(tmp_path / "plain")
    code, out, err = run(capsys, "digest", ".", "7d")
    assert (code, out) == (2, "")
    assert err == "digestbot: '.' is not a git repository (or a subfolder of one).\n"


@pytest.mark.parametrize("days", ["367d", "3650d", "999999d"])
def test_any_too_large_window_has_one_message(
    old_clone: GitRepoBuilder, capsys: pytest.CaptureFixture[str], days: str
) -> None:
    code, out, err = run(capsys, "digest", str(old_clone.path), days)
    assert (code, out) == (2, "")
    assert err == "digestbot: A window can cover at most 366 days.\n"


def test_verbose_after_the_command(
    old_clone: GitRepoBuilder, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`digestbot digest . -v` was "unrecognized arguments: -v"."""
    monkeypatch.chdir(old_clone.path)
    code, out, err = run(capsys, "digest", ".", "-v", "--lang", "en")
    assert code == 0 and "feat: add the parser" in out
    assert logging.getLogger().level == logging.DEBUG
    code, _, err = run(capsys, "digest", "./missing", "--verbose")
    assert code == 2
    assert " DEBUG digestbot: command failed" in err  # the debug log, then the one line
    assert err.endswith("digestbot: './missing' does not exist.\n")
    code, _, err = run(capsys, "digest", "./missing")
    assert code == 2 and err == "digestbot: './missing' does not exist.\n"


def test_details_show_the_zone_of_their_times(
    old_clone: GitRepoBuilder, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sha = old_clone.git("log", "-1", "--format=%H", "--grep=feat:").strip()
    when = datetime.fromisoformat(old_clone.git("log", "-1", "--format=%cI", sha).strip())
    path = str(old_clone.path)
    code, out, err = run(capsys, "details", path, sha[:8], "--lang", "en", "--tz", "Asia/Shanghai")
    assert code == 0, err
    assert f"{when.astimezone(SH):%Y-%m-%d %H:%M:%S} (Asia/Shanghai, UTC+08:00)" in out
    code, out, _ = run(capsys, "details", path, sha[:8], "--lang", "en")
    assert code == 0 and f"{when.astimezone(UTC):%Y-%m-%d %H:%M:%S} (UTC)" in out
    monkeypatch.setenv("DIGESTBOT_TZ", "America/New_York")
    code, out, _ = run(capsys, "details", path, sha[:8], "--lang", "en")
    zone = ZoneInfo("America/New_York")
    offset = "UTC-04:00" if when.astimezone(zone).dst() else "UTC-05:00"
    assert code == 0 and f"(America/New_York, {offset})" in out
    code, out, _ = run(capsys, "details", path, sha[:8], "--format", "json", "--tz", "Asia/Tokyo")
    assert code == 0 and json.loads(out)["sha"] == sha
    code, _, err = run(capsys, "details", path, sha[:8], "--tz", "Mars/Base")
    assert code == 78 and err.startswith("digestbot: Unknown time zone 'Mars/Base'")


# -- the database: one line, never a traceback ------------------------------------------------


def one_line(err: str) -> str:
    assert err.startswith("digestbot: ") and err.count("\n") == 1, err
    return err


def test_postgres_without_its_driver_says_which_package(
    old_clone: GitRepoBuilder, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if not installed
    monkeypatch.setitem(sys.modules, "psycopg2", None)
    for url in ("postgresql://me:hunter2pw@127.0.0.1:1/db", "postgresql+psycopg://h/db"):
        monkeypatch.setenv("DATABASE_URL", url)
        code, out, err = run(capsys, "digest", str(old_clone.path))
        assert (code, out) == (78, "")
        assert 'driver (psycopg) is not installed: pip install ".[postgres]"' in one_line(err)
        assert "hunter2pw" not in err


def test_a_plain_postgresql_url_uses_the_installed_psycopg(
    old_clone: GitRepoBuilder, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLAlchemy reads `postgresql://` as psycopg2, which digestbot does not ship."""
    pytest.importorskip("psycopg")
    monkeypatch.setitem(sys.modules, "psycopg2", None)
    monkeypatch.setenv("DATABASE_URL", "postgres://me:hunter2pw@127.0.0.1:1/db?connect_timeout=2")
    code, _, err = run(capsys, "digest", str(old_clone.path))
    assert code == 74  # the driver loaded and tried the (closed) port
    assert one_line(err) == "digestbot: The database is not reachable.\n"


@pytest.mark.parametrize(
    "url", ["mysql://me:hunter2pw@db/digestbot", "mysql+pymysql://db/x", "oracle://db/x"]
)
def test_another_database_is_refused_in_one_line(
    old_clone: GitRepoBuilder,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    url: str,
) -> None:
    monkeypatch.setenv("DATABASE_URL", url)
    code, out, err = run(capsys, "digest", str(old_clone.path))
    assert (code, out) == (78, "")
    assert "only sqlite and postgresql are supported" in one_line(err)
    assert "hunter2pw" not in err


def test_an_unwritable_data_dir_names_it(
    old_clone: GitRepoBuilder,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x", encoding="utf-8")
    monkeypatch.setenv("DIGESTBOT_DATA_DIR", str(blocker / "data"))
    code, out, err = run(capsys, "digest", str(old_clone.path))
    assert (code, out) == (74, "")
    assert one_line(err) == (
        f"digestbot: Cannot write the database directory {blocker / 'data'} (Not a directory); "
        "make it writable, or set DIGESTBOT_DATA_DIR to a writable directory.\n"
    )


def test_a_data_dir_without_write_permission_names_it(
    old_clone: GitRepoBuilder,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Root may write anywhere, so the permission itself is taken away where SQLite asks."""
    data = tmp_path / "readonly"
    data.mkdir()
    monkeypatch.setenv("DIGESTBOT_DATA_DIR", str(data))
    real_access = os.access

    def access(path: str | Path, mode: int) -> bool:
        return False if Path(path) == data else real_access(path, mode)

    monkeypatch.setattr("bot.storage.sql.os.access", access)
    code, _, err = run(capsys, "digest", str(old_clone.path))
    assert code == 74
    assert f"Cannot write the database directory {data} (permission denied)" in one_line(err)


def test_a_reader_that_leaves_early_gets_no_traceback(
    old_clone: GitRepoBuilder, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`digestbot digest . | head`: the pipe closes under the report."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    stream = io.TextIOWrapper(io.FileIO(write_end, "w"), encoding="utf-8", write_through=True)
    monkeypatch.setattr(sys, "stdout", stream)
    try:
        code = main(["digest", str(old_clone.path), "--lang", "en"])
        stream.write("still writable: now /dev/null")
    finally:
        stream.close()
    assert code == 1
    assert capsys.readouterr().err == ""
