"""Context packing: priorities, caps, coverage, and the budget never exceeded (property-tested)."""

from __future__ import annotations

import tracemalloc
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.analysis.budget import (
    MAX_LINE_CHARS,
    FileKind,
    classify_path,
    pack_commit,
    safe_path,
    truncate_to_tokens,
)
from bot.analysis.tokens import EstimatingCounter
from bot.models import Commit, FileChange, PullRequest

COUNTER = EstimatingCounter()


def commit_with(files: tuple[FileChange, ...], **kwargs: object) -> Commit:
    values: dict[str, object] = {
        "repo": "o/r",
        "sha": "a" * 40,
        "title": "feat: something",
        "message": "feat: something\n\nLonger explanation.",
        "author": "dev",
        "committed_at": datetime(2026, 2, 8, tzinfo=UTC),
        "files": files,
    }
    values.update(kwargs)
    return Commit.model_validate(values)


def hunk(tag: str, lines: int = 5, sign: str = "+") -> str:
    body = "\n".join(f"{sign}{tag}_line_{i} = {i}" for i in range(lines))
    return f"@@ -1,{lines} +1,{lines} @@\n{body}"


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("python/sglang/srt/model_runner.py", FileKind.SOURCE),
        (".github/workflows/ci.yml", FileKind.SOURCE),
        ("test/srt/test_x.py", FileKind.TEST),
        ("pkg/foo_test.go", FileKind.TEST),
        ("web/app.spec.ts", FileKind.TEST),
        ("docs/index.md", FileKind.DOCS),
        ("README.md", FileKind.DOCS),
        ("package-lock.json", FileKind.GENERATED),
        ("poetry.lock", FileKind.GENERATED),
        ("proto/api_pb2.py", FileKind.GENERATED),
        ("vendor/github.com/x/y.go", FileKind.GENERATED),
        ("third_party/cutlass/gemm.h", FileKind.GENERATED),
        ("static/app.min.js", FileKind.GENERATED),
        ("src/generated/schema.ts", FileKind.GENERATED),
    ],
)
def test_classify_path(path: str, kind: FileKind) -> None:
    assert classify_path(path) is kind


def test_small_commit_is_sent_whole() -> None:
    files = (
        FileChange(path="src/a.py", additions=5, patch=hunk("a")),
        FileChange(path="tests/test_a.py", additions=5, patch=hunk("t")),
        FileChange(path="logo.png", status="added"),
    )
    packed = pack_commit(commit_with(files), available=4000, counter=COUNTER)
    cov = packed.coverage
    assert (cov.files_total, cov.files_sent, cov.lines_total, cov.lines_sent) == (3, 3, 10, 10)
    assert not cov.partial and cov.omitted_paths == ()
    assert "Longer explanation." in packed.message
    assert "A logo.png (+0 -0) [no patch]" in packed.files
    assert "a_line_4 = 4" in packed.patch and "t_line_4 = 4" in packed.patch


def test_priorities_source_tests_docs_generated_and_added_before_deleted() -> None:
    files = (
        FileChange(path="package-lock.json", additions=5, patch=hunk("lock")),
        FileChange(path="docs/guide.md", additions=5, patch=hunk("doc")),
        FileChange(path="tests/test_x.py", additions=5, patch=hunk("test")),
        FileChange(path="src/old.py", deletions=5, patch=hunk("gone", sign="-")),
        FileChange(path="src/core.py", additions=5, patch=hunk("core")),
    )
    packed = pack_commit(commit_with(files), available=5000, counter=COUNTER)
    order = [packed.patch.index(f"{tag}_line_0") for tag in ("core", "test", "doc", "lock", "gone")]
    assert order == sorted(order)
    listing = packed.files.splitlines()
    assert listing[0].startswith("M src/")
    assert listing[-1].startswith("M package-lock.json")


def test_tight_budget_keeps_source_and_reports_the_rest() -> None:
    files = (
        *(
            FileChange(path=f"src/m{i}.py", patch=hunk(f"m{i}", 40), additions=40)
            for i in range(30)
        ),
        FileChange(path="docs/a.md", additions=40, patch=hunk("doc", 40)),
    )
    packed = pack_commit(commit_with(files), available=1200, counter=COUNTER)
    cov = packed.coverage
    assert cov.partial and 0 < cov.files_sent < 31
    assert len(cov.omitted_paths) == 20  # a bounded sample, highest priority first
    assert cov.omitted_paths[0].startswith("src/")
    assert "doc_line_0" not in packed.patch
    assert packed.tokens <= 1200


def test_one_huge_file_does_not_crowd_out_the_next() -> None:
    files = (
        FileChange(path="src/huge.py", additions=5000, patch=hunk("huge", 5000)),
        FileChange(path="src/small.py", additions=3, patch=hunk("small", 3)),
    )
    packed = pack_commit(commit_with(files), available=3000, counter=COUNTER)
    assert "small_line_2" in packed.patch
    assert "[… truncated]" in packed.patch
    assert packed.coverage.files_sent == 2
    assert packed.coverage.lines_sent < packed.coverage.lines_total


def test_file_list_is_capped_with_a_count() -> None:
    files = tuple(FileChange(path=f"src/f{i}.py", additions=1) for i in range(2000))
    packed = pack_commit(commit_with(files, files_truncated=True), available=3000, counter=COUNTER)
    listed = [line for line in packed.files.splitlines() if line.startswith("M ")]
    assert 0 < len(listed) < 2000
    assert f"+{2000 - len(listed)} more files (the source stopped listing files)" in packed.files


