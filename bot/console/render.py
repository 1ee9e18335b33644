"""Rendering console pages: one Jinja environment (autoescaped), the page chrome every view
shares, flash messages, the admin-only decorator and the form reader.
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Awaitable, Callable

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from bot.console.accounts import StaffUser
from bot.console.guard import csrf_token

TEMPLATES = Path(__file__).parent / "templates"

# (path, label, admin only) for the navigation bar.
NAV = (
    ("/console", "Dashboard", False),
    ("/console/conversations", "Conversations", False),
    ("/console/teach", "Teach", False),
    ("/console/models", "Models", False),
    ("/console/users", "Users", True),
    ("/console/audit", "Audit log", True),
)

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def user_of(request: Request) -> StaffUser:
    """The signed-in user (the guard guarantees one on every route but the login page)."""
    return request.scope["state"]["user"]


def flash(request: Request, message: str, kind: str = "info") -> None:
    """A message shown once on the next page (kind: info, success, error)."""
    request.session.setdefault("flash", []).append([kind, message])


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    user = request.scope.get("state", {}).get("user")
    messages = request.session.pop("flash", [])
    html = _env.get_template(template).render(
        request=request,
        user=user,
        csrf_token=csrf_token(request.session),
        nav=[(path, label) for path, label, admin in NAV if user and (user.is_admin or not admin)],
        current_path=request.url.path,
        messages=messages,
        **context,
    )
    return HTMLResponse(html, status_code=status_code)


def redirect(path: str) -> RedirectResponse:
    """After a POST: 303 so the browser GETs the next page (no resubmission on reload)."""
    return RedirectResponse(path, status_code=303)


async def read_form(request: Request) -> FormData:
    """The submitted form (its CSRF token was already checked by the guard)."""
    return await request.form(max_files=0, max_fields=2000)


Endpoint = Callable[[Request], Awaitable[Response]]


def admin_only(endpoint: Endpoint) -> Endpoint:
    @functools.wraps(endpoint)
    async def wrapper(request: Request) -> Response:
        if not user_of(request).is_admin:
            return render(request, "forbidden.html", status_code=403)
        return await endpoint(request)

    wrapper.admin_only = True  # read by the permission tests
    return wrapper
