"""Access control for the console: every route is behind login and CSRF, admins-only pages refuse
reviewers, passwords are argon2 hashes, logins are rate-limited, sessions are safe cookies.

Routes are enumerated from the real app, so a route added later is covered without editing this file.
"""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select
from starlette.routing import Route
from starlette.testclient import TestClient

from bot.console import accounts
from bot.console.guard import LOGIN_PATH, PUBLIC_PATHS
from bot.console.models import AuditEvent, LoginAttempt, User
from bot.db.engine import session_scope
from tests.console.conftest import PASSWORDS, csrf_from, log_in, post_form

PARAM_VALUES = {"sender_id": "visitor-1", "event_id": "1", "user_id": "1", "run_id": "1",
                "deployment_id": "1", "entry_id": "1", "correction_id": "1", "id": "1"}


def console_routes(app) -> list[tuple[str, str, Route]]:
    """(method, concrete path, route) for every console route of the app."""
    found = []
    for route in app.routes:
        if not isinstance(route, Route) or not route.path.startswith("/console"):
            continue
        path = re.sub(r"\{(\w+)(:\w+)?\}", lambda m: PARAM_VALUES.get(m.group(1), "1"), route.path)
        for method in sorted(route.methods - {"HEAD"}):
            found.append((method, path, route))
    return found


def test_the_console_has_routes_to_check(console_app):
    paths = {path for _, path, _ in console_routes(console_app)}
    assert {"/console", "/console/users", "/console/audit", LOGIN_PATH, "/console/logout"} <= paths


def test_no_console_route_is_reachable_without_login(console_app):
    client = TestClient(console_app, base_url="http://localhost")
    checked = 0
    for method, path, _ in console_routes(console_app):
        if path in PUBLIC_PATHS:
            continue
        response = client.request(method, path, follow_redirects=False)
        if method == "GET":
            assert response.status_code == 303, (method, path)
            assert response.headers["location"].startswith(LOGIN_PATH + "?next=")
        else:
            assert response.status_code == 401, (method, path)
        checked += 1
    assert checked >= 5


def test_every_console_post_needs_the_csrf_token(login, console_app):
    client = login("admin")
    posts = [(m, p) for m, p, _ in console_routes(console_app) if m != "GET"]
    assert posts
    for method, path in posts:
        for token in (None, "forged-token"):
            data = {} if token is None else {"csrf_token": token}
            response = client.request(method, path, data=data, follow_redirects=False)
            assert response.status_code == 403, (method, path, token)
    # The session survived all that, and a header token works as well as the form field.
    assert client.get("/console/users").status_code == 200


def test_admin_pages_refuse_reviewers(login, console_app):
    reviewer = login("reviewer")
    token = csrf_from(reviewer.get("/console").text)
    admin_routes = [(m, p) for m, p, r in console_routes(console_app)
                    if getattr(r.endpoint, "admin_only", False)]
    assert ("GET", "/console/users") in admin_routes and ("POST", "/console/users") in admin_routes
    for method, path in admin_routes:
        response = reviewer.request(method, path, data={"csrf_token": token}, follow_redirects=False)
        assert response.status_code == 403, (method, path)
    # Trying to create an account as a reviewer changed nothing.
    reviewer.post("/console/users", data={"csrf_token": token, "username": "mallory",
                                          "password": "x" * 20, "role": "admin"})
    with session_scope() as session:
        assert session.scalar(select(User).where(User.username == "mallory")) is None


def test_admin_manages_users(login):
    admin = login("admin")
    response = post_form(admin, "/console/users",
                         {"username": "nurse.amy", "password": "a-long-password-1", "role": "reviewer"},
                         page="/console/users")
    assert response.status_code == 303
    assert "nurse.amy" in admin.get("/console/users").text
    weak = post_form(admin, "/console/users",
                     {"username": "weak", "password": "short", "role": "reviewer"}, page="/console/users")
    assert "at least 12 characters" in admin.get(weak.headers["location"]).text
    with session_scope() as session:
        assert session.scalar(select(User).where(User.username == "weak")) is None
        actions = [e.action for e in session.scalars(select(AuditEvent))]
    assert "user_create" in actions


