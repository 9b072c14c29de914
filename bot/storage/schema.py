"""Table definitions and numbered migrations: append new migrations, never edit old ones."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.engine import Connection

metadata = MetaData()

schema_meta = Table(
    "schema_meta",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("version", Integer, nullable=False),
)

commits = Table(
    "commits",
    metadata,
    Column("repo", String(300), primary_key=True),
    Column("sha", String(40), primary_key=True),
    Column("committed_at", DateTime(timezone=True), nullable=False),
    Column("payload", LargeBinary, nullable=False),  # zlib-compressed Commit JSON
)

commit_heads = Table(
    "commit_heads",
    metadata,
    Column("repo", String(300), primary_key=True),
    Column("sha", String(40), primary_key=True),
    Column("payload", Text, nullable=False),  # CommitHead JSON: what a digest shows, no patch
)

analyses = Table(
    "analyses",
    metadata,
    Column("repo", String(300), primary_key=True),
    Column("sha", String(40), primary_key=True),
    Column("analyzer", String(200), primary_key=True),
    Column("prompt_version", String(50), primary_key=True),
    Column("language", String(8), primary_key=True),
    Column("importance", String(10), nullable=False),
    Column("prompt_tokens", Integer, nullable=False, default=0),
    Column("completion_tokens", Integer, nullable=False, default=0),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("payload", Text, nullable=False),  # CommitAnalysis JSON
)

digests = Table(
    "digests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("repo", String(300), nullable=False, index=True),
    Column("window_start", DateTime(timezone=True), nullable=False),
    Column("window_end", DateTime(timezone=True), nullable=False),
    Column("tz", String(64), nullable=False),
    Column("language", String(8), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("payload", LargeBinary, nullable=False),  # zlib-compressed Digest JSON
    UniqueConstraint("id"),
)


overviews = Table(
    "overviews",
    metadata,
    Column("repo", String(300), primary_key=True),
    Column("key", String(64), primary_key=True),  # sha256 of model, prompt, language, items
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("text", Text, nullable=False),
)


def _v1(conn: Connection) -> None:
    for table in (commits, analyses, digests):
        table.create(conn, checkfirst=True)


def _v2(conn: Connection) -> None:
    """Chat message refs and processed inbound event ids."""
    from bot.storage.conversations import create_tables

    create_tables(conn)


def _v3(conn: Connection) -> None:
    """Subscriptions and the deliveries outbox (scheduled daily posts)."""
    from bot.storage import deliveries, subscriptions

    subscriptions.create_tables(conn)
    deliveries.create_tables(conn)


def _v4(conn: Connection) -> None:
    """Day overviews, cached like analyses so a day's second run makes no LLM call."""
    overviews.create(conn, checkfirst=True)


def _v5(conn: Connection) -> None:
    """The per-part delivery outbox and the delivery's poster context."""
    from bot.storage.deliveries import add_parts

    add_parts(conn)


def _v6(conn: Connection) -> None:
    """Commit heads: a warm digest reads them instead of the full commits (patches). Commits
    stored before have none yet; the digest service writes a head the first time it loads one."""
    commit_heads.create(conn, checkfirst=True)


def _v7(conn: Connection) -> None:
    """Alerts: the subscriptions' alert level, alerted commits, the alert outbox, poll state
    and webhook deliveries seen."""
    from bot.storage.alerts import create_tables

    create_tables(conn)


# Index i migrates from version i to i+1. Append only.
MIGRATIONS: list[Callable[[Connection], None]] = [_v1, _v2, _v3, _v4, _v5, _v6, _v7]
SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: Connection) -> int:
    """Bring the schema to SCHEMA_VERSION; returns the version found before migrating."""
    schema_meta.create(conn, checkfirst=True)
    found = conn.execute(select(schema_meta.c.version).where(schema_meta.c.id == 1)).scalar()
    current = int(found) if found is not None else 0
    if current > SCHEMA_VERSION:
        from bot.errors import StorageError

        raise StorageError(
            "The database was written by a newer digestbot; upgrade digestbot.",
            detail=f"schema version {current} > {SCHEMA_VERSION}",
        )
    for version in range(current, SCHEMA_VERSION):
        MIGRATIONS[version](conn)
    if found is None:
        conn.execute(schema_meta.insert().values(id=1, version=SCHEMA_VERSION))
    elif current != SCHEMA_VERSION:
        conn.execute(
            schema_meta.update().where(schema_meta.c.id == 1).values(version=SCHEMA_VERSION)
        )
    return current
