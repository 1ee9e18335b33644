"""The production profile, started for real: PostgreSQL (the machine's server, a database of its
own), Redis (a private redis-server, so the fault tests can restart it), two Rasa replicas, two
action servers, the web app and nginx, exactly as `make run PROFILE=prod` starts them.

Missing PostgreSQL, redis-server or nginx skips these tests on a laptop and fails them in CI.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest

from tests.db_fixtures import DEFAULT_POSTGRES_SERVER, _postgres_admin_connection, need
from tests.http import REFERRAL, message, texts  # noqa: F401  (the tests import them from here)
from tests.stack import started_stack

PORTS = {"RASA_PORT": "25005", "ACTION_PORT": "25055", "WEB_PORT": "28000"}
REDIS_PORT = 26379
UNAVAILABLE = "part of the service is unavailable"


class PrivateRedis:
    """redis-server on its own port, nothing kept on disk (like the machine's)."""

    def __init__(self, port: int, log: Path) -> None:
        self.port, self.log = port, log
        self.process: subprocess.Popen = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [shutil.which("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no"],
            stdout=open(self.log, "ab"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture(scope="package")
def redis_server(tmp_path_factory):
    need(shutil.which("redis-server") is not None, "redis-server is not installed")
    redis = PrivateRedis(REDIS_PORT, tmp_path_factory.mktemp("redis") / "redis.log")
    redis.start()
    yield redis
    redis.stop()


@pytest.fixture(scope="package")
def prod_db():
    import psycopg2
    from psycopg2 import sql

    server = os.environ.get("TEST_POSTGRES_URL", DEFAULT_POSTGRES_SERVER)
    try:
        admin = _postgres_admin_connection(server)
    except psycopg2.OperationalError as error:
        need(False, f"PostgreSQL unreachable: {error}")
    admin.close()
    name = f"test_prod_{uuid.uuid4().hex[:12]}"
    yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    admin = _postgres_admin_connection(server)  # a new one: a fault test restarts the server
    with admin.cursor() as cursor:
        cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    admin.close()


@pytest.fixture(scope="package")
def prod_models(tmp_path_factory):
    """A copy of the trained model in a directory of its own (the promotion test adds one)."""
    from rasa.model import get_latest_model

    latest = get_latest_model("models")
    need(latest is not None, "no trained model: run `make train`")
    directory = tmp_path_factory.mktemp("prod-models")
    shutil.copy2(latest, directory / Path(latest).name)
    return directory


@pytest.fixture(scope="package")
def prod_stack(redis_server, prod_db, prod_models):
    from bot.prod import nginx_binary

    try:
        nginx_binary()
    except RuntimeError as error:
        need(False, str(error))
    environment = {
        **PORTS,
        "PROFILE": "prod",
        "DB_URL": prod_db,
        "REDIS_HOST": "127.0.0.1",
        "REDIS_PORT": str(REDIS_PORT),
        "MODELS_DIR": str(prod_models),
        "RASA_AUTH_TOKEN": "test-prod-token",
        "MODEL_SERVER_TOKEN": "test-model-server-token",
        "CORS_ORIGINS": f"http://localhost:{PORTS['WEB_PORT']}",
        "RASA_PUBLIC_URL": f"http://localhost:{PORTS['RASA_PORT']}",
        # One test sends 32 messages on one conversation; nginx's per-address limit is tested
        # with an nginx of its own (test_public_side.py): every test here is 127.0.0.1.
        "RATE_LIMIT_PER_SENDER": "40",
        "RATE_LIMIT_PER_ADDRESS": "0",
    }
    with started_stack(environment) as stack:
        yield stack


def post(url: str, sender: str, text: Any, timeout: float = 60) -> Tuple[int, Any]:
    """(status, JSON body) of one REST message to the server at `url` (tests/http.py)."""
    return message(url, sender, text, timeout=timeout)


def replica_urls(stack) -> List[str]:
    return stack.settings.api_urls()


def nginx_url(stack) -> str:
    return f"http://127.0.0.1:{stack.settings.rasa_port}"


def user_events(db_url: str, sender: str) -> List[Dict[str, Any]]:
    """The conversation's events in the order PostgreSQL stored them."""
    import sqlalchemy as sa

    engine = sa.create_engine(db_url, future=True)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT type_name, action_name, data FROM events WHERE sender_id = :s "
                        "ORDER BY id"), {"s": sender}).all()
    finally:
        engine.dispose()
    return [{"type": r.type_name, "action": r.action_name, "data": json.loads(r.data)} for r in rows]
