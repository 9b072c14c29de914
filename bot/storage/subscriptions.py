"""Subscriptions (repo → channel at a local time) in SQL, defined in the TOML file or from chat."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time
from typing import Any, Literal, Protocol

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bot.errors import StorageError
from bot.models import Importance, Language
from bot.schedules import Schedule
from bot.storage.failures import storage_failure
from bot.vocabulary import AlertLevel, Cadence, alert_level

log = logging.getLogger(__name__)

Origin = Literal["config", "chat"]

metadata = MetaData()

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("platform", String(20), nullable=False),
    Column("channel_id", String(200), nullable=False),
    Column("repo", String(300), nullable=False),  # canonical name (RepoTarget.name)
    Column("repo_key", String(300), nullable=False),  # lower-cased repo, for uniqueness
    Column("at", String(5), nullable=False),  # HH:MM local
    Column("timezone", String(64), nullable=False),
    Column("days", String(40), nullable=False),  # "mon,tue,…"
    Column("language", String(8), nullable=False),
    Column("min_importance", String(10), nullable=False),
    Column("exclude_authors", Text, nullable=False, default="[]"),
    Column("exclude_paths", Text, nullable=False, default="[]"),
    Column("origin", String(10), nullable=False),  # config | chat
    # Schema v7: alerts for commits at or above this level as they land (off | high | medium).
    Column("alerts", String(10), nullable=False, default="off", server_default="off"),
    # Schema v7: "weekly" posts the week's chart with the digest (a once-a-week schedule).
    Column("cadence", String(10), nullable=False, default="daily", server_default="daily"),
    Column("created_by", String(200), nullable=True),
    # Unsubscribing keeps the row (and so the id its deliveries point at) inactive.
    Column("active", Boolean, nullable=False, default=True),
    # Runs due before this instant are not owed (a new or re-timed subscription).
    Column("active_since", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("platform", "channel_id", "repo_key", name="uq_subscriptions_target"),
)


def to_db(moment: datetime) -> datetime:
    """Aware UTC for writing: SQLite keeps wall time only, so everything stored is UTC."""
    if moment.tzinfo is None:
        raise ValueError("datetimes written to the database must be timezone-aware")
    return moment.astimezone(UTC)


def from_db(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def create_tables(conn: Connection) -> None:
    """Part of schema migration v3 (see bot.storage.schema.MIGRATIONS)."""
    subscriptions.create(conn, checkfirst=True)


@dataclass(frozen=True)
class SubscriptionSpec:
    """What a subscription asks for, as written in the TOML file or typed in chat."""

    platform: str
    channel_id: str
    repo: str
    schedule: Schedule
    language: Language = "en"
    min_importance: Importance = Importance.LOW
    exclude_authors: tuple[str, ...] = ()
    exclude_paths: tuple[str, ...] = ()
    alerts: AlertLevel = "off"
    cadence: Cadence = "daily"

    @property
    def target_key(self) -> tuple[str, str, str]:
        return (self.platform, self.channel_id, self.repo.lower())


@dataclass(frozen=True)
class Subscription:
    """A stored subscription; its `id` is stable across edits (deliveries point at it)."""

    id: int
    spec: SubscriptionSpec
    origin: Origin
    active: bool
    active_since: datetime
    updated_at: datetime
    created_by: str | None = None

    @property
    def platform(self) -> str:
        return self.spec.platform

    @property
    def channel_id(self) -> str:
        return self.spec.channel_id

    @property
    def repo(self) -> str:
        return self.spec.repo

    @property
    def schedule(self) -> Schedule:
        return self.spec.schedule


class SubscriptionStore(Protocol):
    """Synchronous, like the Store; async callers run it in a worker thread."""

    def save(
        self, spec: SubscriptionSpec, *, origin: Origin, created_by: str | None, now: datetime
    ) -> Subscription:
        """Create, re-activate or update the subscription of (platform, channel, repo). A
        changed schedule (or a re-activation) resets `active_since` to `now`."""
        ...

    def deactivate(self, platform: str, channel_id: str, repo: str) -> Subscription | None:
        """Unsubscribe; the row stays (inactive). None when there was no active one."""
        ...

    def get(self, subscription_id: int) -> Subscription | None: ...

    def find(self, platform: str, channel_id: str, repo: str) -> Subscription | None: ...

    def active(self) -> list[Subscription]: ...

    def in_channel(self, platform: str, channel_id: str) -> list[Subscription]: ...

    def sync_config(self, specs: Sequence[SubscriptionSpec], now: datetime) -> list[Subscription]:
        """Make the TOML file's subscriptions active, and deactivate config rows it dropped."""
        ...

    def ping(self) -> None:
        """Raise StorageError when the database does not answer."""
        ...


