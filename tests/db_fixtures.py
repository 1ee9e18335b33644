"""Database fixtures (a pytest plugin registered in tests/conftest.py).

- `sqlite_url`: a fresh SQLite file in the test's tmp_path.
- `postgres_url`: a fresh, uniquely named PostgreSQL database, dropped afterwards. The server is
  TEST_POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432/postgres, trust auth). If it is
  unreachable the test is skipped, except in CI (CI=true), where it fails.
- `db_url`: both of the above, for tests parametrized with `indirect=True`
  (`@pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)`).
"""
from __future__ import annotations

import os
import uuid
from typing import Iterator

import pytest
from sqlalchemy.engine import make_url

from bot.db.engine import dispose_engine

DEFAULT_POSTGRES_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def need(condition: bool, message: str) -> None:
    """A service a test needs: skipped without it on a laptop, failed in CI (CI=true)."""
    if condition:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def machine_redis(db: int):
    """A client of the machine's Redis (127.0.0.1:6379) on database `db`, or skip/fail (`need`)."""
    import redis

    client = redis.Redis(host="127.0.0.1", port=6379, db=db, socket_timeout=1)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as error:
        need(False, f"Redis unreachable at 127.0.0.1:6379: {error}")
    return client


@pytest.fixture
def sqlite_url(tmp_path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'test.db'}"
    yield url
    dispose_engine(url)


def _postgres_admin_connection(server_url: str):
    import psycopg2

    parsed = make_url(server_url)
    connection = psycopg2.connect(
        host=parsed.host or "127.0.0.1",
        port=parsed.port or 5432,
        user=parsed.username or "postgres",
        password=parsed.password,
        dbname=parsed.database or "postgres",
        connect_timeout=3,
    )
    connection.autocommit = True  # CREATE/DROP DATABASE cannot run in a transaction
    return connection


@pytest.fixture
def postgres_url() -> Iterator[str]:
    import psycopg2
    from psycopg2 import sql

    server_url = os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES_SERVER)
    try:
        admin = _postgres_admin_connection(server_url)
    except psycopg2.OperationalError as error:
        need(False, f"PostgreSQL unreachable at {make_url(server_url).host}: {error}".strip())

    name = f"test_{uuid.uuid4().hex[:16]}"
    with admin.cursor() as cursor:
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_url(server_url).set(drivername="postgresql+psycopg2", database=name)
    url_text = url.render_as_string(hide_password=False)
    try:
        yield url_text
    finally:
        dispose_engine(url_text)
        with admin.cursor() as cursor:
            cursor.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
        admin.close()


@pytest.fixture
def db_url(request) -> str:
    """Indirectly parametrized: "sqlite" or "postgres"."""
    return request.getfixturevalue(f"{request.param}_url")
