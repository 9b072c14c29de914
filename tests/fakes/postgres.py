"""Finds a PostgreSQL server for tests, or skips them with a stable, greppable reason."""

from __future__ import annotations

import os
import socket
import uuid

import pytest
from sqlalchemy import create_engine, text

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SKIP_REASON = "PostgreSQL not reachable (set DIGESTBOT_TEST_PG_URL or run one on 127.0.0.1:5432)"


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _skip(reason: str) -> None:
    # .ci/run sets DIGESTBOT_REQUIRE_PG when CI is set and a server answers: then a skip is a bug.
    if os.environ.get("DIGESTBOT_REQUIRE_PG"):
        pytest.fail(f"PostgreSQL tests required in CI but: {reason}")
    pytest.skip(reason)


def postgres_url(request: pytest.FixtureRequest) -> str:
    """A fresh database on the server in DIGESTBOT_TEST_PG_URL (default
    postgres@127.0.0.1:5432/test), dropped after the test; skips when no server answers."""
    base = os.environ.get("DIGESTBOT_TEST_PG_URL", DEFAULT_URL)
    if not _reachable("127.0.0.1", 5432) and "DIGESTBOT_TEST_PG_URL" not in os.environ:
        _skip(SKIP_REASON)
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    name = f"dbt_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        _skip(f"{SKIP_REASON}: {type(exc).__name__}")
    url = base.rsplit("/", 1)[0] + "/" + name

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    request.addfinalizer(drop)
    return url
