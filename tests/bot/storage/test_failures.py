"""A full database disk is reported as such, from a real SQLite file that fills up."""

from __future__ import annotations

import errno
import random
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from bot.errors import StorageError
from bot.models import Commit
from bot.storage.conversations import PostedMessage, SqlConversationStore
from bot.storage.failures import DISK_FULL, is_disk_full, storage_failure
from bot.storage.sql import SqlStore

UNREACHABLE = "The database is not reachable."


def fill_up(store: SqlStore) -> None:
    """Cap the file at its current size: every later write that needs a page fails with
    SQLITE_FULL, exactly as on a full disk (max_page_count is per connection, so the pool
    is emptied and every new connection gets the cap)."""
    with store.engine.connect() as conn:
        pages = int(conn.exec_driver_sql("PRAGMA page_count").scalar() or 0)

    def cap(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.execute(f"PRAGMA max_page_count = {pages}")

    event.listen(store.engine, "connect", cap)
    store.engine.dispose()


def big_commit(n: int) -> Commit:
    return Commit(
        repo="acme/widget",
        sha=f"{n:040x}",
        title=f"commit {n}",
        # Random hex: the store compresses payloads, and this still needs many new pages.
        message=random.Random(n).randbytes(40_000).hex(),
        author="a",
        committed_at=datetime(2026, 2, 8, tzinfo=UTC),
    )


def test_a_full_sqlite_file_says_disk_full(tmp_path: Path) -> None:
    store = SqlStore.open(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        store.put_commits("acme/widget", [big_commit(1)])  # room before the cap
        fill_up(store)
        with pytest.raises(StorageError) as raised:
            store.put_commits("acme/widget", [big_commit(2)])
        assert raised.value.user_message == DISK_FULL
        assert "database or disk is full" in str(raised.value)  # the log keeps the detail
        assert list(store.get_commits("acme/widget", [big_commit(1).sha])) == [big_commit(1).sha]
    finally:
        store.close()


def test_the_conversation_store_says_disk_full_too(tmp_path: Path) -> None:
    store = SqlStore.open(f"sqlite:///{tmp_path / 'db.sqlite'}")
    try:
        fill_up(store)
        conversations = SqlConversationStore(store.engine)
        many = [
            PostedMessage("test", "C1", f"m{i}", None, "digest", None, "acme/w", ("a" * 40,), "en")
            for i in range(400)
        ]
        with pytest.raises(StorageError) as raised:
            conversations.record_messages(many, datetime(2026, 2, 8, tzinfo=UTC))
        assert raised.value.user_message == DISK_FULL
    finally:
        store.close()


class _PgDiskFull(Exception):
    sqlstate = "53100"


def _wrapped(orig: BaseException, statement: str = "INSERT") -> OperationalError:
    return OperationalError(statement, {}, orig)


@pytest.mark.parametrize(
    "orig",
    [
        _PgDiskFull('could not extend file "base/16384/2619": No space left on device'),
        _PgDiskFull("disk full"),  # the SQLSTATE alone is enough
        OSError(errno.ENOSPC, "No space left on device"),
        Exception('could not extend file "base/1/2": wrote only 4096 of 8192 bytes'),
    ],
)
def test_postgres_and_os_disk_full_are_recognised(orig: BaseException) -> None:
    failure = storage_failure(_wrapped(orig), UNREACHABLE)
    assert failure.user_message == DISK_FULL
    assert failure.exit_code == 74


def test_other_database_errors_keep_the_given_message() -> None:
    exc = _wrapped(Exception('connection to server at "127.0.0.1", port 5432 failed'))
    failure = storage_failure(exc, UNREACHABLE)
    assert failure.user_message == UNREACHABLE
    assert "5432" in str(failure) and "5432" not in failure.user_message


@given(
    st.text(max_size=80),
    st.sampled_from(
        ["database or disk is full", "No space left on device", "COULD NOT EXTEND FILE"]
    ),
    st.text(max_size=80),
)
def test_a_disk_full_phrase_anywhere_in_the_driver_message_is_disk_full(
    before: str, phrase: str, after: str
) -> None:
    assert is_disk_full(_wrapped(Exception(before + phrase + after)))


@given(st.text(alphabet=st.characters(blacklist_characters="dDfFnN"), max_size=120))
def test_text_without_the_phrases_is_not_disk_full(message: str) -> None:
    # Without d/f/n no disk-full phrase can appear: whatever the driver said, it is "unreachable".
    assert storage_failure(_wrapped(Exception(message)), UNREACHABLE).user_message == UNREACHABLE
