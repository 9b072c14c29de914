"""The README's quick start, run as written, and its links: every one resolves in a clone."""

from __future__ import annotations

import re
import shlex
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.digestbot.test_cli import isolated_env, run  # noqa: F401 - the fixture
from tests.fakes.git_repo import GitRepoBuilder

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
EXAMPLES = ROOT / "examples"
_LINK_RE = re.compile(r"\]\(([^)\s]+)\)")


def quick_start() -> list[str]:
    """The commands of the README's first code block."""
    match = re.search(r"```bash\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
    assert match, "the README starts with no bash block"
    return [line for line in match.group(1).splitlines() if line.strip()]


def test_the_readme_starts_with_two_set_up_commands() -> None:
    first, second = quick_start()  # install + run the main job; install + run the tests
    assert first.startswith("pip install -e . && digestbot digest .")
    assert second == 'pip install -e ".[dev]" && python -m pytest'


def test_the_first_command_shows_the_latest_day_of_an_old_clone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a fresh clone whose last commit is over a week old, the quick start showed
    "No commits in this window"."""
    builder = GitRepoBuilder(tmp_path / "clone")
    long_ago = datetime.now(UTC) - timedelta(days=100)
    builder.commit("feat: the first feature", {"src/app.py": "x = 1\n" * 20}, when=long_ago)
    (builder.path / "bot").mkdir()
    monkeypatch.chdir(builder.path / "bot")  # `cd bot && …`: a subfolder works too
    command = quick_start()[0].split("&&", 1)[1].strip()
    words = shlex.split(command)
    assert words[0] == "digestbot"
    code, out, err = run(capsys, *words[1:], "--lang", "en")
    assert code == 0, err
    assert "feat: the first feature" in out and "No commits" not in out


def links(path: Path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    return [t for t in _LINK_RE.findall(text) if not t.startswith(("http", "#", "mailto:"))]


@pytest.mark.parametrize("document", [README, EXAMPLES / "README.md"], ids=lambda p: p.name)
def test_every_relative_link_resolves_inside_the_repository(document: Path) -> None:
    """`../shared/reference/…` pointed outside the repository: broken in any clone."""
    found = links(document)
    assert found
    for target in found:
        resolved = (document.parent / target.split("#", 1)[0]).resolve()
        assert resolved.is_relative_to(ROOT), f"{target} leaves the repository"
        assert resolved.exists(), f"{target} does not exist"


def test_the_example_reports_are_linked_and_keep_the_licence_notice() -> None:
    readme_links = links(README)
    reports = sorted(EXAMPLES.glob("pydantic-*.md"))
    assert len(reports) == 2
    assert any(link.startswith("examples/") for link in readme_links)
    for report in reports:
        text = report.read_text(encoding="utf-8")
        assert text.startswith("# ") and "## pydantic/pydantic" in text
        # Every section a report can have, with real commits of that day linked on GitHub.
        assert text.count("https://github.com/pydantic/pydantic/commit/") >= 8
        assert "🔴" in text and "🟡" in text and "🟢" in text
    notice = (EXAMPLES / "pydantic-LICENSE").read_text(encoding="utf-8")
    assert notice.startswith("The MIT License (MIT)")
    assert "Copyright (c) 2017 to present Pydantic Services Inc." in notice
    assert "pydantic-LICENSE" in (EXAMPLES / "README.md").read_text(encoding="utf-8")
