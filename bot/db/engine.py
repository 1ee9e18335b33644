"""Engines (cached per URL) and short sessions. Nothing is created at import time.

The URL comes from `bot.settings.get_settings().db_url` at call time, so a changed `DB_URL`
takes effect on the next call (tests point the code at a temporary database that way).
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Any, Dict, Iterator, Optional

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.future import create_engine
from sqlalchemy.orm import Session

from bot.settings import get_settings

_engines: Dict[str, Engine] = {}
_lock = threading.Lock()

# Fail fast when PostgreSQL is unreachable: the bot answers "unavailable" instead of hanging.
POSTGRES_CONNECT_TIMEOUT_S = 5


def resolve_url(url: Optional[str] = None) -> str:
    return url or get_settings().db_url


def _enable_sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _create_engine(url: str) -> Engine:
    backend = make_url(url).get_backend_name()
    kwargs: Dict[str, Any] = {"future": True, "pool_pre_ping": True}
    if backend == "postgresql":
        kwargs["connect_args"] = {"connect_timeout": POSTGRES_CONNECT_TIMEOUT_S}
    engine = create_engine(url, **kwargs)
    if backend == "sqlite":
        # ON DELETE CASCADE (synonyms of a removed condition) needs foreign keys on in SQLite.
        event.listen(engine, "connect", _enable_sqlite_foreign_keys)
    return engine


def get_engine(url: Optional[str] = None) -> Engine:
    """The engine for `url` (default: the configured `DB_URL`), created once per URL."""
    url = resolve_url(url)
    engine = _engines.get(url)
    if engine is None:
        with _lock:
            engine = _engines.get(url)
            if engine is None:
                engine = _engines[url] = _create_engine(url)
    return engine


def dispose_engine(url: Optional[str] = None) -> None:
    """Close the pooled connections of `url`'s engine and forget it (before dropping a DB)."""
    with _lock:
        engine = _engines.pop(resolve_url(url), None)
    if engine is not None:
        engine.dispose()


@contextmanager
def session_scope(url: Optional[str] = None) -> Iterator[Session]:
    """One short unit of work: commits when the block succeeds, rolls back when it raises."""
    with Session(get_engine(url), future=True) as session, session.begin():
        yield session
