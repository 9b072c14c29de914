"""Several real OS processes on one PostgreSQL: each part of each due digest is posted exactly
once, also when processes die at any step, parts are refused, and the replicas' clocks are
skewed and stepping by far more than the lease."""

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


PARTS = 3
CASES = {
    # id: (processes, subscriptions, crash probability, refusal, clock skew s, step probability)
    "2-processes": (2, 16, 0.0, 0.0, 0.0, 0.0),
    "4-processes": (4, 24, 0.0, 0.0, 0.0, 0.0),
    "4-processes-crashing": (4, 24, 0.06, 0.0, 0.0, 0.0),
    # replicas' clocks 2 minutes apart (the lease is 3 s), clocks stepping by 15–30 minutes
    # during posts, parts refused now and then, processes dying: the database clock rules.
    "skewed-stepping-refusing-crashing": (3, 16, 0.04, 0.1, 120.0, 0.1),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_each_part_is_posted_exactly_once(
    request: pytest.FixtureRequest, repo: Path, case: str
) -> None:
    processes, subscriptions, crash_probability, refusal, skew, steps = CASES[case]
    url = postgres_url(request)
    scenario = seed_scenario(url, subscriptions, datetime.now(UTC), parts=PARTS)
    figures = run_processes(
        url,
        repo,
        scenario,
        processes,
        crash_probability=crash_probability,
        seed=processes,
        parts=PARTS,
        refusal=refusal,
        skew_seconds=skew,
        step_probability=steps,
    )
    print(f"{case}: {figures}")
    assert figures.duplicates == 0 and figures.losses == 0
    assert figures.posts_expected == (subscriptions + 4) * PARTS
    assert figures.posts_seen + figures.partial * PARTS >= figures.posts_expected
    assert figures.notices_expected == subscriptions
    assert figures.notices_seen == figures.notices_expected + figures.partial
    if crash_probability:
        assert figures.crashes > 0 and figures.spawned > processes  # replacements took over
    else:
        assert figures.spawned == processes and figures.crashes == 0
        assert len(figures.posters) >= 2  # the processes really competed
