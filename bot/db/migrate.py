"""Alembic, configured in code (no alembic.ini): the project's single migration history."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

from bot.db.engine import get_engine, resolve_url

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: Optional[str] = None) -> Config:
    url = resolve_url(url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # env.py connects through bot.db.engine; the URL travels as an attribute, so no '%' escaping.
    config.attributes["db_url"] = url
    return config


def _ensure_sqlite_dir(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _ensure_postgres_database(url: str) -> None:
    """Create the PostgreSQL database named in `url` if the server does not have it yet (a new
    production install), connecting to the server's `postgres` database to do it."""
    from sqlalchemy import create_engine, text

    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql" or not parsed.database:
        return
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT", future=True)
    try:
        with admin.connect() as connection:
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": parsed.database}
            ).first()
            if not exists:
                quoted = connection.dialect.identifier_preparer.quote(parsed.database)
                connection.execute(text(f"CREATE DATABASE {quoted}"))
    finally:
        admin.dispose()


def upgrade(url: Optional[str] = None, revision: str = "head") -> None:
    """Migrate the database at `url` (default: the configured `DB_URL`) to `revision`."""
    url = resolve_url(url)
    _ensure_sqlite_dir(url)
    _ensure_postgres_database(url)
    command.upgrade(alembic_config(url), revision)


def downgrade(url: Optional[str] = None, revision: str = "-1") -> None:
    command.downgrade(alembic_config(url), revision)


def current(url: Optional[str] = None) -> Optional[str]:
    """The revision the database is at (None before the first migration)."""
    from alembic.runtime.migration import MigrationContext

    with get_engine(url).connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
