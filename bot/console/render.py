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
    """The submitted form (its CSRF token was already checked by the guard), without NUL
    characters: PostgreSQL refuses them in text (a login with one was a 500 there)."""
    form = await request.form(max_files=0, max_fields=2000)
    return FormData([(key, value.replace("\x00", "") if isinstance(value, str) else value)
                     for key, value in form.multi_items()])


# Row ids are 64-bit integers. SQLite cannot even compare a column with a bigger Python int
# (OverflowError: a 500), so a number outside this range, from a form or a URL, names no row.
ROW_IDS = range(-(2**63), 2**63)


def row_id(value: Any) -> int:
    """`int(value)` for an id from a form or a URL: ValueError also when no row can have it."""
    number = int(value)
    if number not in ROW_IDS:
        raise ValueError(f"not a row id: {value!r}")
    return number


Endpoint = Callable[[Request], Awaitable[Response]]


def admin_only(endpoint: Endpoint) -> Endpoint:
    @functools.wraps(endpoint)
    async def wrapper(request: Request) -> Response:
        if not user_of(request).is_admin:
            return render(request, "forbidden.html", status_code=403)
        return await endpoint(request)

    wrapper.admin_only = True  # read by the permission tests
    return wrapper