@pytest.mark.usefixtures("console_db_any")
def test_passwords_are_argon2_hashes_and_login_works_on_every_database():
    with session_scope() as session:
        accounts.create_user(session, "dr.lee", "a-long-password-1", "admin")
    with session_scope() as session:
        user = session.scalar(select(User).where(User.username == "dr.lee"))
        assert user.password_hash.startswith("$argon2id$")
        assert "a-long-password-1" not in user.password_hash
        assert accounts.authenticate(session, "DR.LEE", "a-long-password-1", "10.0.0.1") is not None
        assert accounts.authenticate(session, "dr.lee", "wrong-password-1", "10.0.0.1") is None
        assert accounts.authenticate(session, "nobody", "wrong-password-1", "10.0.0.1") is None
    with session_scope() as session:
        attempts = session.scalars(select(LoginAttempt).order_by(LoginAttempt.id)).all()
        assert [a.succeeded for a in attempts] == [True, False, False]


def test_logins_are_rate_limited_per_account(console_app):
    client = TestClient(console_app, base_url="http://localhost")
    for _ in range(accounts.MAX_FAILURES_PER_USERNAME):
        assert log_in(client, "admin", "wrong-password-123").status_code == 401
    # Even the right password is refused until the window has passed.
    blocked = log_in(client, "admin", PASSWORDS["admin"])
    assert blocked.status_code == 429
    assert "Too many failed attempts" in blocked.text
    # Another account from another address is not affected.
    assert log_in(TestClient(console_app, base_url="http://localhost"),
                  "reviewer", PASSWORDS["reviewer"]).status_code == 303
    with session_scope() as session:
        failures = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "login_failed")).all()
    assert len(failures) == accounts.MAX_FAILURES_PER_USERNAME + 1


def test_session_cookie_is_signed_httponly_and_strict(console_app):
    client = TestClient(console_app, base_url="http://localhost")
    response = log_in(client, "admin", PASSWORDS["admin"])
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/console" in cookie
    # A tampered cookie is not a session.
    value = client.cookies.get("console_session")
    client.cookies.clear()
    client.cookies.set("console_session", value[:-4] + "AAAA", domain="localhost", path="/console")
    assert client.get("/console", follow_redirects=False).status_code == 303


def test_console_pages_are_not_cached_or_framed(login):
    response = login("reviewer").get("/console/audit")
    assert response.status_code == 403  # reviewers may not read the audit log
    response = login("admin").get("/console/audit")
    assert response.headers["cache-control"] == "no-store"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_deactivated_account_loses_its_session_at_once(login):
    reviewer = login("reviewer")
    assert reviewer.get("/console/conversations").status_code == 200
    with session_scope() as session:
        session.scalar(select(User).where(User.username == "reviewer")).active = False
    assert reviewer.get("/console/conversations", follow_redirects=False).status_code == 303


def test_login_never_redirects_off_site(console_app):
    client = TestClient(console_app, base_url="http://localhost")
    token = csrf_from(client.get("/console/login").text)
    for target in ("//evil.example/", "https://evil.example/", "/console/../..//evil"):
        client.cookies.clear()
        token = csrf_from(client.get("/console/login").text)
        response = client.post(LOGIN_PATH, data={"username": "admin", "password": PASSWORDS["admin"],
                                                 "csrf_token": token, "next": target},
                               follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"].startswith("/console")
        assert "evil" not in response.headers["location"] or target.startswith("/console")


def test_logout_ends_the_session(login):
    client = login("reviewer")
    assert post_form(client, "/console/logout", {}).status_code == 303
    assert client.get("/console", follow_redirects=False).status_code == 303


def test_first_admin_comes_from_the_environment_only_once(console_db, monkeypatch):
    from bot.console.startup import console_startup
    from bot.settings import Settings

    with session_scope() as session:
        assert not accounts.has_admin(session)
    monkeypatch.setenv("CONSOLE_ADMIN_USER", "clinic-admin")
    monkeypatch.setenv("CONSOLE_ADMIN_PASSWORD", "first-admin-password")
    console_startup(Settings())
    monkeypatch.setenv("CONSOLE_ADMIN_PASSWORD", "a-different-password")
    console_startup(Settings())  # an admin exists: nothing changes
    with session_scope() as session:
        admins = session.scalars(select(User).where(User.role == "admin")).all()
        assert [a.username for a in admins] == ["clinic-admin"]
        assert accounts.authenticate(session, "clinic-admin", "first-admin-password", "x")


def test_without_an_admin_the_login_page_says_how_to_create_one(console_db):
    from bot.web.app import create_app

    page = TestClient(create_app(), base_url="http://localhost").get("/console/login").text
    assert "make admin" in page and "CONSOLE_ADMIN_PASSWORD" in page
