"""Message refs (posted message -> digest and commits) and processed inbound event ids."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    and_,
    delete,
    or_,
    select,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bot.storage.failures import storage_failure

log = logging.getLogger(__name__)

metadata = MetaData()

message_refs = Table(
    "message_refs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("platform", String(20), nullable=False),
    Column("channel_id", String(200), nullable=False),
    Column("message_id", String(200), nullable=False),
    Column("thread_id", String(200), nullable=True),  # the root it sits under; NULL for a root
    Column("kind", String(20), nullable=False),  # digest | details | answer | text
    Column("digest_id", Integer, nullable=True),
    Column("repo", String(300), nullable=True),  # what RepoResolver.resolve() accepts again
    Column("shas", Text, nullable=False, default="[]"),  # JSON list of full SHAs
    Column("language", String(8), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_message_refs_message", "platform", "channel_id", "message_id"),
    Index("ix_message_refs_thread", "platform", "channel_id", "thread_id"),
)

inbound_events = Table(
    "inbound_events",
    metadata,
    Column("platform", String(20), primary_key=True),
    Column("event_id", String(300), primary_key=True),
    Column("received_at", DateTime(timezone=True), nullable=False, index=True),
)


def create_tables(conn: Connection) -> None:
    """Schema migration v2 (see bot.storage.schema.MIGRATIONS)."""
    for table in (message_refs, inbound_events):
        table.create(conn, checkfirst=True)


@dataclass(frozen=True)
class ThreadInfo:
    """The digest behind a thread: where it came from and which commits it lists."""

    root_message_id: str
    digest_id: int | None
    repo: str | None
    shas: tuple[str, ...]
    language: str | None = None


@dataclass(frozen=True)
class PostedMessage:
    """One message to record, with what it is about."""

    platform: str
    channel_id: str
    message_id: str
    thread_id: str | None
    kind: str
    digest_id: int | None = None
    repo: str | None = None
    shas: tuple[str, ...] = ()
    language: str | None = None


class ConversationStore(Protocol):
    """Synchronous, like the Store; async callers run it in a worker thread."""

    def claim_event(self, platform: str, event_id: str, now: datetime) -> bool:
        """Record an inbound event id; False when it was recorded before (a redelivery)."""
        ...

    def release_event(self, platform: str, event_id: str) -> None:
        """Forget one claimed id (its answer failed: the user may ask again)."""
        ...

    def record_messages(self, messages: Sequence[PostedMessage], now: datetime) -> None: ...

    def find_thread(self, platform: str, channel_id: str, message_id: str) -> ThreadInfo | None:
        """The digest behind `message_id` (a thread root or any message in the thread)."""
        ...

    def prune_events(self, before: datetime) -> int:
        """Forget inbound ids older than `before` (platforms redeliver for hours, not weeks)."""
        ...


class SqlConversationStore:
    """ConversationStore over the SqlStore's engine (tables created by migration v2)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def claim_event(self, platform: str, event_id: str, now: datetime) -> bool:
        try:
            with self._engine.begin() as conn:
                conn.execute(
                    inbound_events.insert().values(
                        platform=platform, event_id=event_id[:300], received_at=now
                    )
                )
        except IntegrityError:
            return False
        except SQLAlchemyError as exc:
            raise storage_failure(exc, "The database is not reachable.") from exc
        return True

    def release_event(self, platform: str, event_id: str) -> None:
        try:
            with self._engine.begin() as conn:
                conn.execute(
                    delete(inbound_events).where(
                        inbound_events.c.platform == platform,
                        inbound_events.c.event_id == event_id[:300],
                    )
                )
        except SQLAlchemyError as exc:
            raise storage_failure(exc, "The database is not reachable.") from exc

    def record_messages(self, messages: Sequence[PostedMessage], now: datetime) -> None:
        if not messages:
            return
        rows = [
            {
                "platform": m.platform,
                "channel_id": m.channel_id,
                "message_id": m.message_id,
                "thread_id": m.thread_id,
                "kind": m.kind,
                "digest_id": m.digest_id,
                "repo": m.repo,
                "shas": json.dumps(list(m.shas)),
                "language": m.language,
                "created_at": now,
            }
            for m in messages
        ]
        try:
            with self._engine.begin() as conn:
                conn.execute(message_refs.insert(), rows)
        except SQLAlchemyError as exc:
            raise storage_failure(exc, "Could not record the posted messages.") from exc

    def find_thread(self, platform: str, channel_id: str, message_id: str) -> ThreadInfo | None:
        t = message_refs
        query = (
            select(t.c.message_id, t.c.thread_id, t.c.digest_id, t.c.repo, t.c.shas, t.c.language)
            .where(
                and_(
                    t.c.platform == platform,
                    t.c.channel_id == channel_id,
                    t.c.kind == "digest",
                    or_(t.c.message_id == message_id, t.c.thread_id == message_id),
                )
            )
            .order_by(t.c.id.desc())
            .limit(1)
        )
        try:
            with self._engine.connect() as conn:
                row = conn.execute(query).first()
                if row is None:
                    # A message inside the thread (a details reply, an answer): follow it to
                    # its root, then look the root up.
                    parent = conn.execute(
                        select(t.c.thread_id).where(
                            and_(
                                t.c.platform == platform,
                                t.c.channel_id == channel_id,
                                t.c.message_id == message_id,
                                t.c.thread_id.is_not(None),
                            )
                        )
                    ).scalar()
                    if parent is None or parent == message_id:
                        return None
                    return self.find_thread(platform, channel_id, str(parent))
        except SQLAlchemyError as exc:
            raise storage_failure(exc, "The database is not reachable.") from exc
        root = row.thread_id or row.message_id
        return ThreadInfo(
            root_message_id=str(root),
            digest_id=row.digest_id,
            repo=row.repo,
            shas=tuple(_load_shas(row.shas)),
            language=row.language,
        )

    def prune_events(self, before: datetime) -> int:
        try:
            with self._engine.begin() as conn:
                result = conn.execute(
                    delete(inbound_events).where(inbound_events.c.received_at < before)
                )
        except SQLAlchemyError as exc:
            raise storage_failure(exc, "Could not prune old events.") from exc
        return int(result.rowcount or 0)


def _load_shas(text: str | None) -> list[str]:
    try:
        value = json.loads(text or "[]")
    except ValueError:
        log.warning("message ref with unreadable shas column")
        return []
    return [str(s) for s in value] if isinstance(value, list) else []
