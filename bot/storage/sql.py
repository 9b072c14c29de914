"""SQLAlchemy implementation of the Store: SQLite by default, PostgreSQL via DATABASE_URL."""

from __future__ import annotations

import importlib
import logging
import os
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import and_, bindparam, create_engine, event, or_, select, tuple_, update
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, SQLAlchemyError

from bot.analysis.base import AnalysisKey
from bot.errors import ConfigError, StorageError
from bot.models import Commit, CommitAnalysis, CommitHead, Digest
from bot.storage import schema
from bot.storage.failures import storage_failure

log = logging.getLogger(__name__)

# SQLite caps bound parameters at 32766 (and older builds at 999); stay well under.
_BATCH = 400


def _pack(text: str) -> bytes:
    return zlib.compress(text.encode("utf-8"), 6)


def _unpack(blob: bytes) -> str:
    return zlib.decompress(blob).decode("utf-8")


def _chunks(items: Sequence[Any], size: int = _BATCH) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


class SqlStore:
    """The Store over one SQLAlchemy engine. Build it with `SqlStore.open(url)`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str) -> SqlStore:
        """Create the engine (and the SQLite file's directory) and migrate the schema.

        A URL of another database, or without its driver installed, is a ConfigError; a
        SQLite directory that cannot be created or written is a StorageError naming it."""
        target = database_url(url)
        sqlite = target.get_backend_name() == "sqlite"
        directory = _sqlite_directory(target) if sqlite else None
        try:
            if directory is not None:
                _writable_directory(directory)
            if sqlite:
                engine = create_engine(target, connect_args={"timeout": 30})
                event.listen(engine, "connect", _sqlite_pragmas)
            else:
                engine = create_engine(target, pool_pre_ping=True, pool_size=5, max_overflow=5)
            with engine.begin() as conn:
                before = schema.migrate(conn)
            if before != schema.SCHEMA_VERSION:
                log.info("database schema migrated from v%s to v%s", before, schema.SCHEMA_VERSION)
        except ImportError as exc:  # a driver named in the URL (`+psycopg2`, `+pg8000`) is absent
            raise _missing_driver(target, exc.name) from exc
        except SQLAlchemyError as exc:
            if directory is not None and _cannot_write(exc):
                raise _unwritable(directory, "SQLite cannot write there") from exc
            raise storage_failure(exc, "The database is not reachable.") from exc
        return cls(engine)

    # -- commits ---------------------------------------------------------------------------

    def get_commits(self, repo: str, shas: Sequence[str]) -> dict[str, Commit]:
        return {
            sha: Commit.model_validate_json(_unpack(payload))
            for sha, payload in self._payloads(schema.commits, repo, shas)
        }

    def stored_shas(self, repo: str, shas: Sequence[str]) -> set[str]:
        # Only the key column: the primary key's index answers it, no commit payload is read.
        return {sha for sha, _ in self._payloads(schema.commits, repo, shas, payload=False)}

    def get_heads(self, repo: str, shas: Sequence[str]) -> dict[str, CommitHead]:
        return {
            sha: CommitHead.model_validate_json(payload)
            for sha, payload in self._payloads(schema.commit_heads, repo, shas)
        }

    def _payloads(
        self, table: Any, repo: str, shas: Sequence[str], *, payload: bool = True
    ) -> list[tuple[str, Any]]:
        """(sha, payload) of the rows of `table` for `repo` among `shas`, in batches."""
        columns = (table.c.sha, table.c.payload) if payload else (table.c.sha,)
        found: list[tuple[str, Any]] = []
        with self._connect() as conn:
            for chunk in _chunks(list(shas)):
                rows = conn.execute(
                    select(*columns).where(and_(table.c.repo == repo, table.c.sha.in_(chunk)))
                )
                found.extend((row[0], row[1] if payload else None) for row in rows)
        return found

    def put_commits(self, repo: str, commits: Iterable[Commit]) -> None:
        commits = list(commits)
        rows = [
            {
                "repo": repo,
                "sha": c.sha,
                "committed_at": c.committed_at,
                "payload": _pack(c.model_dump_json()),
            }
            for c in commits
        ]
        self._insert_new(schema.commits, rows, ("repo", "sha"))
        self._insert_new(schema.commit_heads, _head_rows(repo, commits), ("repo", "sha"))

    def refresh_commits(self, repo: str, commits: Iterable[Commit]) -> None:
        commits = list(commits)
        table, heads = schema.commits, schema.commit_heads
        rows = [
            {"k_repo": repo, "k_sha": c.sha, "payload": _pack(c.model_dump_json())} for c in commits
        ]
        if not rows:
            return
        statement = (
            update(table)
            .where(and_(table.c.repo == bindparam("k_repo"), table.c.sha == bindparam("k_sha")))
            .values(payload=bindparam("payload"))
        )
        try:
            with self.engine.begin() as conn:
                updated = {
                    sha
                    for (sha,) in conn.execute(
                        select(table.c.sha).where(
                            and_(table.c.repo == repo, table.c.sha.in_([c.sha for c in commits]))
                        )
                    )
                }
                conn.execute(statement, rows)
                conn.execute(
                    heads.delete().where(
                        and_(heads.c.repo == repo, heads.c.sha.in_(sorted(updated)))
                    )
                )
                fresh = _head_rows(repo, [c for c in commits if c.sha in updated])
                if fresh:
                    conn.execute(heads.insert(), fresh)
        except SQLAlchemyError as exc:
            raise storage_failure(exc, "Could not write to the database.") from exc

    def find_shas(self, repo: str, prefix: str) -> list[str]:
        table = schema.commits
        with self._connect() as conn:
            rows = conn.execute(
                select(table.c.sha)
                .where(and_(table.c.repo == repo, table.c.sha.like(prefix.lower() + "%")))
                .limit(10)
            )
            return [r[0] for r in rows]

    # -- analyses --------------------------------------------------------------------------

    def get_analyses(self, keys: Sequence[AnalysisKey]) -> dict[AnalysisKey, CommitAnalysis]:
        table = schema.analyses
        found: dict[AnalysisKey, CommitAnalysis] = {}
        wanted = {(k.repo, k.sha, k.analyzer, k.prompt_version, k.language): k for k in keys}
        cols = (
            table.c.repo,
            table.c.sha,
            table.c.analyzer,
            table.c.prompt_version,
            table.c.language,
        )
        with self._connect() as conn:
            for chunk in _chunks(list(wanted), _BATCH // 5):
                rows = conn.execute(select(*cols, table.c.payload).where(tuple_(*cols).in_(chunk)))
                for *ident, payload in rows:
                    key = wanted.get(tuple(ident))
                    if key is not None:
                        found[key] = CommitAnalysis.model_validate_json(payload)
        return found

    def put_analyses(self, items: Iterable[tuple[AnalysisKey, CommitAnalysis]]) -> None:
        now = datetime.now(UTC)
        rows = [
            {
                "repo": k.repo,
                "sha": k.sha,
                "analyzer": k.analyzer,
                "prompt_version": k.prompt_version,
                "language": k.language,
                "importance": a.importance.value,
                "prompt_tokens": a.provenance.prompt_tokens,
                "completion_tokens": a.provenance.completion_tokens,
                "created_at": now,
                "payload": a.model_dump_json(),
            }
            for k, a in items
        ]
        self._insert_new(
            schema.analyses, rows, ("repo", "sha", "analyzer", "prompt_version", "language")
        )

    # -- overviews -------------------------------------------------------------------------

    def get_overview(self, repo: str, key: str) -> str | None:
        table = schema.overviews
        with self._connect() as conn:
            text = conn.execute(
                select(table.c.text).where(and_(table.c.repo == repo, table.c.key == key))
            ).scalar()
        return str(text) if text is not None else None

    def put_overview(self, repo: str, key: str, text: str) -> None:
        row = {"repo": repo, "key": key, "created_at": datetime.now(UTC), "text": text}
        self._insert_new(schema.overviews, [row], ("repo", "key"))

    # -- digests ---------------------------------------------------------------------------

    def save_digest(self, digest: Digest, repo_key: str) -> int:
        table = schema.digests
        try:
            with self.engine.begin() as conn:
                result = conn.execute(
                    table.insert().values(
                        repo=repo_key,
                        window_start=digest.window.start,
                        window_end=digest.window.end,
                        tz=digest.window.tz,
                        language=digest.language,
                        created_at=datetime.now(UTC),
                        payload=_pack(digest.model_dump_json()),
                    )
                )
                key = result.inserted_primary_key
                return int(key[0]) if key else 0
        except SQLAlchemyError as exc:
            raise storage_failure(exc, "Could not save the digest.") from exc

    def get_digest(self, digest_id: int) -> Digest | None:
        table = schema.digests
        with self._connect() as conn:
            payload = conn.execute(select(table.c.payload).where(table.c.id == digest_id)).scalar()
        return Digest.model_validate_json(_unpack(payload)) if payload is not None else None

    def recent_digests(self, repo_key: str, limit: int) -> list[tuple[int, Digest]]:
        table = schema.digests
        with self._connect() as conn:
            rows = conn.execute(
                select(table.c.id, table.c.payload)
                .where(table.c.repo == repo_key)
                .order_by(table.c.id.desc())
                .limit(limit)
            ).all()
        return [(int(i), Digest.model_validate_json(_unpack(payload))) for i, payload in rows]

    def close(self) -> None:
        self.engine.dispose()

    # -- helpers ---------------------------------------------------------------------------

    @contextmanager
    def _connect(self) -> Iterator[Connection]:
        """A connection for reads; any database error in the block becomes a StorageError."""
        try:
            with self.engine.connect() as conn:
                yield conn
        except SQLAlchemyError as exc:
            raise storage_failure(exc, "The database is not reachable.") from exc

    def _insert_new(self, table: Any, rows: list[dict[str, Any]], key: tuple[str, ...]) -> None:
        """Insert rows whose key is not present yet; concurrent writers of the same row are fine
        because the content is identical (commits and analyses are immutable)."""
        if not rows:
            return
        try:
            with self.engine.begin() as conn:
                for chunk in _chunks(rows, _BATCH // len(key)):
                    cond = or_(*(and_(*(table.c[k] == r[k] for k in key)) for r in chunk))
                    existing = {
                        tuple(row)
                        for row in conn.execute(select(*(table.c[k] for k in key)).where(cond))
                    }
                    fresh = [r for r in chunk if tuple(r[k] for k in key) not in existing]
                    if fresh:
                        conn.execute(table.insert(), fresh)
        except IntegrityError:
            # Another writer inserted some of the same immutable rows between our select and
            # insert: fall back to one row per transaction and skip the ones now present.
            log.debug("concurrent insert into %s; retrying row by row", table.name)
            self._insert_each(table, rows)
        except SQLAlchemyError as exc:
            raise storage_failure(exc, "Could not write to the database.") from exc

    def _insert_each(self, table: Any, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            try:
                with self.engine.begin() as conn:
                    conn.execute(table.insert(), [row])
            except IntegrityError:
                continue
            except SQLAlchemyError as exc:
                raise storage_failure(exc, "Could not write to the database.") from exc


# -- the URL ---------------------------------------------------------------------------------

SUPPORTED = (
    "only sqlite and postgresql are supported "
    "(sqlite:////absolute/path.db, postgresql+psycopg://user:password@host:5432/db)"
)
POSTGRES_DRIVER = 'pip install ".[postgres]" (psycopg); the Docker image has it'
_SQLITE_MEMORY = {"", ":memory:"}


def _head_rows(repo: str, commits: Sequence[Commit]) -> list[dict[str, Any]]:
    return [{"repo": repo, "sha": c.sha, "payload": c.head().model_dump_json()} for c in commits]


def database_url(url: str) -> URL:
    """DATABASE_URL checked before any connection: SQLite or PostgreSQL, with a driver that is
    installed. `postgresql://` (and Heroku's `postgres://`) means psycopg 3, the driver
    digestbot ships with, unless psycopg2 is installed: SQLAlchemy's own default is psycopg2.
    Messages name the backend, never the URL (it may carry a password)."""
    try:
        target = make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise ConfigError(f"DATABASE_URL is not a database URL; {SUPPORTED}.") from exc
    backend = target.get_backend_name()
    if backend == "postgres":
        target = target.set(drivername="postgresql")
        backend = "postgresql"
    if backend not in {"sqlite", "postgresql"}:
        raise ConfigError(f"DATABASE_URL is a {backend[:40]} URL, but {SUPPORTED}.")
    if backend == "postgresql":
        driver = target.get_driver_name() if "+" in target.drivername else None
        if driver is None:
            if _importable("psycopg2"):
                return target
            driver = "psycopg"
            target = target.set(drivername="postgresql+psycopg")
        if driver == "psycopg" and not _importable("psycopg"):
            raise _missing_driver(target, "psycopg")
    return target


def _importable(module: str) -> bool:
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def _missing_driver(target: URL, module: str | None) -> ConfigError:
    backend = target.get_backend_name()
    if backend == "postgresql":
        return ConfigError(
            f"DATABASE_URL is a PostgreSQL URL but its driver ({module or 'psycopg'}) is not "
            f"installed: {POSTGRES_DRIVER}."
        )
    return ConfigError(f"The {backend} driver ({module or 'unknown'}) is not installed.")


def _sqlite_directory(target: URL) -> Path | None:
    """The directory of the SQLite file, or None for an in-memory or URI-style database."""
    database = target.database or ""
    if database in _SQLITE_MEMORY or database.startswith("file:"):
        return None
    return Path(database).expanduser().absolute().parent


def _writable_directory(directory: Path) -> None:
    """Create `directory` if needed; SQLite also writes its -wal and -shm files next to the
    database, so the directory itself must be writable, not just the file."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _unwritable(directory, exc.strerror or type(exc).__name__) from exc
    if not os.access(directory, os.W_OK | os.X_OK):
        raise _unwritable(directory, "permission denied")


UNWRITABLE = "Cannot write the database directory"


def _unwritable(directory: Path, why: str) -> StorageError:
    return StorageError(
        f"{UNWRITABLE} {directory} ({why}); make it writable, or set DIGESTBOT_DATA_DIR to a "
        "writable directory."
    )


def _cannot_write(exc: SQLAlchemyError) -> bool:
    text = str(getattr(exc, "orig", exc)).lower()
    return "unable to open database file" in text or "readonly database" in text


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    # WAL lets the CLI read while `serve` writes; busy_timeout rides over short write locks.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
