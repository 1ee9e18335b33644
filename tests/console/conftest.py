"""Console fixtures: a migrated real database (SQLite file, or PostgreSQL via `db_url`),
the web app on it, and Starlette test clients logged in as an admin or a reviewer.

- `console_db`: a migrated SQLite database, set as DB_URL for the test.
- `console_db_any`: the same, parametrized over SQLite and PostgreSQL (fails in CI without it).
- `console_app`: the whole web app (`bot.web.app.create_app`) on that database.
- `login(role) -> TestClient`: a client signed in through the real login form.
- `tracker_store`: Rasa's own SQLTrackerStore on the same database, to write real conversations.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Callable

import pytest
from starlette.testclient import TestClient

from bot.console import accounts
from bot.db.engine import session_scope
from bot.db.migrate import upgrade
from bot.settings import PROJECT_ROOT

PASSWORDS = {"admin": "admin-password-123", "reviewer": "reviewer-password-123"}


def _prepare(url: str, monkeypatch) -> str:
    monkeypatch.setenv("DB_URL", url)
    monkeypatch.setenv("CONSOLE_SECRET_KEY", "test-secret-key")
    upgrade(url)
    return url


@pytest.fixture
def console_db(sqlite_url, monkeypatch) -> str:
    return _prepare(sqlite_url, monkeypatch)


@pytest.fixture(params=["sqlite", "postgres"])
def console_db_any(request, monkeypatch) -> str:
    return _prepare(request.getfixturevalue(f"{request.param}_url"), monkeypatch)


@pytest.fixture
def staff(console_db) -> dict:
    """One admin and one reviewer, with the passwords in PASSWORDS."""
    with session_scope() as session:
        for role, password in PASSWORDS.items():
            accounts.create_user(session, role, password, role)
    return PASSWORDS


@pytest.fixture
def console_app(console_db, staff):
    from bot.web.app import create_app

    return create_app()


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "page has no CSRF token"
    return match.group(1)


def log_in(client: TestClient, username: str, password: str):
    token = csrf_from(client.get("/console/login").text)
    return client.post(
        "/console/login",
        data={"username": username, "password": password, "csrf_token": token},
        follow_redirects=False,
    )


@pytest.fixture
def login(console_app) -> Callable[[str], TestClient]:
    clients = []

    def make(role: str) -> TestClient:
        client = TestClient(console_app, base_url="http://localhost")
        client.__enter__()
        clients.append(client)
        response = log_in(client, role, PASSWORDS[role])
        assert response.status_code == 303, response.text
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def post_form(client: TestClient, path: str, data: dict, page: str = "/console"):
    """POST a console form with the CSRF token of `page` (as a browser would)."""
    token = csrf_from(client.get(page).text)
    return client.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


@pytest.fixture
def tracker_store(console_db):
    """Rasa's real SQL tracker store on the console's database (creates the `events` table)."""
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain

    path = console_db.removeprefix("sqlite:///")
    return SQLTrackerStore(Domain.load("domain.yml"), dialect="sqlite", db=path)


def copy_training_project(root: Path) -> Path:
    """A TRAINING_ROOT for the gate: the training data plus the three sets it evaluates on."""
    from bot.console import gate

    shutil.copytree(PROJECT_ROOT / "data", root / "data")
    for name in ("domain.yml", "config.yml", gate.HELDOUT, gate.CRISIS, gate.STORIES):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(PROJECT_ROOT / name, root / name)
    return root
