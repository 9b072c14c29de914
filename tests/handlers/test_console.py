"""`digestbot chat`: the console adapter driven through stdin."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from digestbot.cli import main
from handlers.console import ConsoleAdapter, run_console, terminal_safe
from handlers.ports import ReplyTarget
from tests.fakes.chat import build_chat_core, make_widget_repo, preserved_logging, write_config
from tests.fakes.conversations import conversation_of


async def test_a_session_digest_then_thread_questions(tmp_path: Path) -> None:
    shas = make_widget_repo(tmp_path / "widget")
    core = build_chat_core(tmp_path, tmp_path / "widget")
    try:
        stdin = io.StringIO(
            "help\n"
            "\n"
            "digest widget today\n"
            f"{shas['feature'][:7]}\n"
            f"what about {shas['docs'][:8]}?\n"
            f"{shas['older'][:7]}\n"
            "digest nope\n"
            "quit\n"
            "digest widget today\n"  # after quit: never read
        )
        out = io.StringIO()
        assert await run_console(conversation_of(core), stdin, out, user="me") == 0
        text = out.getvalue()
    finally:
        await core.aclose()
    assert "digestbot commands" in text
    assert "» Building the digest of acme/widget for today…" in text
    assert "## acme/widget" in text and "feat(api): add streaming endpoint (#101)" in text
    # the bare SHA and the question are answered from the last digest (the console's thread)
    assert text.count(f"`{shas['feature'][:7]}`") >= 2
    assert text.count(f"`{shas['docs'][:7]}`") >= 2
    assert "is not one of this digest's commits" in text
    assert "Unknown repository 'nope'" in text
    assert text.count("Building the digest") == 1


async def test_console_output_cannot_drive_the_terminal() -> None:
    out = io.StringIO()
    adapter = ConsoleAdapter(out)
    await adapter.send_text(ReplyTarget("console", "console"), "red \x1b[31mALERT\x1b[0m\x07 done")
    assert "\x1b" not in out.getvalue() and "\x07" not in out.getvalue()
    assert "red [31mALERT[0m done" in out.getvalue()
    assert terminal_safe("a\tb\nc\x9bd") == "a\tb\ncd"


def test_digestbot_chat_command_runs_the_console(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    make_widget_repo(tmp_path / "widget")
    config = write_config(tmp_path / "digestbot.toml", tmp_path / "widget")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite'}")
    monkeypatch.setenv("DIGESTBOT_CONFIG", str(config))
    for name in ("OPENAI_API_KEY", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "stdin", io.StringIO("digest widget 2026-02-08\nexit\n"))
    with preserved_logging():
        assert main(["chat"]) == 0
    out = capsys.readouterr().out
    assert "## acme/widget" in out and "docs: update README" in out


def test_the_console_operator_may_digest_a_local_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Like the CLI, the person at the terminal may name a path; chat platforms never may."""
    make_widget_repo(tmp_path / "widget")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite'}")
    for name in ("DIGESTBOT_CONFIG", "OPENAI_API_KEY", "LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "stdin", io.StringIO("digest ./widget 2026-02-08\nexit\n"))
    with preserved_logging():
        assert main(["chat"]) == 0
    captured = capsys.readouterr()
    assert "## widget" in captured.out and "docs: update README" in captured.out
    assert "Local paths cannot be used" not in captured.out
    assert " INFO " not in captured.err  # the console is not a log


async def test_chat_platforms_still_refuse_local_paths(tmp_path: Path) -> None:
    make_widget_repo(tmp_path / "widget")
    core = build_chat_core(tmp_path, tmp_path / "widget")
    try:
        out = io.StringIO()
        stdin = io.StringIO(f"digest {tmp_path / 'widget'} today\nquit\n")
        await run_console(conversation_of(core), stdin, out, user="me")
    finally:
        await core.aclose()
    assert "Local paths cannot be used here" in out.getvalue()


def test_ctrl_c_at_the_idle_prompt_ends_the_chat_at_once(tmp_path: Path) -> None:
    """No line was typed: SIGINT must not wait for Enter."""
    import os
    import signal
    import subprocess
    import sys
    import time

    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    env.pop("OPENAI_API_KEY", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "digestbot", "chat"],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.PIPE,  # open and silent: the prompt waits
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("digestbot chat")  # the banner: waiting now
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        started = time.monotonic()
        proc.wait(timeout=10)  # stdin stays open (communicate() would close it: an EOF)
        took = time.monotonic() - started
        assert proc.stderr is not None
        err = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert took < 3 and proc.returncode == 130
    assert "interrupted" in err and "Traceback" not in err


async def test_an_image_is_named_not_shown() -> None:
    out = io.StringIO()
    adapter = ConsoleAdapter(out)
    target = ReplyTarget("console", "console")
    [ref] = await adapter.send_image(
        target,
        b"\x89PNG\r\n\x1a\n" + bytes(24),
        filename="commits.png",
        title="Commits \x1b[31mper day",
        alt_text="a bar chart",
        text="Commits this week",
    )
    printed = out.getvalue()
    assert printed.startswith("[image: commits.png, 32 bytes] Commits [31mper day\n")
    assert "Commits this week" in printed and "\x1b" not in printed
    assert ref.platform == "console" and ref.channel_id == "console"