def test_long_lines_are_clipped() -> None:
    minified = "@@ -0,0 +1 @@\n+" + "var a=1;" * 5000
    files = (FileChange(path="src/bundle.js", additions=1, patch=minified),)
    packed = pack_commit(commit_with(files), available=3000, counter=COUNTER)
    longest = max(len(line) for line in packed.patch.splitlines())
    assert longest <= MAX_LINE_CHARS + 2


def test_pr_and_message_are_capped_to_their_share() -> None:
    pr = PullRequest(number=7, title="Big PR", body="word " * 50_000, labels=("perf", "ci"))
    commit = commit_with((), message="title\n\n" + "line\n" * 50_000, pr=pr)
    packed = pack_commit(commit, available=2000, counter=COUNTER)
    assert COUNTER.count(packed.message) <= 500
    assert COUNTER.count(packed.pull_request) <= 300
    assert packed.pull_request.startswith("#7 Big PR\nlabels: perf, ci")


def test_scrub_runs_before_counting() -> None:
    files = (FileChange(path="src/TOKEN.py", additions=1, patch="@@ -0,0 +1 @@\n+TOKEN here"),)
    commit = commit_with(files, message="fix TOKEN", pr=PullRequest(number=1, body="TOKEN"))
    packed = pack_commit(
        commit, available=2000, counter=COUNTER, scrub=lambda s: s.replace("TOKEN", "")
    )
    assert all("TOKEN" not in part for part in packed.parts())


def test_control_characters_in_paths_cannot_break_lines() -> None:
    assert safe_path("a\nb\rc\u2028d") == "a?b?c?d"
    files = (FileChange(path="evil\nname.py", additions=1, patch="@@ -0,0 +1 @@\n+x"),)
    packed = pack_commit(commit_with(files), available=2000, counter=COUNTER)
    assert "evil?name.py" in packed.files and "evil?name.py" in packed.patch


def test_three_thousand_files_five_megabytes_in_budget_and_bounded_memory() -> None:
    body = "\n".join(f"+    value_{i} = compute(alpha, beta) + {i}" for i in range(60))
    patch = f"@@ -1,60 +1,60 @@\n{body}"
    files = tuple(
        FileChange(path=f"src/pkg{i % 50}/mod{i}.py", additions=60, patch=patch)
        for i in range(3000)
    )
    commit = commit_with(files)
    assert sum(len(f.patch or "") for f in files) > 5_000_000
    tracemalloc.start()
    try:
        packed = pack_commit(commit, available=5000, counter=COUNTER)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sum(COUNTER.count(part) for part in packed.parts()) <= 5000
    assert packed.coverage.files_total == 3000
    assert packed.coverage.lines_total == 180_000
    assert peak < 8_000_000  # the packer never copies the whole patch


def test_truncate_to_tokens_marks_the_cut() -> None:
    text = "\n".join(f"line number {i}" for i in range(1000))
    cut = truncate_to_tokens(text, 50, COUNTER)
    assert cut.endswith("[… truncated]")
    assert text.startswith(cut.removesuffix("\n[… truncated]"))
    assert COUNTER.count(cut) <= 50
    assert truncate_to_tokens("short", 50, COUNTER) == "short"
    assert truncate_to_tokens("anything", 0, COUNTER) == ""


# -- properties --------------------------------------------------------------------------------

_texts = st.text(
    alphabet=st.sampled_from(list("abcXYZ019 _-+=@#<>{}()\n\t.,;中文字é😀")), max_size=400
)
_paths = st.from_regex(r"[a-z]{1,6}(/[a-z_]{1,6}){0,3}\.(py|md|lock|js|min\.js)", fullmatch=True)


@st.composite
def _patches(draw: st.DrawFn) -> str | None:
    if draw(st.booleans()) and draw(st.booleans()):
        return None
    hunks = draw(st.lists(_texts, max_size=4))
    return "\n".join(f"@@ -1 +1 @@\n{h}" for h in hunks) if hunks else draw(_texts)


_files = st.builds(
    FileChange,
    path=st.one_of(_paths, _texts.filter(bool)),
    status=st.sampled_from(["added", "modified", "removed", "renamed", ""]),
    additions=st.integers(0, 10_000),
    deletions=st.integers(0, 10_000),
    patch=_patches(),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    files=st.lists(_files, max_size=25),
    message=_texts,
    body=_texts,
    available=st.integers(-50, 3000),
    include_patch=st.booleans(),
)
def test_packer_never_exceeds_budget(
    files: list[FileChange], message: str, body: str, available: int, include_patch: bool
) -> None:
    commit = commit_with(
        tuple(files), message=message, pr=PullRequest(number=3, title="t", body=body)
    )
    packed = pack_commit(commit, available=available, counter=COUNTER, include_patch=include_patch)
    parts_total = sum(COUNTER.count(part) for part in packed.parts())
    assert parts_total <= max(available, 0)
    assert packed.tokens <= max(available, 0)
    assert COUNTER.count("\n".join(packed.parts())) <= max(available, 0) + 3
    cov = packed.coverage
    assert 0 <= cov.files_sent <= cov.files_total == len(files)
    assert 0 <= cov.lines_sent <= cov.lines_total
    if not include_patch:
        assert packed.patch == ""


@settings(max_examples=200, deadline=None)
@given(text=_texts, limit=st.integers(-5, 200))
def test_truncate_never_exceeds(text: str, limit: int) -> None:
    cut = truncate_to_tokens(text, limit, COUNTER)
    assert COUNTER.count(cut) <= max(limit, 0)
    assert text.startswith(cut.removesuffix("\n[… truncated]"))
