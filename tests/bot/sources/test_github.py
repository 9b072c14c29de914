"""GitHubSource with the real PyGithub against the fake GitHub REST server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.errors import (
    AccessDeniedError,
    AmbiguousShaError,
    ConfigError,
    InvalidInputError,
    NotFoundError,
    RateLimitedError,
    SourceUnavailableError,
)
from bot.models import Window
from bot.repos import RepoTarget
from bot.sources.base import CommitSource
from bot.sources.github import GitHubSource, web_base_url
from tests.fakes.github_server import FakeFile, FakeGitHub, FakePull, iter_files, utc

REPO = RepoTarget(kind="github", name="acme/widgets")
DAY = utc(2026, 2, 8)
WINDOW = Window(start=DAY, end=DAY + timedelta(days=1), tz="UTC", label="2026-02-08")


class FakeTime:
    """An injected clock and sleep: sleeping records the wait and moves the clock, instantly."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def clock(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += timedelta(seconds=seconds)

    @property
    def epoch(self) -> int:
        return int(self.now.timestamp())


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    with FakeGitHub() as server:
        server.add_repo(REPO.name)
        yield server


@pytest.fixture
def time_() -> FakeTime:
    return FakeTime(datetime(2026, 2, 9, 1, 0, tzinfo=UTC))


@pytest.fixture
async def source(fake: FakeGitHub, time_: FakeTime) -> AsyncIterator[GitHubSource]:
    src = GitHubSource.create(fake.url, "t0ken", sleep=time_.sleep, clock=time_.clock)
    yield src
    await src.aclose()


def _paths(fake: FakeGitHub) -> list[str]:
    return [r.path for r in fake.requests]


# -- listing ------------------------------------------------------------------------------------


async def test_is_a_commit_source(source: GitHubSource) -> None:
    checked: CommitSource = source
    assert checked is source


async def test_list_paginates_with_link_headers_and_no_lazy_requests(
    fake: FakeGitHub, source: GitHubSource
) -> None:
    for i in range(250):
        fake.add_commit(
            REPO.name,
            f"Change {i} (#{i + 1})\n\nLonger body line",
            committed_at=DAY + timedelta(minutes=i),
            author=f"Author {i}",
            author_login=None if i % 10 == 0 else f"user{i}",
        )

    commits = await source.list_commits(REPO, WINDOW)

    assert len(commits) == 250
    # Three list pages and nothing else: reading the items triggered no completion requests.
    assert _paths(fake) == [f"/repos/{REPO.name}/commits"] * 3
    assert [r.query.get("page") for r in fake.requests] == [None, "2", "3"]
    assert all(r.query["per_page"] == "100" for r in fake.requests)
    assert fake.requests[0].query["since"] == "2026-02-08T00:00:00Z"
    assert fake.requests[0].query["until"] == "2026-02-09T00:00:00Z"
    assert "sha" not in fake.requests[0].query  # the default branch
    newest = commits[0]
    assert newest.title == "Change 249 (#250)"
    assert newest.author == "Author 249"
    assert newest.author_login == "user249"
    assert newest.committed_at == DAY + timedelta(minutes=249)
    assert newest.committed_at.tzinfo is not None
    assert newest.parents == (commits[1].sha,)
    assert newest.url == f"{fake.origin}/{REPO.name}/commit/{newest.sha}"
    assert commits[-1].author_login is None  # no GitHub account for that author
    assert [c.committed_at for c in commits] == sorted(
        (c.committed_at for c in commits), reverse=True
    )


