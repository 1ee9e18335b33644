"""Everything under /console goes through this middleware, so no console route can forget it:

- login required: the signed session must name an active user (checked against the database on
  every request, so a deactivated account is out at once), except for the login page itself;
- CSRF: every request that is not GET/HEAD must carry the session's token, as the form field
  `csrf_token` or the `X-CSRF-Token` header (login included);
- request bodies are capped, and responses are marked no-store with a console-only CSP.

It runs inside Starlette's SessionMiddleware (signed, HttpOnly, SameSite=Strict cookie).
"""
from __future__ import annotations

import hmac
import secrets
from typing import Optional
from urllib.parse import parse_qs, quote

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.responses import PlainTextResponse, RedirectResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.console.accounts import StaffUser, staff_user
from bot.console.models import User
from bot.db.engine import session_scope

PREFIX = "/console"
LOGIN_PATH = "/console/login"
# Paths under /console reachable without a session (the login form and its POST).
PUBLIC_PATHS = frozenset({LOGIN_PATH})
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
MAX_BODY_BYTES = 1_000_000

CONSOLE_CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def is_console_path(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


def csrf_token(session: dict) -> str:
    """The session's CSRF token, created on first use."""
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return token


def current_user(scope: Scope) -> Optional[StaffUser]:
    return scope.get("state", {}).get("user")


def _load_user(user_id) -> Optional[StaffUser]:
    if not isinstance(user_id, int):
        return None
    with session_scope() as session:
        user = session.scalar(select(User).where(User.id == user_id, User.active.is_(True)))
        return staff_user(user) if user else None


class ConsoleGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_console_path(scope["path"]):
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)
        session = connection.session
        user = await run_in_threadpool(_load_user, session.get("uid"))
        if user is None and session.get("uid") is not None:
            session.clear()  # account deactivated or deleted since login
        scope.setdefault("state", {})["user"] = user
        method = scope["method"]
        path = scope["path"]

        if user is None and path not in PUBLIC_PATHS:
            if method in SAFE_METHODS:
                target = path + (f"?{scope['query_string'].decode()}" if scope["query_string"] else "")
                response = RedirectResponse(f"{LOGIN_PATH}?next={quote(target)}", status_code=303)
            else:
                response = PlainTextResponse("Login required.", status_code=401)
            await response(scope, receive, send)
            return

        if method not in SAFE_METHODS:
            body = await _read_body(receive)
            if body is None:
                await PlainTextResponse("Request too large.", status_code=413)(scope, receive, send)
                return
            if not _csrf_ok(connection, session, body):
                await PlainTextResponse(
                    "This form has expired or did not come from the console. Go back, reload the "
                    "page and try again.",
                    status_code=403,
                )(scope, receive, send)
                return
            receive = _replay(body)

        async def send_no_store(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Cache-Control"] = "no-store"
                if headers.get("content-type", "").startswith("text/html"):
                    headers["Content-Security-Policy"] = CONSOLE_CSP
                    headers["X-Frame-Options"] = "DENY"
            await send(message)

        await self.app(scope, receive, send_no_store)


def _csrf_ok(connection: HTTPConnection, session: dict, body: bytes) -> bool:
    expected = session.get("csrf")
    if not expected:
        return False
    supplied = connection.headers.get("x-csrf-token", "")
    content_type = connection.headers.get("content-type", "")
    if not supplied and content_type.startswith("application/x-www-form-urlencoded"):
        try:
            values = parse_qs(body.decode("utf-8"), keep_blank_values=True).get("csrf_token", [])
        except UnicodeDecodeError:
            values = []
        supplied = values[0] if values else ""
    return hmac.compare_digest(supplied.encode(), expected.encode())


async def _read_body(receive: Receive) -> Optional[bytes]:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


SESSION_COOKIE = "console_session"
SESSION_MAX_AGE_S = 8 * 3600  # one working day


def session_secret(configured: str) -> str:
    """The key that signs session cookies: the configured one, else a random key kept in var/
    (so restarts keep staff logged in; several web processes need CONSOLE_SECRET_KEY set)."""
    if configured:
        return configured
    from bot.settings import ensure_var_dir

    path = ensure_var_dir() / "console_secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        key = secrets.token_urlsafe(48)
        path.touch(mode=0o600)
        path.write_text(key)
        return key
