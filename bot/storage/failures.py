"""Database errors as the user should read them: a full disk says so, the rest is unreachable."""

from __future__ import annotations

import errno

from sqlalchemy.exc import SQLAlchemyError

from bot.errors import StorageError

DISK_FULL = "The database disk is full; free some space and try again."
# SQLite: SQLITE_FULL reads "database or disk is full"; the OS: ENOSPC; PostgreSQL: SQLSTATE
# 53100 disk_full ("could not extend file ... No space left on device").
_DISK_FULL_WORDS = ("database or disk is full", "no space left on device", "could not extend file")
_PG_DISK_FULL = "53100"
_SQLITE_FULL = 13  # https://www.sqlite.org/rescode.html#full


def is_disk_full(exc: BaseException) -> bool:
    """Does `exc` (a SQLAlchemy error, its driver error, or an OSError) mean the disk is full?"""
    original = getattr(exc, "orig", None)
    for error in (exc, original, exc.__cause__):
        if error is None:
            continue
        # psycopg 3 names it `sqlstate`, psycopg2 `pgcode`; Python's sqlite3 `sqlite_errorcode`.
        if _PG_DISK_FULL in (getattr(error, "sqlstate", None), getattr(error, "pgcode", None)):
            return True
        if (getattr(error, "sqlite_errorcode", None) or 0) & 0xFF == _SQLITE_FULL:
            return True
        if isinstance(error, OSError) and error.errno == errno.ENOSPC:
            return True
    text = f"{exc} {original}".lower()
    return any(word in text for word in _DISK_FULL_WORDS)


def storage_failure(exc: SQLAlchemyError, message: str) -> StorageError:
    """The StorageError to raise for `exc`: "disk full" when it is, else `message`."""
    if is_disk_full(exc):
        return StorageError(DISK_FULL, detail=str(exc))
    return StorageError(message, detail=str(exc))