async def test_window_is_half_open_and_converted_to_utc(
    fake: FakeGitHub, source: GitHubSource
) -> None:
    shanghai = ZoneInfo("Asia/Shanghai")
    start = datetime(2026, 2, 8, tzinfo=shanghai)  # 2026-02-07T16:00Z
    end = start + timedelta(days=1)
    window = Window(start=start, end=end, tz="Asia/Shanghai", label="2026-02-08")
    at = {
        "before": start - timedelta(seconds=1),
        "at-start": start,
        "last-second": end - timedelta(seconds=1),
        "at-end": end,  # GitHub's `until` includes it; the window does not
    }
    for title, when in at.items():
        fake.add_commit(REPO.name, title, committed_at=when.astimezone(UTC))

    commits = await source.list_commits(REPO, window)

    assert [c.title for c in commits] == ["last-second", "at-start"]
    assert fake.requests[0].query["since"] == "2026-02-07T16:00:00Z"
    assert fake.requests[0].query["until"] == "2026-02-08T16:00:00Z"
    assert commits[0].committed_at.utcoffset() == timedelta(0)


async def test_committed_at_is_the_committer_date_and_author_the_git_author(
    fake: FakeGitHub, source: GitHubSource
) -> None:
    fake.add_commit(
        REPO.name,
        "Rebased change",
        authored_at=DAY - timedelta(days=30),
        committed_at=DAY + timedelta(hours=3),
        author="Ada Lovelace",
        author_login="ada",
        committer="GitHub",
    )
    [commit] = await source.list_commits(REPO, WINDOW)
    assert commit.committed_at == DAY + timedelta(hours=3)
    assert (commit.author, commit.author_login) == ("Ada Lovelace", "ada")


async def test_branch_is_passed_as_sha(fake: FakeGitHub, source: GitHubSource) -> None:
    fake.add_commit(REPO.name, "on main", committed_at=DAY + timedelta(hours=1))
    fake.add_commit(REPO.name, "on dev", committed_at=DAY + timedelta(hours=2), branch="dev")
    target = RepoTarget(kind="github", name=REPO.name, branch="dev")

    commits = await source.list_commits(target, WINDOW)

    assert [c.title for c in commits] == ["on dev"]
    assert fake.requests[0].query["sha"] == "dev"


async def test_list_of_unknown_repo_or_branch_is_not_found(
    fake: FakeGitHub, source: GitHubSource
) -> None:
    with pytest.raises(NotFoundError) as excinfo:
        await source.list_commits(RepoTarget(kind="github", name="nobody/nothing"), WINDOW)
    assert "nobody/nothing" in excinfo.value.user_message
    with pytest.raises(NotFoundError) as excinfo:
        await source.list_commits(RepoTarget(kind="github", name=REPO.name, branch="nope"), WINDOW)
    assert "branch nope" in excinfo.value.user_message


async def test_empty_repository_lists_nothing(fake: FakeGitHub, source: GitHubSource) -> None:
    fake.fail_next("409")
    assert await source.list_commits(REPO, WINDOW) == []


async def test_a_failed_page_is_retried_alone(
    fake: FakeGitHub, source: GitHubSource, time_: FakeTime
) -> None:
    for i in range(250):
        fake.add_commit(REPO.name, f"c{i}", committed_at=DAY + timedelta(minutes=i))
    fake.fail_next("502", path_contains="/commits", after=1)

    commits = await source.list_commits(REPO, WINDOW)

    assert len({c.sha for c in commits}) == 250
    assert [r.query.get("page") for r in fake.requests] == [None, "2", "2", "3"]
    assert time_.sleeps == [1.0]


# -- one commit ---------------------------------------------------------------------------------


