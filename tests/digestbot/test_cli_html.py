"""`digestbot digest <local checkout> <day> --format html`: one self-contained page on stdout."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from formatters.html_report import CONTENT_SECURITY_POLICY
from tests.digestbot.test_cli import isolated_env, run  # noqa: F401 - the fixture
from tests.fakes.git_repo import GitRepoBuilder

DAY = datetime(2026, 2, 8, 10, 0, tzinfo=UTC)


@pytest.fixture
def checkout(tmp_path: Path) -> GitRepoBuilder:
    builder = GitRepoBuilder(tmp_path / "widget")
    builder.commit("feat: add the parser (#12)", {"src/parser.py": "x = 1\n" * 40}, when=DAY)
    builder.commit(
        "fix: <script>alert(1)</script> in the parser",
        {"src/parser.py": "x = 2\n"},
        when=DAY.replace(hour=11),
    )
    return builder


def test_digest_format_html_prints_one_page(
    checkout: GitRepoBuilder, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys, "digest", str(checkout.path), "2026-02-08", "--tz", "UTC", "--lang", "en",
        "--format", "html",
    )  # fmt: skip
    assert code == 0, err
    assert out.startswith("<!DOCTYPE html>") and out.rstrip().endswith("</html>")
    assert out.count("<html") == 1
    assert f'content="{CONTENT_SECURITY_POLICY}"' in out
    assert "feat: add the parser (#12)" in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out and "<script" not in out
    assert "2 commits" in out


def test_html_is_listed_in_the_digest_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        run(capsys, "digest", "--help")
    out = capsys.readouterr().out
    assert "html" in out and "one repository per command" in " ".join(out.split())
