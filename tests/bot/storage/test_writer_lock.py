"""The SQLite single-writer lock: one holder per database file, none for PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine

from bot.errors import ConfigError
from bot.storage.writer_lock import single_writer


def test_one_holder_per_sqlite_file_and_released_on_exit(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    other = create_engine(f"sqlite:///{tmp_path / 'other.sqlite'}")
    with single_writer(engine) as path:
        assert path == tmp_path / "db.sqlite.serve.lock"
        with pytest.raises(ConfigError) as raised, single_writer(engine):
            pass
        assert "already using" in raised.value.user_message
        with single_writer(other) as elsewhere:  # another file is another database
            assert elsewhere == tmp_path / "other.sqlite.serve.lock"
    with single_writer(engine) as again:  # released
        assert again is not None


def test_memory_and_postgresql_databases_take_no_lock() -> None:
    with single_writer(create_engine("sqlite://")) as path:
        assert path is None
    postgres = create_engine("postgresql+psycopg://u@127.0.0.1:1/db")
    with single_writer(postgres) as path:
        assert path is None