class SqlSubscriptionStore:
    """SubscriptionStore over the SqlStore's engine (tables created by migration v3)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def save(
        self, spec: SubscriptionSpec, *, origin: Origin, created_by: str | None, now: datetime
    ) -> Subscription:
        for attempt in range(3):
            try:
                with self._engine.begin() as conn:
                    return self._save(conn, spec, origin, created_by, now)
            except IntegrityError:
                # Another replica created the same row between our select and insert.
                log.debug("concurrent subscription insert, retry %s", attempt + 1)
            except SQLAlchemyError as exc:
                raise storage_failure(exc, "Could not save the subscription.") from exc
        raise StorageError("Could not save the subscription.", detail="insert kept conflicting")

    def _save(
        self,
        conn: Connection,
        spec: SubscriptionSpec,
        origin: Origin,
        created_by: str | None,
        now: datetime,
    ) -> Subscription:
        t = subscriptions
        where = _target(spec.platform, spec.channel_id, spec.repo)
        row = conn.execute(select(t).where(where)).first()
        values = {**_spec_values(spec), "origin": origin, "active": True, "updated_at": to_db(now)}
        if row is None:
            result = conn.execute(
                t.insert().values(
                    **values, created_by=created_by, active_since=to_db(now), created_at=to_db(now)
                )
            )
            new_id = int(result.inserted_primary_key[0])  # type: ignore[index]
            return _load(conn, new_id)
        old = _from_row(row)
        if old.spec == spec and old.active and old.origin == origin:
            return old  # nothing changed: keep updated_at, no job churn
        if not old.active or old.schedule != spec.schedule:
            values["active_since"] = to_db(now)
        if created_by is not None:
            values["created_by"] = created_by
        conn.execute(update(t).where(t.c.id == old.id).values(**values))
        return _load(conn, old.id)

    def deactivate(self, platform: str, channel_id: str, repo: str) -> Subscription | None:
        t = subscriptions
        try:
            with self._engine.begin() as conn:
                row = conn.execute(
                    select(t).where(and_(_target(platform, channel_id, repo), t.c.active))
                ).first()
                if row is None:
                    return None
                conn.execute(update(t).where(t.c.id == row.id).values(active=False))
                return replace(_from_row(row), active=False)
        except SQLAlchemyError as exc:
            raise storage_failure(exc, "Could not remove the subscription.") from exc

    def get(self, subscription_id: int) -> Subscription | None:
        rows = self._select(subscriptions.c.id == subscription_id)
        return rows[0] if rows else None

    def find(self, platform: str, channel_id: str, repo: str) -> Subscription | None:
        rows = self._select(_target(platform, channel_id, repo))
        return rows[0] if rows else None

    def active(self) -> list[Subscription]:
        return self._select(subscriptions.c.active.is_(True))

    def in_channel(self, platform: str, channel_id: str) -> list[Subscription]:
        t = subscriptions
        return self._select(
            and_(t.c.platform == platform, t.c.channel_id == channel_id, t.c.active.is_(True))
        )

    def sync_config(self, specs: Sequence[SubscriptionSpec], now: datetime) -> list[Subscription]:
        saved = [self.save(s, origin="config", created_by=None, now=now) for s in specs]
        keep = {s.id for s in saved}
        t = subscriptions
        try:
            with self._engine.begin() as conn:
                gone = conn.execute(
                    select(t.c.id).where(and_(t.c.origin == "config", t.c.active.is_(True)))
                ).scalars()
                dropped = [i for i in gone if i not in keep]
                if dropped:
                    conn.execute(update(t).where(t.c.id.in_(dropped)).values(active=False))
                    log.info("config no longer lists subscriptions %s; deactivated", dropped)
        except SQLAlchemyError as exc:
            raise storage_failure(exc, "Could not sync the subscriptions.") from exc
        return saved

    def ping(self) -> None:
        try:
            with self._engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except SQLAlchemyError as exc:
            raise storage_failure(exc, "The database is not reachable.") from exc

    def _select(self, where: Any) -> list[Subscription]:
        t = subscriptions
        try:
            with self._engine.connect() as conn:
                rows = conn.execute(select(t).where(where).order_by(t.c.id)).all()
        except SQLAlchemyError as exc:
            raise storage_failure(exc, "The database is not reachable.") from exc
        return [_from_row(r) for r in rows]


def _target(platform: str, channel_id: str, repo: str) -> Any:
    t = subscriptions
    return and_(
        t.c.platform == platform, t.c.channel_id == channel_id, t.c.repo_key == repo.lower()
    )


def _spec_values(spec: SubscriptionSpec) -> dict[str, Any]:
    return {
        "platform": spec.platform,
        "channel_id": spec.channel_id,
        "repo": spec.repo,
        "repo_key": spec.repo.lower(),
        "at": spec.schedule.at.strftime("%H:%M"),
        "timezone": spec.schedule.timezone,
        "days": ",".join(spec.schedule.days),
        "language": spec.language,
        "min_importance": spec.min_importance.value,
        "exclude_authors": json.dumps(list(spec.exclude_authors)),
        "exclude_paths": json.dumps(list(spec.exclude_paths)),
        "alerts": spec.alerts,
        "cadence": spec.cadence,
    }


def _load(conn: Connection, subscription_id: int) -> Subscription:
    row = conn.execute(select(subscriptions).where(subscriptions.c.id == subscription_id)).one()
    return _from_row(row)


def _from_row(row: Row[Any]) -> Subscription:
    hour, minute = (int(p) for p in str(row.at).split(":"))
    language: Language = "zh" if row.language == "zh" else "en"
    spec = SubscriptionSpec(
        platform=row.platform,
        channel_id=row.channel_id,
        repo=row.repo,
        schedule=Schedule(time(hour, minute), row.timezone, tuple(str(row.days).split(","))),
        language=language,
        min_importance=Importance(row.min_importance),
        exclude_authors=tuple(_strings(row.exclude_authors)),
        exclude_paths=tuple(_strings(row.exclude_paths)),
        alerts=alert_level(row.alerts),
        cadence="weekly" if row.cadence == "weekly" else "daily",
    )
    origin: Origin = "config" if row.origin == "config" else "chat"
    return Subscription(
        id=int(row.id),
        spec=spec,
        origin=origin,
        active=bool(row.active),
        active_since=from_db(row.active_since),
        updated_at=from_db(row.updated_at),
        created_by=row.created_by,
    )


def _strings(raw: str | None) -> list[str]:
    try:
        value = json.loads(raw or "[]")
    except ValueError:
        log.warning("subscription with an unreadable filter column")
        return []
    return [str(v) for v in value] if isinstance(value, list) else []
