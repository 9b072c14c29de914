"""Several real OS processes on one PostgreSQL: each due digest is posted exactly once, also
when processes die at the three crash points and others take over after the lease."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from tests.fakes.delivery_worker import run_processes, seed_scenario
from tests.fakes.postgres import postgres_url
from tests.fakes.scheduled_chat import make_daily_repo

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("repo") / "widget"
    today = datetime.now(UTC).date()
    make_daily_repo(path, date.fromordinal(today.toordinal() - 5), 7)
    return path


@pytest.mark.parametrize(
    ("processes", "subscriptions", "crash_probability"),
    [(2, 16, 0.0), (4, 24, 0.0), (4, 24, 0.06)],
    ids=["2-processes", "4-processes", "4-processes-crashing"],
)
def test_each_digest_is_posted_exactly_once(
    request: pytest.FixtureRequest,
    repo: Path,
    processes: int,
    subscriptions: int,
    crash_probability: float,
) -> None:
    url = postgres_url(request)
    scenario = seed_scenario(url, subscriptions, datetime.now(UTC))
    figures = run_processes(
        url, repo, scenario, processes, crash_probability=crash_probability, seed=processes
    )
    print(f"{request.node.callspec.id}: {figures}")
    assert figures.duplicates == 0 and figures.losses == 0
    assert figures.posts_seen == figures.posts_expected == subscriptions + 4
    assert figures.notices_seen == figures.notices_expected == subscriptions
    if crash_probability:
        assert figures.crashes > 0 and figures.spawned > processes  # replacements took over
    else:
        assert figures.spawned == processes and figures.crashes == 0
        assert len(figures.posters) >= 2  # the processes really competed
