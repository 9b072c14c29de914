"""The SQL store on SQLite (always) and PostgreSQL (when a server is reachable)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from bot.analysis.base import AnalysisKey
from bot.analysis.facts import with_facts
from bot.errors import StorageError
from bot.models import (
    AnalysisProvenance,
    ChangeType,
    Commit,
    CommitAnalysis,
    FileChange,
    Importance,
)
from bot.storage import schema
from bot.storage.sql import SqlStore
from tests.fakes.postgres import postgres_url


def _commit(sha: str, patch_size: int = 10) -> Commit:
    return Commit(
        repo="o/r",
        sha=sha,
        title="t",
        message="t\n\nbody",
        author="a",
        committed_at=datetime(2026, 2, 8, tzinfo=UTC),
        files=(FileChange(path="x.py", additions=1, patch="+" + "x" * patch_size),),
    )


def _analysis(sha: str) -> CommitAnalysis:
    return CommitAnalysis(
        sha=sha,
        change_type=ChangeType.FIX,
        importance=Importance.MEDIUM,
        summary="s",
        provenance=AnalysisProvenance(
            analyzer="llm", model="m", prompt_tokens=5, completion_tokens=3
        ),
    )


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'sub' / 'db.sqlite'}"
    else:
        url = postgres_url(request)
    s = SqlStore.open(url)
    yield s
    s.close()


def test_commits_round_trip_and_are_written_once(store: SqlStore) -> None:
    shas = [f"{i:04x}" + "a" * 36 for i in range(1, 1001)]  # more than one SQL batch
    store.put_commits("o/r", [_commit(s) for s in shas])
    store.put_commits("o/r", [_commit(shas[0], patch_size=99)])  # immutable: ignored
    got = store.get_commits("o/r", [*shas, "f" * 40])
    assert len(got) == 1000
    assert got[shas[0]].files[0].patch == "+" + "x" * 10
    assert store.get_commits("other/repo", shas[:3]) == {}
    assert store.find_shas("o/r", shas[5][:7]) == [shas[5]]
    assert len(store.find_shas("o/r", "0")) == 10  # bounded
    assert store.stored_shas("o/r", [*shas, "f" * 40]) == set(shas)
    heads = store.get_heads("o/r", [*shas, "f" * 40])
    assert len(heads) == 1000 and heads[shas[0]] == _commit(shas[0]).head()
    assert heads[shas[0]].paths == tuple(f.path for f in _commit(shas[0]).files)


def test_a_head_is_added_for_a_commit_stored_without_one(store: SqlStore) -> None:
    """Commits written before heads existed get one when they are put again."""
    sha = "c" * 40
    store.put_commits("o/r", [_commit(sha)])
    with store.engine.begin() as conn:
        conn.execute(schema.commit_heads.delete())
    assert store.get_heads("o/r", [sha]) == {}
    store.put_commits("o/r", [_commit(sha)])
    assert store.get_heads("o/r", [sha]) == {sha: _commit(sha).head()}


def test_refreshed_commits_replace_their_stored_form(store: SqlStore) -> None:
    shas = ["d" * 40, "e" * 40]
    store.put_commits("o/r", [_commit(sha) for sha in shas])
    refreshed = with_facts(_commit(shas[0]))
    store.refresh_commits("o/r", [refreshed])
    got = store.get_commits("o/r", shas)
    assert got[shas[0]].facts == refreshed.facts and got[shas[0]].facts is not None
    assert got[shas[1]].facts is None  # only the refreshed row changed
    heads = store.get_heads("o/r", shas)
    assert heads[shas[0]].facts == refreshed.facts and heads[shas[1]].facts is None
    store.refresh_commits("other/repo", [refreshed])  # a row that is not there: nothing
    assert store.get_commits("other/repo", shas) == {}


def test_analyses_keyed_by_model_prompt_and_language(store: SqlStore) -> None:
    key_zh = AnalysisKey("o/r", "a" * 40, "m", "v1", "zh")
    key_en = AnalysisKey("o/r", "a" * 40, "m", "v1", "en")
    key_v2 = AnalysisKey("o/r", "a" * 40, "m", "v2", "zh")
    store.put_analyses([(key_zh, _analysis("a" * 40))])
    got = store.get_analyses([key_zh, key_en, key_v2])
    assert set(got) == {key_zh}
    assert got[key_zh].provenance.prompt_tokens == 5


def test_digest_round_trip(store: SqlStore) -> None:
    from tests.data.reference_day import reference_digest

    digest = reference_digest("zh")
    digest_id = store.save_digest(digest, "sgl-project/sglang")
    assert digest_id > 0
    assert store.get_digest(digest_id) == digest
    assert store.get_digest(digest_id + 1000) is None


def test_large_patch_is_compressed(tmp_path: Path) -> None:
    store = SqlStore.open(f"sqlite:///{tmp_path / 'db.sqlite'}")
    store.put_commits("o/r", [_commit("b" * 40, patch_size=5_000_000)])
    with store.engine.connect() as conn:
        size = conn.execute(text("select length(payload) from commits")).scalar()
    assert size is not None and size < 100_000
    assert len(store.get_commits("o/r", ["b" * 40])["b" * 40].files[0].patch or "") == 5_000_001


def test_schema_is_versioned_and_reopening_keeps_data(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    first = SqlStore.open(url)
    first.put_commits("o/r", [_commit("c" * 40)])
    first.close()
    second = SqlStore.open(url)
    assert "c" * 40 in second.get_commits("o/r", ["c" * 40])
    with second.engine.connect() as conn:
        version = conn.execute(text("select version from schema_meta")).scalar()
    assert version == schema.SCHEMA_VERSION
    assert {"commits", "analyses", "digests", "schema_meta"} <= set(
        inspect(second.engine).get_table_names()
    )


def test_a_version_5_database_gains_commit_heads(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    first = SqlStore.open(url)
    first.put_commits("o/r", [_commit("c" * 40)])
    with first.engine.begin() as conn:
        conn.execute(text("drop table commit_heads"))
        conn.execute(text("update schema_meta set version = 5"))
    first.close()
    second = SqlStore.open(url)
    assert "commit_heads" in inspect(second.engine).get_table_names()
    assert second.get_heads("o/r", ["c" * 40]) == {}  # written when the commit is next loaded
    assert second.stored_shas("o/r", ["c" * 40]) == {"c" * 40}


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    SqlStore.open(url).close()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("update schema_meta set version = 999"))
    with pytest.raises(StorageError) as err:
        SqlStore.open(url)
    assert "newer digestbot" in err.value.user_message


def test_unreachable_database_is_a_storage_error() -> None:
    with pytest.raises(StorageError):
        SqlStore.open("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1")


def test_concurrent_writers_of_the_same_rows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    stores = [SqlStore.open(url) for _ in range(4)]
    shas = [f"{i:040x}" for i in range(50)]
    errors: list[BaseException] = []

    def write(s: SqlStore) -> None:
        try:
            s.put_commits("o/r", [_commit(x) for x in shas])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(stores[0].get_commits("o/r", shas)) == 50
