"""SQLAlchemy implementation of the Store: SQLite by default, PostgreSQL via DATABASE_URL."""

from __future__ import annotations

import logging
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import and_, bindparam, create_engine, event, or_, select, tuple_, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bot.analysis.base import AnalysisKey
from bot.models import Commit, CommitAnalysis, Digest
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
        """Create the engine (and the SQLite file's directory) and migrate the schema."""
        try:
            if url.startswith("sqlite"):
                path = url.split(":///", 1)[1] if ":///" in url else ""
                if path and path != ":memory:":
                    Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
                engine = create_engine(url, connect_args={"timeout": 30})
                event.listen(engine, "connect", _sqlite_pragmas)
            else:
                engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
            with engine.begin() as conn:
                before = schema.migrate(conn)
            if before != schema.SCHEMA_VERSION:
                log.info("database schema migrated from v%s to v%s", before, schema.SCHEMA_VERSION)
        except SQLAlchemyError as exc:
            raise storage_failure(exc, "The database is not reachable.") from exc
        return cls(engine)

    # -- commits ---------------------------------------------------------------------------

    def get_commits(self, repo: str, shas: Sequence[str]) -> dict[str, Commit]:
        found: dict[str, Commit] = {}
        table = schema.commits
        with self._connect() as conn:
            for chunk in _chunks(list(shas)):
                rows = conn.execute(
                    select(table.c.sha, table.c.payload).where(
                        and_(table.c.repo == repo, table.c.sha.in_(chunk))
                    )
                )
                for sha, payload in rows:
                    found[sha] = Commit.model_validate_json(_unpack(payload))
        return found

    def put_commits(self, repo: str, commits: Iterable[Commit]) -> None:
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

    def refresh_commits(self, repo: str, commits: Iterable[Commit]) -> None:
        table = schema.commits
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
                conn.execute(statement, rows)
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


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    # WAL lets the CLI read while `serve` writes; busy_timeout rides over short write locks.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