async def test_detail_follows_file_pages(fake: FakeGitHub, source: GitHubSource) -> None:
    files = [
        FakeFile("src/app.py", "modified", 10, 2, "@@ -1,2 +1,10 @@\n+x"),
        FakeFile("logo.png", "added", 0, 0, None),
        FakeFile("src/new_name.py", "renamed", 1, 1, "@@ -1 +1 @@", previous_filename="old.py"),
        *iter_files(697),
    ]
    commit = fake.add_commit(
        REPO.name,
        "Add things\n\nWith a body.\nSigned-off-by: A",
        committed_at=DAY + timedelta(hours=5),
        files=files,
    )

    got = await source.get_commit(REPO, commit.sha)

    assert len(got.files) == 700
    assert _paths(fake) == [f"/repos/{REPO.name}/commits/{commit.sha}"] * 3 + [
        f"/repos/{REPO.name}/commits/{commit.sha}/pulls"
    ]
    assert [r.query.get("page") for r in fake.requests[:3]] == ["1", "2", "3"]
    assert fake.requests[0].query["per_page"] == "300"
    app, logo, renamed = got.files[:3]
    assert (app.path, app.status, app.additions, app.deletions) == ("src/app.py", "modified", 10, 2)
    assert app.patch == "@@ -1,2 +1,10 @@\n+x"
    assert logo.patch is None
    assert (renamed.path, renamed.previous_path) == ("src/new_name.py", "old.py")
    assert got.files[-1].path == "src/f0696.py"
    assert got.additions == 10 + 1 + 697 and got.deletions == 3
    assert not got.files_truncated
    assert got.message == "Add things\n\nWith a body.\nSigned-off-by: A"
    assert got.title == "Add things"
    assert got.sha == commit.sha
    assert got.committed_at == DAY + timedelta(hours=5)
    assert got.url == f"{fake.origin}/{REPO.name}/commit/{commit.sha}"


async def test_commit_with_more_files_than_github_lists_is_truncated(
    fake: FakeGitHub, source: GitHubSource
) -> None:
    # 3,200 files with ~1.6 KB patches: GitHub lists 3,000 of them (~5 MB) in 10 pages.
    commit = fake.add_commit(
        REPO.name,
        "Vendor everything",
        committed_at=DAY,
        files=list(iter_files(3200, patch_bytes=1600)),
    )

    got = await source.get_commit(REPO, commit.sha)

    assert len(got.files) == 3000
    assert got.files_truncated
    assert got.additions == 3200  # stats count every file, listed or not
    assert sum(len(f.patch or "") for f in got.files) > 4_500_000
    assert fake.count(f"/repos/{REPO.name}/commits/{commit.sha}", exact=True) == 10


async def test_merged_pr_for_this_sha_is_chosen(fake: FakeGitHub, source: GitHubSource) -> None:
    sha = "a" * 40
    fake.add_commit(
        REPO.name,
        "Fix the thing (#12)",
        sha=sha,
        committed_at=DAY,
        pulls=[
            FakePull(7, "An open PR containing it", merged=False),
            FakePull(12, "Fix the thing", None, ("bug", "area/core"), merge_commit_sha=sha),
        ],
    )

    got = await source.get_commit(REPO, sha)

    assert got.pr is not None
    assert got.pr.number == 12
    assert got.pr.title == "Fix the thing"
    assert got.pr.body == ""  # None becomes ""
    assert got.pr.labels == ("bug", "area/core")
    assert got.pr.url == f"{fake.origin}/{REPO.name}/pull/12"


async def test_first_pr_when_none_merged_this_sha(fake: FakeGitHub, source: GitHubSource) -> None:
    commit = fake.add_commit(
        REPO.name,
        "Some change",
        committed_at=DAY,
        pulls=[FakePull(3, "First", "body"), FakePull(4, "Second")],
    )
    got = await source.get_commit(REPO, commit.sha)
    assert got.pr is not None
    assert (got.pr.number, got.pr.title, got.pr.body) == (3, "First", "body")


@pytest.mark.parametrize(
    ("message", "number"),
    [
        ("[Perf] Faster decode (#1234)\n\nbody", 1234),
        ("Merge pull request #77 from someone/branch\n\nTitle", 77),
        ("No reference at all", None),
        ("Mentions #12 in passing", None),
    ],
)
async def test_pr_from_title_when_github_knows_none(
    fake: FakeGitHub, source: GitHubSource, message: str, number: int | None
) -> None:
    commit = fake.add_commit(REPO.name, message, committed_at=DAY)
    got = await source.get_commit(REPO, commit.sha)
    assert got.pr_number == number
    if got.pr is not None:
        assert got.pr.url == f"{fake.origin}/{REPO.name}/pull/{number}"
        assert got.pr.title == ""


