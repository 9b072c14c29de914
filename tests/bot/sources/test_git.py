"""The local git source against real repositories built by the tests."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.errors import AmbiguousShaError, InvalidInputError, NotFoundError, SourceUnavailableError
from bot.filters import CommitFilter
from bot.models import FileChange
from bot.repos import RepoTarget
from bot.sources import git as git_module
from bot.sources.git import (
    _SHOW_ARGS,
    MAX_COMMIT_PATCH_BYTES,
    MAX_FILE_PATCH_BYTES,
    GitSource,
    _ShowParser,
    pr_number_from_title,
)
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
    (only,) = commit.files
    assert (only.status, only.additions, only.deletions) == ("added", 1, 0)
    assert only.patch == "@@ -0,0 +1 @@\n+b"


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


# -- get_commit: one `git show` per commit, on one worker, in call order ----------------------


def wrapped_git(tmp_path: Path, body: str = '"$REAL" "$@"') -> tuple[str, Path]:
    """A `git` that logs `start <args>` and `end` around `body` (by default the real git)."""
    log = tmp_path / "git-calls.log"
    script = tmp_path / "git-wrapper"
    script.write_text(
        f"#!/bin/sh\nREAL='{shutil.which('git')}'\n"
        f"echo \"start $*\" >> '{log}'\n{body}\nstatus=$?\n"
        f"echo end >> '{log}'\nexit $status\n"
    )
    script.chmod(0o755)
    return str(script), log


def git_show_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith("git-show")}


async def test_one_git_process_per_commit_served_in_call_order_by_one_thread(
    repo: tuple[GitRepoBuilder, RepoTarget], tmp_path: Path
) -> None:
    builder, target = repo
    shas = [
        builder.commit(f"c{i}", {f"f{i}.txt": f"{i}\n"}, when=datetime(2026, 1, 1 + i, tzinfo=UTC))
        for i in range(10)
    ]
    asked = [shas[i] for i in (3, 9, 0, 7, 1, 8, 2, 6, 4, 5)]  # not history order
    # A pause before git: with parallel workers the calls would overlap and finish out of order.
    git, log = wrapped_git(tmp_path, body='sleep 0.05\n"$REAL" "$@"')
    before = git_show_threads()
    source = GitSource(git=git)
    assert git_show_threads() == before  # the constructor starts nothing
    assert not log.exists()

    commits = await asyncio.gather(*(source.get_commit(target, sha) for sha in asked))

    assert [c.sha for c in commits] == asked
    assert [c.files[0].path for c in commits] == [f"f{shas.index(sha)}.txt" for sha in asked]
    lines = log.read_text().splitlines()
    assert len(lines) == 20  # ten processes, no rev-parse, no second show
    starts, ends = lines[0::2], lines[1::2]
    assert ends == ["end"] * 10  # each process ended before the next one started
    assert all(" show " in line for line in starts)
    started = [re.search(r"([0-9a-f]{40})\^\{commit\}", line) for line in starts]
    assert [m.group(1) if m else None for m in started] == asked
    workers = git_show_threads() - before
    assert len(workers) == 1

    await source.aclose()

    (worker,) = workers
    worker.join(timeout=5)
    assert not worker.is_alive()


async def test_root_empty_mode_and_type_change_commits(
    repo: tuple[GitRepoBuilder, RepoTarget],
) -> None:
    builder, target = repo
    root = builder.commit(
        "root", {"a.txt": "a\n", "run.sh": "echo\n"}, when=datetime(2026, 1, 1, tzinfo=UTC)
    )
    empty = builder.commit("nothing", {}, when=datetime(2026, 1, 2, tzinfo=UTC))
    (builder.path / "run.sh").chmod(0o755)
    builder.git("add", "run.sh")
    mode = builder.commit("executable", {}, when=datetime(2026, 1, 3, tzinfo=UTC))
    (builder.path / "a.txt").unlink()
    (builder.path / "a.txt").symlink_to("run.sh")
    builder.git("add", "a.txt")
    typechange = builder.commit("file to link", {}, when=datetime(2026, 1, 4, tzinfo=UTC))
    source = GitSource()

    first = await source.get_commit(target, root)
    assert first.parents == ()
    assert [(f.path, f.status, f.additions, f.patch) for f in first.files] == [
        ("a.txt", "added", 1, "@@ -0,0 +1 @@\n+a"),
        ("run.sh", "added", 1, "@@ -0,0 +1 @@\n+echo"),
    ]
    nothing = await source.get_commit(target, empty)
    assert (nothing.files, nothing.additions, nothing.title) == ((), 0, "nothing")
    chmod = await source.get_commit(target, mode)
    assert [(f.path, f.status, f.changes, f.patch) for f in chmod.files] == [
        ("run.sh", "modified", 0, None)
    ]
    # git prints a type change as a deletion and a creation: both land on the one file.
    (link,) = (await source.get_commit(target, typechange)).files
    assert (link.path, link.status, link.additions, link.deletions) == ("a.txt", "changed", 1, 1)
    assert link.patch is not None and "-a" in link.patch and "+run.sh" in link.patch
    await source.aclose()


async def test_paths_with_spaces_quotes_unicode_tabs_and_newlines(
    repo: tuple[GitRepoBuilder, RepoTarget],
) -> None:
    builder, target = repo
    names = ['dir with space/naïve "quoted".py', "tab\there.txt", "new\nline.txt", "日本語.md"]
    builder.commit(
        "add", {name: "one\n" * 10 for name in names}, when=datetime(2026, 1, 1, tzinfo=UTC)
    )
    (builder.path / "docs").mkdir()
    builder.git("mv", "日本語.md", "docs/中文 名.md")
    sha = builder.commit(
        "edit",
        {name: "one\n" * 10 + "two\n" for name in names[:3]},
        when=datetime(2026, 1, 2, tzinfo=UTC),
    )

    commit = await GitSource().get_commit(target, sha)

    files = {f.path: f for f in commit.files}
    assert set(files) == {*names[:3], "docs/中文 名.md"}
    for name in names[:3]:  # git quotes these in patch headers; the patches still arrive
        assert (files[name].status, files[name].additions) == ("modified", 1)
        assert files[name].patch is not None and files[name].patch.endswith("+two")
    moved = files["docs/中文 名.md"]
    assert (moved.status, moved.previous_path, moved.patch) == ("renamed", "日本語.md", None)


async def test_user_config_does_not_change_what_is_parsed(
    repo: tuple[GitRepoBuilder, RepoTarget],
) -> None:
    builder, target = repo
    for key, value in [
        ("diff.submodule", "log"),  # `Submodule x a..b:` instead of a `diff --git` section
        ("color.ui", "always"),
        ("diff.noprefix", "true"),
        ("log.showRoot", "false"),
        ("diff.external", "false"),
    ]:
        builder.git("config", key, value)
    root = builder.commit("root", {"a.txt": "a\n"}, when=datetime(2026, 1, 1, tzinfo=UTC))
    sub = GitRepoBuilder(builder.path / "sub")
    sub.commit("s1", {"s": "1"}, when=datetime(2026, 1, 1, tzinfo=UTC))
    builder.git("add", "sub")
    builder.commit("add sub", {}, when=datetime(2026, 1, 2, tzinfo=UTC))
    sub.commit("s2", {"s": "2"}, when=datetime(2026, 1, 3, tzinfo=UTC))
    builder.git("add", "sub")
    both = builder.commit("bump", {"z.txt": "z\n"}, when=datetime(2026, 1, 4, tzinfo=UTC))
    source = GitSource()

    (first,) = (await source.get_commit(target, root)).files
    assert first.patch == "@@ -0,0 +1 @@\n+a"
    files = {f.path: f for f in (await source.get_commit(target, both)).files}
    assert set(files) == {"sub", "z.txt"}
    assert files["sub"].patch is not None and "+Subproject commit" in files["sub"].patch
    assert files["z.txt"].patch == "@@ -0,0 +1 @@\n+z"
    await source.aclose()


async def test_unknown_tree_and_blob_shas_are_not_found(
    repo: tuple[GitRepoBuilder, RepoTarget],
) -> None:
    builder, target = repo
    builder.commit("one", {"a.txt": "1\n"}, when=datetime(2026, 1, 1, tzinfo=UTC))
    tree = builder.git("rev-parse", "HEAD^{tree}").strip()
    blob = builder.git("rev-parse", "HEAD:a.txt").strip()
    source = GitSource()
    for sha in ("1234567", "ab" * 20, tree, blob):
        with pytest.raises(NotFoundError) as err:
            await source.get_commit(target, sha)
        assert err.value.user_message == f"No commit {sha[:12]} in proj."
    await source.aclose()


async def test_git_failures_are_source_unavailable(
    repo: tuple[GitRepoBuilder, RepoTarget], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    builder, target = repo
    sha = builder.commit("one", {"a.txt": "1\n"}, when=datetime(2026, 1, 1, tzinfo=UTC))
    with pytest.raises(SourceUnavailableError) as missing:
        await GitSource(git=str(tmp_path / "no-git")).get_commit(target, sha)
    assert missing.value.user_message == "git is not installed."
    (tmp_path / "plain").mkdir()
    not_a_repo = RepoTarget(kind="local", name="plain", path=tmp_path / "plain")
    with pytest.raises(SourceUnavailableError) as failed:
        await GitSource().get_commit(not_a_repo, sha)
    assert failed.value.user_message == "git failed in plain."
    assert "not a git repository" in str(failed.value)
    monkeypatch.setattr(git_module, "_GIT_TIMEOUT", 0.3)
    slow, _ = wrapped_git(tmp_path, body="exec sleep 30")
    with pytest.raises(SourceUnavailableError) as timed_out:
        await GitSource(git=slow).get_commit(target, sha)
    assert timed_out.value.user_message == "git took too long."


async def test_patch_caps_drop_patches_not_files(
    repo: tuple[GitRepoBuilder, RepoTarget],
) -> None:
    builder, target = repo
    big_lines = "x" * 99 + "\n"
    files = {
        "a_many_lines.txt": big_lines * (MAX_FILE_PATCH_BYTES // 100 + 10),
        "b_one_long_line.txt": "y" * (MAX_FILE_PATCH_BYTES + 10),  # no newline at all
        "c_small.txt": "small\n",
    }
    sha = builder.commit("vendor", files, when=datetime(2026, 1, 1, tzinfo=UTC))

    commit = await GitSource().get_commit(target, sha)

    by_path = {f.path: f for f in commit.files}
    assert by_path["a_many_lines.txt"].patch is None
    assert by_path["a_many_lines.txt"].additions == MAX_FILE_PATCH_BYTES // 100 + 10
    assert by_path["b_one_long_line.txt"].patch is None
    assert by_path["b_one_long_line.txt"].additions == 1
    assert by_path["c_small.txt"].patch == "@@ -0,0 +1 @@\n+small"


async def test_commit_patch_cap_keeps_stats_of_every_file(
    repo: tuple[GitRepoBuilder, RepoTarget],
) -> None:
    builder, target = repo
    per_file = MAX_FILE_PATCH_BYTES * 9 // 10  # about 0.9 MB of patch per file
    count = MAX_COMMIT_PATCH_BYTES // per_file + 1  # one more than the commit cap takes
    line = "z" * 99 + "\n"
    files = {f"m{i:02}.txt": line * (per_file // 100) for i in range(count)}
    files["n_tiny.txt"] = "t\n"
    sha = builder.commit("vendor", files, when=datetime(2026, 1, 1, tzinfo=UTC))

    commit = await GitSource().get_commit(target, sha)

    assert len(commit.files) == count + 1
    assert all(f.additions == per_file // 100 for f in commit.files[:count])
    kept = [f.path for f in commit.files if f.patch is not None]
    assert kept == [f"m{i:02}.txt" for i in range(count - 1)] + ["n_tiny.txt"]
    assert sum(len(f.patch or "") for f in commit.files) <= MAX_COMMIT_PATCH_BYTES


# -- the `git show` parser, pure ---------------------------------------------------------------

_paths = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\0"), min_size=1, max_size=12
)
_hunk_lines = st.lists(
    st.tuples(
        st.sampled_from("+- "),
        st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\n")),
    ).map("".join),
    max_size=4,
)


@dataclass
class _Synth:
    status: str
    path: str
    previous: str | None
    adds: int
    dels: int
    binary: bool
    lines: list[str]


@st.composite
def _synth_files(draw: st.DrawFn) -> list[_Synth]:
    paths = draw(st.lists(_paths, max_size=6, unique=True))
    result = []
    for path in paths:
        status = draw(st.sampled_from("AMDRCT"))
        previous = draw(_paths) if status in "RC" else None
        binary = draw(st.booleans())
        adds, dels = draw(st.integers(0, 10**6)), draw(st.integers(0, 10**6))
        result.append(_Synth(status, path, previous, adds, dels, binary, draw(_hunk_lines)))
    return result


def _synth_output(message: str, files: list[_Synth]) -> bytes:
    """What `git show` with _SHOW_ARGS prints, as far as the parser looks at it."""
    header = ["f" * 40, "a" * 40, "Dev", "2026-01-01T00:00:00+08:00", message + "\n"]
    out = "".join(field + "\0" for field in header) + "\0"
    if not files:
        return out.encode()
    out += "\n"
    for f in files:
        score = "100" if f.status in "RC" else ""
        names = [f.previous, f.path] if f.previous is not None else [f.path]
        out += f":100644 100644 abc def {f.status}{score}\0" + "".join(n + "\0" for n in names)
    for f in files:
        counts = "-\t-\t" if f.binary else f"{f.adds}\t{f.dels}\t"
        names = ["", f.previous, f.path] if f.previous is not None else [f.path]
        out += counts + "\0".join(names) + "\0"
    out += "\0"
    for f in files:
        for _ in range(2 if f.status == "T" else 1):  # git splits a type change in two
            out += "diff --git a/x b/x\nindex abc..def 100644\n--- a/x\n+++ b/x\n"
            if f.binary:
                out += "Binary files a/x and b/x differ\n"
            elif f.lines:
                out += "@@ -1 +1 @@\n" + "".join(line + "\n" for line in f.lines)
    return out.encode()


def _expected_patch(f: _Synth) -> str | None:
    if f.binary or not f.lines:
        return None
    hunk = "\n".join(["@@ -1 +1 @@", *f.lines])
    return "\n".join([hunk, hunk]) if f.status == "T" else hunk


@settings(max_examples=300, deadline=None)
@given(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0")), st.data())
def test_parser_reads_any_paths_in_any_chunks(message: str, data: st.DataObject) -> None:
    files = data.draw(_synth_files())
    out = _synth_output(message, files)
    cuts = sorted(data.draw(st.sets(st.integers(0, len(out)), max_size=8)))
    parser = _ShowParser()
    for start, end in zip([0, *cuts], [*cuts, len(out)], strict=True):
        parser.feed(out[start:end])
    shown = parser.close()

    names = {"A": "added", "M": "modified", "D": "removed", "R": "renamed", "C": "copied"}
    assert shown.message == message.strip("\n")
    assert shown.parents == ("a" * 40,)
    assert shown.files == tuple(
        FileChange(
            path=f.path,
            status=names.get(f.status, "changed"),
            additions=0 if f.binary else f.adds,
            deletions=0 if f.binary else f.dels,
            patch=_expected_patch(f),
            previous_path=f.previous,
        )
        for f in files
    )


def test_parser_skips_a_huge_patch_without_holding_it() -> None:
    files = [
        _Synth("A", "vendor/huge.c", None, 1, 0, False, []),
        _Synth("A", "vendor/one_line.min.js", None, 1, 0, False, []),
        _Synth("M", "zz.txt", None, 1, 0, False, ["+kept"]),
    ]
    head, _, _ = _synth_output("big", files).partition(b"diff --git")
    parser = _ShowParser()
    held = 0

    def feed(data: bytes) -> None:
        nonlocal held
        for i in range(0, len(data), 65536):
            parser.feed(data[i : i + 65536])
            held = max(held, len(parser._buf) + sum(map(len, parser._lines)))

    feed(head)
    feed(b"diff --git a/vendor/huge.c b/vendor/huge.c\n@@ -0,0 +1,600000 @@\n")
    for _ in range(60):  # 60 MB of patch lines
        feed(b"+" + b"x" * 99 + b"\n" + (b"+" + b"x" * 99 + b"\n") * 9999)
    feed(b"diff --git a/vendor/one_line.min.js b/vendor/one_line.min.js\n@@ -0,0 +1 @@\n+")
    for _ in range(20):  # 20 MB in one line
        feed(b"y" * 1_000_000)
    feed(b"\ndiff --git a/zz.txt b/zz.txt\n@@ -1 +1 @@\n+kept\n")
    shown = parser.close()

    assert [f.patch for f in shown.files] == [None, None, "@@ -1 +1 @@\n+kept"]
    assert held <= MAX_FILE_PATCH_BYTES + 2 * 65536  # never the whole patch


def test_parser_reads_real_git_output_in_any_chunks(
    repo: tuple[GitRepoBuilder, RepoTarget],
) -> None:
    builder, _ = repo
    names = ["a b.txt", 'q"uote.py', "tab\there", "ü/ñ.md", "new\nline", "0digit", "diff"]
    builder.commit("base", {n: "1\n2\n3\n" for n in names}, when=datetime(2026, 1, 1, tzinfo=UTC))
    builder.git("mv", "a b.txt", "moved a b.txt")
    (builder.path / "bin.dat").write_bytes(bytes(range(256)))
    builder.git("add", "bin.dat")
    sha = builder.commit(
        "many\n\nbody\n", {n: "1\n2\n4\n" for n in names[1:]}, when=datetime(2026, 1, 2, tzinfo=UTC)
    )
    out = subprocess.run(
        ["git", "-C", str(builder.path), "-c", "core.quotepath=off", "show", *_SHOW_ARGS, sha],
        check=True,
        capture_output=True,
        env={**os.environ, "GIT_CONFIG_NOSYSTEM": "1"},
    ).stdout
    whole = _ShowParser()
    whole.feed(out)
    expected = whole.close()
    assert expected.message == "many\n\nbody"
    assert {f.path for f in expected.files} == {"moved a b.txt", "bin.dat", *names[1:]}
    assert all(f.patch for f in expected.files if f.path not in ("moved a b.txt", "bin.dat"))

    @settings(max_examples=200, deadline=None)
    @given(st.sets(st.integers(0, len(out)), max_size=12))
    def same_in_any_chunks(cuts: set[int]) -> None:
        parser = _ShowParser()
        points = sorted(cuts)
        for start, end in zip([0, *points], [*points, len(out)], strict=True):
            parser.feed(out[start:end])
        assert parser.close() == expected

    same_in_any_chunks()
