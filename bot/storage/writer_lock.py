"""The SQLite single-writer lock: one `serve` per database file, held for its whole run."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import Engine

from bot.errors import ConfigError


@contextmanager
def single_writer(engine: Engine) -> Iterator[Path | None]:
    """Hold an exclusive OS lock next to a SQLite database file for the block's duration.

    SQLite gives the scheduler no database clock and no way to fence a second server's
    replicas, so digestbot runs one server per SQLite file (PostgreSQL is the way to run
    replicas). The lock is `flock` on `<database>.serve.lock`: the kernel releases it when the
    process dies, even by SIGKILL, so a crash never leaves a stale lock. Yields the lock
    file's path (None for PostgreSQL and in-memory databases, which need no lock)."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        yield None
        return
    path = Path(database).expanduser().resolve().with_name(Path(database).name + ".serve.lock")
    handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise ConfigError(
                f"Another `digestbot serve` is already using {database}. Run one server per "
                "SQLite file, or set DATABASE_URL to PostgreSQL to run replicas.",
                detail=str(exc),
            ) from exc
        os.ftruncate(handle, 0)
        os.write(handle, f"{os.getpid()}\n".encode())
        yield path
    finally:
        os.close(handle)  # closing the descriptor releases the lock