async def test_unknown_commit_is_not_found(fake: FakeGitHub, source: GitHubSource) -> None:
    with pytest.raises(NotFoundError) as excinfo:
        await source.get_commit(REPO, "b" * 40)
    assert excinfo.value.user_message == f"No commit bbbbbbbbbbbb in {REPO.name}."


# -- short SHAs ---------------------------------------------------------------------------------


async def test_resolve_short_sha(fake: FakeGitHub, source: GitHubSource) -> None:
    commit = fake.add_commit(REPO.name, "x", committed_at=DAY)

    assert await source.resolve_sha(REPO, commit.sha[:7].upper()) == commit.sha

    [request] = fake.requests
    assert request.path == f"/repos/{REPO.name}/commits/{commit.sha[:7]}"
    assert request.headers["accept"] == "application/vnd.github.sha"


async def test_resolve_ambiguous_and_unknown(fake: FakeGitHub, source: GitHubSource) -> None:
    fake.add_commit(REPO.name, "one", sha="abcdef1" + "1" * 33, committed_at=DAY)
    fake.add_commit(REPO.name, "two", sha="abcdef1" + "2" * 33, committed_at=DAY)

    with pytest.raises(AmbiguousShaError) as excinfo:
        await source.resolve_sha(REPO, "abcdef1")
    assert "abcdef1" in excinfo.value.user_message
    with pytest.raises(NotFoundError):
        await source.resolve_sha(REPO, "0123456")
    assert await source.resolve_sha(REPO, "abcdef12") == "abcdef1" + "2" * 33


async def test_bad_input_never_reaches_the_network(fake: FakeGitHub, source: GitHubSource) -> None:
    with pytest.raises(InvalidInputError):
        await source.resolve_sha(REPO, "zz-not-hex")
    with pytest.raises(InvalidInputError):
        await source.get_commit(REPO, "abc")  # too short
    with pytest.raises(InvalidInputError):
        await source.list_commits(RepoTarget(kind="github", name="../../etc"), WINDOW)
    with pytest.raises(InvalidInputError):
        await source.list_commits(RepoTarget(kind="local", name="checkout"), WINDOW)
    assert fake.requests == []


# -- rate limits and failures -------------------------------------------------------------------


async def test_short_rate_limit_is_waited_out(
    fake: FakeGitHub, source: GitHubSource, time_: FakeTime
) -> None:
    commit = fake.add_commit(REPO.name, "x", committed_at=DAY)
    fake.fail_next("rate_limit", reset_at=time_.epoch + 5)

    assert (await source.get_commit(REPO, commit.sha)).sha == commit.sha
    assert time_.sleeps == [6.0]  # until the reset, plus a second of margin
    assert fake.count(f"/repos/{REPO.name}/commits/{commit.sha}", exact=True) == 2


@pytest.mark.parametrize("kind", ["429", "secondary"])
async def test_retry_after_is_honoured(
    fake: FakeGitHub, source: GitHubSource, time_: FakeTime, kind: str
) -> None:
    fake.add_commit(REPO.name, "x", committed_at=DAY)
    fake.fail_next(kind, retry_after=7)
    assert len(await source.list_commits(REPO, WINDOW)) == 1
    assert time_.sleeps == [7.0]


async def test_long_rate_limit_raises_with_reset_time(
    fake: FakeGitHub, source: GitHubSource, time_: FakeTime
) -> None:
    reset = time_.epoch + 3600
    fake.fail_next("rate_limit", reset_at=reset)

    with pytest.raises(RateLimitedError) as excinfo:
        await source.list_commits(REPO, WINDOW)

    assert excinfo.value.reset_at == datetime.fromtimestamp(reset, UTC)
    assert "GitHub" in excinfo.value.user_message
    assert time_.sleeps == []  # no point waiting part of it
    assert len(fake.requests) == 1


