"""Login and logout."""
from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.console import accounts
from bot.console.audit import audit
from bot.console.guard import LOGIN_PATH
from bot.console.render import read_form, redirect, render, user_of
from bot.db.engine import session_scope


def _safe_next(target: str) -> str:
    # Only paths inside the console: never an open redirect to another site.
    if target.startswith("/console") and not target.startswith("//") and "\\" not in target:
        return target
    return "/console"


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _no_admin() -> bool:
    with session_scope() as session:
        return not accounts.has_admin(session)


async def login_page(request: Request) -> Response:
    if request.scope["state"].get("user"):
        return redirect(_safe_next(request.query_params.get("next", "")))
    return render(
        request, "login.html", next=_safe_next(request.query_params.get("next", "")),
        username="", error=None, no_admin=await run_in_threadpool(_no_admin),
    )


def _attempt(username: str, password: str, address: str):
    """(user, rate_limited) for one login attempt, recorded and audited in one transaction."""
    with session_scope() as session:
        if accounts.is_rate_limited(session, username, address):
            audit(session, username[:64] or "?", "login_failed", address, reason="rate limited")
            return None, True
        user = accounts.authenticate(session, username, password, address)
        if user is None:
            audit(session, username[:64] or "?", "login_failed", address)
            return None, False
        audit(session, user.username, "login", address)
        return accounts.staff_user(user), False


async def login(request: Request) -> Response:
    form = await read_form(request)
    username = str(form.get("username", "")).strip()[:64]
    password = str(form.get("password", ""))[:1024]
    target = _safe_next(str(form.get("next", "")))
    user, limited = await run_in_threadpool(_attempt, username, password, _client_address(request))
    if user is None:
        error = (
            "Too many failed attempts. Wait 15 minutes and try again."
            if limited else "Wrong username or password."
        )
        return render(
            request, "login.html", status_code=429 if limited else 401,
            next=target, username=username, error=error, no_admin=False,
        )
    # A fresh session on login (no fixation): new CSRF token too.
    request.session.clear()
    request.session["uid"] = user.id
    return redirect(target)


async def logout(request: Request) -> Response:
    user = user_of(request)

    def record() -> None:
        with session_scope() as session:
            audit(session, user.username, "logout")

    await run_in_threadpool(record)
    request.session.clear()
    return redirect(LOGIN_PATH)


def routes() -> list[Route]:
    return [
        Route(LOGIN_PATH, login_page, methods=["GET", "HEAD"], name="console_login_page"),
        Route(LOGIN_PATH, login, methods=["POST"], name="console_login"),
        Route("/console/logout", logout, methods=["POST"], name="console_logout"),
    ]
