"""The local git source against real repositories built by the tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.errors import AmbiguousShaError, InvalidInputError, NotFoundError
from bot.filters import CommitFilter
from bot.repos import RepoTarget
from bot.sources.git import GitSource, pr_number_from_title
from bot.windows import parse_window
from tests.fakes.git_repo import GitRepoBuilder

SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def repo(tmp_path: Path) -> tuple[GitRepoBuilder, RepoTarget]:
    builder = GitRepoBuilder(tmp_path / "proj")
    return builder, RepoTarget(kind="local", name="proj", path=builder.path)


async def test_lists_exactly_the_local_day(repo: tuple[GitRepoBuilder, RepoTarget]) -> None:
    builder, target = repo
    before = builder.commit(
        "before midnight", {"a.py": "1"}, when=datetime(2026, 2, 7, 23, 59, 59, tzinfo=SH)
    )
    first = builder.commit(
        "at midnight", {"a.py": "2"}, when=datetime(2026, 2, 8, 0, 0, 0, tzinfo=SH)
    )
    last = builder.commit(
        "late (#42)", {"a.py": "3"}, when=datetime(2026, 2, 8, 23, 59, 59, tzinfo=SH), author="Mick"
    )
    builder.commit("next day", {"a.py": "4"}, when=datetime(2026, 2, 9, 0, 0, 0, tzinfo=SH))
    window = parse_window("2026-02-08", "Asia/Shanghai", datetime(2026, 2, 10, tzinfo=UTC))

    listed = await GitSource().list_commits(target, window)

    assert [c.sha for c in listed] == [last, first]
    assert before not in {c.sha for c in listed}
    assert listed[0].author == "Mick"
    assert listed[0].committed_at == datetime(2026, 2, 8, 23, 59, 59, tzinfo=SH)


async def test_commit_details_files_stats_patch_and_pr(
    repo: tuple[GitRepoBuilder, RepoTarget],
) -> None:
    builder, target = repo
    builder.commit(
        "init",
        {"src/core.py": "a\nb\nc\n", "old name.txt": "x\n" * 20},
        when=datetime(2026, 1, 1, tzinfo=UTC),
    )
    (builder.path / "docs").mkdir()
    builder.git("mv", "old name.txt", "docs/new name.txt")
    (builder.path / "img.bin").write_bytes(bytes(range(256)))
    builder.git("add", "img.bin")
    sha = builder.commit(
        "feat: faster core (#1234)\n\nLonger body.",
        {"src/core.py": "a\nB\nc\nd\n", "tests/test_core.py": "def test():\n    pass\n"},
        when=datetime(2026, 1, 2, tzinfo=UTC),
    )

    commit = await GitSource().get_commit(target, sha[:10])

    assert commit.sha == sha
    assert commit.title == "feat: faster core (#1234)"
    assert commit.body == "Longer body."
    assert commit.pr is not None and commit.pr.number == 1234
    files = {f.path: f for f in commit.files}
    assert set(files) == {"src/core.py", "tests/test_core.py", "docs/new name.txt", "img.bin"}
    core = files["src/core.py"]
    assert (core.status, core.additions, core.deletions) == ("modified", 2, 1)
    assert core.patch is not None and "+B" in core.patch and "-b" in core.patch
    assert files["tests/test_core.py"].status == "added"
    renamed = files["docs/new name.txt"]
    assert renamed.status == "renamed" and renamed.previous_path == "old name.txt"
    assert files["img.bin"].patch is None  # binary
    assert commit.additions == sum(f.additions for f in commit.files)


async def test_merge_commit_diffs_against_first_parent(
    repo: tuple[GitRepoBuilder, RepoTarget],
) -> None:
    builder, target = repo
    builder.commit("base", {"a.txt": "a\n"}, when=datetime(2026, 1, 1, tzinfo=UTC))
    builder.git("checkout", "-q", "-b", "topic")
    builder.commit("topic work", {"b.txt": "b\n"}, when=datetime(2026, 1, 2, tzinfo=UTC))
    builder.git("checkout", "-q", "main")
    builder.commit("main work", {"c.txt": "c\n"}, when=datetime(2026, 1, 3, tzinfo=UTC))
    env = {
        "GIT_COMMITTER_DATE": "2026-01-04T00:00:00+00:00",
        "GIT_AUTHOR_DATE": "2026-01-04T00:00:00+00:00",
    }
    builder.git("merge", "-q", "--no-ff", "-m", "Merge topic", "topic", env=env)
    sha = builder.git("rev-parse", "HEAD").strip()

    commit = await GitSource().get_commit(target, sha)

    assert commit.is_merge
    assert [f.path for f in commit.files] == ["b.txt"]


async def test_resolve_short_sha(repo: tuple[GitRepoBuilder, RepoTarget]) -> None:
    builder, target = repo
    shas = [
        builder.commit(
            f"c{i}", {"f.txt": str(i)}, when=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=i)
        )
        for i in range(3)
    ]
    source = GitSource()
    assert await source.resolve_sha(target, shas[1][:8]) == shas[1]
    with pytest.raises(NotFoundError):
        await source.resolve_sha(target, "0000000")
    with pytest.raises(InvalidInputError):
        await source.resolve_sha(target, "not-a-sha")


async def test_ambiguous_short_sha(repo: tuple[GitRepoBuilder, RepoTarget]) -> None:
    builder, target = repo
    builder.commit("root", {"f.txt": "0"}, when=datetime(2026, 1, 1, tzinfo=UTC))
    tree = builder.git("rev-parse", "HEAD^{tree}").strip()
    # A 7-hex collision would take ~16k commits; git's --disambiguate works from 4 digits, so
    # make dangling commits with commit-tree until two share a 4-digit prefix (~300 expected).
    seen: dict[str, str] = {}
    shared = None
    env = {"GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z"}
    for i in range(5000):
        sha = builder.git("commit-tree", tree, "-m", f"n{i}", env=env).strip()
        if sha[:4] in seen:
            shared = sha[:4]
            break
        seen[sha[:4]] = sha
    assert shared is not None
    with pytest.raises(AmbiguousShaError) as err:
        await GitSource()._resolve_candidates(target, shared)
    assert len(err.value.candidates) >= 2
    assert all(c.startswith(shared) for c in err.value.candidates)


async def test_unknown_sha_and_empty_repo(repo: tuple[GitRepoBuilder, RepoTarget]) -> None:
    builder, target = repo
    window = parse_window("today", "UTC", datetime(2026, 1, 1, tzinfo=UTC))
    assert await GitSource().list_commits(target, window) == []
    builder.commit("one", {"a": "1"}, when=datetime(2026, 1, 1, tzinfo=UTC))
    with pytest.raises(NotFoundError):
        await GitSource().get_commit(target, "1234567")


def test_github_origin_gives_links(repo: tuple[GitRepoBuilder, RepoTarget]) -> None:
    builder, target = repo
    builder.git("remote", "add", "origin", "git@github.com:sgl-project/sglang.git")
    assert GitSource().repo_url(target) == "https://github.com/sgl-project/sglang"


def test_non_github_origin_gives_no_links(repo: tuple[GitRepoBuilder, RepoTarget]) -> None:
    builder, target = repo
    builder.git("remote", "add", "origin", "https://gitlab.com/a/b.git")
    assert GitSource().repo_url(target) == ""


@pytest.mark.parametrize(
    ("title", "number"),
    [("Fix X (#18396)", 18396), ("Fix (#1) in middle (#2)", 2), ("No pr", None), ("(#abc)", None)],
)
def test_pr_number_from_title(title: str, number: int | None) -> None:
    assert pr_number_from_title(title) == number


# -- latest: the newest day with commits ------------------------------------------------------


async def test_latest_commit_is_the_newest_a_digest_would_show(
    repo: tuple[GitRepoBuilder, RepoTarget],
) -> None:
    builder, target = repo
    source = GitSource()
    assert await source.latest_commit_at(target) is None  # no commits yet: no day
    builder.commit("old", {"a": "1"}, when=datetime(2025, 3, 1, 12, tzinfo=UTC))
    human = builder.commit("human", {"a": "2"}, when=datetime(2025, 3, 2, 23, 30, tzinfo=UTC))
    builder.commit(
        "bump deps", {"a": "3"}, when=datetime(2025, 3, 9, tzinfo=UTC), author="dependabot[bot]"
    )
    # Committer dates are only roughly ordered: a rebased commit on top may be older.
    builder.commit("rebased", {"a": "4"}, when=datetime(2025, 3, 1, 13, tzinfo=UTC))
    assert await source.latest_commit_at(target) == datetime(2025, 3, 9, tzinfo=UTC)
    keep = CommitFilter(exclude_authors=("*[bot]",)).keeps_summary
    newest = await source.latest_commit_at(target, keep)
    assert newest == datetime(2025, 3, 2, 23, 30, tzinfo=UTC)
    # The day it names is local: 23:30 UTC on 2 March is 3 March in Shanghai.
    now = datetime(2026, 1, 1, tzinfo=UTC)
    window = parse_window("latest", "Asia/Shanghai", now, latest=newest)
    assert window.title == "2025-03-03"
    listed = await source.list_commits(target, window)
    assert [c.sha for c in listed] == [human]
    # A filter that keeps nothing falls back to the newest commit of all.
    assert await source.latest_commit_at(target, lambda _: False) == datetime(
        2025, 3, 9, tzinfo=UTC
    )


async def test_latest_on_a_missing_branch_is_not_found(
    repo: tuple[GitRepoBuilder, RepoTarget],
) -> None:
    builder, _ = repo
    builder.commit("one", {"a": "1"}, when=datetime(2026, 1, 1, tzinfo=UTC))
    with pytest.raises(NotFoundError):
        await GitSource().latest_commit_at(
            RepoTarget(kind="local", name="proj", path=builder.path, branch="nope")
        )


def test_https_origin_with_credentials_gives_links_without_them(
    repo: tuple[GitRepoBuilder, RepoTarget],
) -> None:
    builder, target = repo
    builder.git("remote", "add", "origin", "https://me:ghp_secret@github.com/acme/widget.git")
    assert GitSource().repo_url(target) == "https://github.com/acme/widget"