async def test_rate_limit_waits_add_up_to_the_budget(
    fake: FakeGitHub, source: GitHubSource, time_: FakeTime
) -> None:
    fake.fail_next("429", count=2, retry_after=40)  # 40 s + 40 s > the 60 s budget
    with pytest.raises(RateLimitedError):
        await source.list_commits(REPO, WINDOW)
    assert time_.sleeps == [40.0]
    assert len(fake.requests) == 2


@pytest.mark.parametrize("kind", ["401", "403"])
async def test_auth_failures_are_access_denied(
    fake: FakeGitHub, source: GitHubSource, kind: str
) -> None:
    fake.fail_next(kind)
    with pytest.raises(AccessDeniedError) as excinfo:
        await source.list_commits(REPO, WINDOW)
    assert excinfo.value.user_message == (
        f"GitHub denied access to {REPO.name}: check GITHUB_TOKEN."
    )
    assert len(fake.requests) == 1


async def test_token_is_sent_and_optional(fake: FakeGitHub, source: GitHubSource) -> None:
    await source.list_commits(REPO, WINDOW)
    assert fake.requests[0].headers["authorization"].endswith("t0ken")
    anonymous = GitHubSource.create(fake.url, None)
    try:
        await anonymous.list_commits(REPO, WINDOW)
    finally:
        await anonymous.aclose()
    assert "authorization" not in fake.requests[1].headers


async def test_server_error_then_success(
    fake: FakeGitHub, source: GitHubSource, time_: FakeTime
) -> None:
    commit = fake.add_commit(REPO.name, "x", committed_at=DAY)
    fake.fail_next("500")
    assert (await source.get_commit(REPO, commit.sha)).sha == commit.sha
    assert time_.sleeps == [1.0]


async def test_persistent_server_errors_give_up(
    fake: FakeGitHub, source: GitHubSource, time_: FakeTime
) -> None:
    fake.fail_next("503", count=5)
    with pytest.raises(SourceUnavailableError) as excinfo:
        await source.list_commits(REPO, WINDOW)
    assert "HTTP 503" in excinfo.value.user_message
    assert len(fake.requests) == 3  # the first try and two retries
    assert time_.sleeps == [1.0, 2.0]


async def test_connection_refused_is_unavailable(time_: FakeTime) -> None:
    with socket.socket() as sock:  # bind, then close: nothing listens on this port
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    src = GitHubSource.create(f"http://127.0.0.1:{port}", "t", sleep=time_.sleep, clock=time_.clock)
    try:
        with pytest.raises(SourceUnavailableError) as excinfo:
            await src.list_commits(REPO, WINDOW)
    finally:
        await src.aclose()
    assert excinfo.value.user_message == "Could not reach GitHub; try again later."
    assert time_.sleeps == [1.0, 2.0]


# -- concurrency --------------------------------------------------------------------------------


async def test_parallel_fetches_are_bounded_and_not_mixed_up(fake: FakeGitHub) -> None:
    commits = [
        fake.add_commit(REPO.name, f"change {i}", committed_at=DAY + timedelta(minutes=i))
        for i in range(20)
    ]
    fake.latency = 0.05
    src = GitHubSource.create(fake.url, "t", concurrency=4)
    try:
        got = await asyncio.gather(*(src.get_commit(REPO, c.sha) for c in commits))
    finally:
        await src.aclose()

    assert [g.title for g in got] == [c.message for c in commits]
    assert fake.max_in_flight == 4
    assert len(fake.requests) == 40  # a detail and a pulls request each


async def test_a_cancelled_fetch_does_not_break_the_source(fake: FakeGitHub) -> None:
    commit = fake.add_commit(REPO.name, "x", committed_at=DAY)
    fake.latency = 0.2
    src = GitHubSource.create(fake.url, "t", concurrency=1)
    try:
        task = asyncio.ensure_future(src.get_commit(REPO, commit.sha))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        fake.latency = 0.0
        assert (await src.get_commit(REPO, commit.sha)).sha == commit.sha
    finally:
        await src.aclose()


# -- GitHub Enterprise and URLs -----------------------------------------------------------------


async def test_enterprise_base_url_with_api_prefix() -> None:
    with FakeGitHub(prefix="/api/v3") as ghe:
        commit = ghe.add_commit(
            REPO.name, "On GHE (#5)", committed_at=DAY, files=list(iter_files(301))
        )
        src = GitHubSource.create(ghe.url, "t")
        try:
            [listed] = await src.list_commits(REPO, WINDOW)
            full = await src.resolve_sha(REPO, commit.sha[:9])
            got = await src.get_commit(REPO, full)
        finally:
            await src.aclose()

        assert ghe.url.endswith("/api/v3")
        assert listed.sha == full == got.sha == commit.sha
        assert len(got.files) == 301  # the second file page came through the prefix too
        assert len(ghe.requests) == 1 + 1 + 2 + 1
        assert src.repo_url(REPO) == f"{ghe.origin}/{REPO.name}"
        assert got.pr is not None and got.pr.url == f"{ghe.origin}/{REPO.name}/pull/5"


@pytest.mark.parametrize(
    ("api_url", "web"),
    [
        ("https://api.github.com", "https://github.com"),
        ("https://api.github.com/", "https://github.com"),
        ("https://ghe.example.com/api/v3", "https://ghe.example.com"),
        ("https://ghe.example.com/api/v3/", "https://ghe.example.com"),
        ("https://api.acme.ghe.com", "https://acme.ghe.com"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
    ],
)
def test_web_base_url(api_url: str, web: str) -> None:
    assert web_base_url(api_url) == web


async def test_repo_url_needs_no_network() -> None:
    src = GitHubSource.create("https://api.github.com", None)
    try:
        assert src.repo_url(REPO) == "https://github.com/acme/widgets"
        assert src.repo_url(RepoTarget(kind="local", name="checkout")) == ""
    finally:
        await src.aclose()


@pytest.mark.parametrize("url", ["ftp://example.com", "not a url", "https://", "https://h?x=1"])
def test_bad_api_url_is_a_config_error(url: str) -> None:
    with pytest.raises(ConfigError):
        GitHubSource.create(url, None)


async def test_rate_limit_in_the_middle_of_file_pages_resumes(
    fake: FakeGitHub, source: GitHubSource, time_: FakeTime
) -> None:
    commit = fake.add_commit(REPO.name, "x", committed_at=DAY, files=list(iter_files(900)))
    fake.fail_next("rate_limit", reset_at=time_.epoch + 10, path_contains=commit.sha, after=1)

    got = await source.get_commit(REPO, commit.sha)

    assert [f.path for f in got.files] == [f"src/f{i:04d}.py" for i in range(900)]
    detail = f"/repos/{REPO.name}/commits/{commit.sha}"
    assert [r.query.get("page") for r in fake.requests if r.path == detail] == ["1", "2", "2", "3"]
    assert time_.sleeps == [11.0]


async def test_from_settings_and_closed_source(fake: FakeGitHub) -> None:
    from bot.config import Settings

    fake.add_commit(REPO.name, "x", committed_at=DAY)
    settings = Settings(github_api_url=fake.url, github_token="s3cret", github_concurrency=2)
    src = GitHubSource.from_settings(settings)
    assert len(await src.list_commits(REPO, WINDOW)) == 1
    assert fake.requests[0].headers["authorization"].endswith("s3cret")
    await src.aclose()
    with pytest.raises(SourceUnavailableError):
        await src.list_commits(REPO, WINDOW)


async def test_unreadable_answer_is_unavailable_without_retries(
    fake: FakeGitHub, source: GitHubSource, time_: FakeTime
) -> None:
    fake.fail_next("garbage")
    with pytest.raises(SourceUnavailableError) as excinfo:
        await source.list_commits(REPO, WINDOW)
    assert "could not read" in excinfo.value.user_message
    assert len(fake.requests) == 1
    assert time_.sleeps == []
