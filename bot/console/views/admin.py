"""Admin pages: staff accounts and the audit log."""
from __future__ import annotations

from sqlalchemy import func, select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.console import accounts
from bot.console.audit import ACTIONS, audit
from bot.console.models import ROLES, AuditEvent, User
from bot.console.render import admin_only, flash, read_form, redirect, render, row_id, user_of
from bot.db.engine import session_scope

AUDIT_PAGE_SIZE = 100


@admin_only
async def users_page(request: Request) -> Response:
    def load():
        with session_scope() as session:
            return [
                dict(id=u.id, username=u.username, role=u.role, active=u.active,
                     created_at=u.created_at, last_login_at=u.last_login_at)
                for u in session.scalars(select(User).order_by(User.username))
            ]

    return render(request, "users.html", users=await run_in_threadpool(load), roles=ROLES)


@admin_only
async def create_user(request: Request) -> Response:
    form = await read_form(request)
    admin = user_of(request)

    def create() -> str:
        with session_scope() as session:
            user = accounts.create_user(
                session, str(form.get("username", "")), str(form.get("password", "")),
                str(form.get("role", "")),
            )
            audit(session, admin.username, "user_create", user.username, role=user.role)
            return user.username

    try:
        name = await run_in_threadpool(create)
    except accounts.AccountError as error:
        flash(request, str(error), "error")
    else:
        flash(request, f"User {name} created.", "success")
    return redirect("/console/users")


@admin_only
async def update_user(request: Request) -> Response:
    form = await read_form(request)
    admin = user_of(request)
    try:
        user_id = row_id(request.path_params["user_id"])
    except ValueError:
        return render(request, "not_found.html", status_code=404)

    def update() -> str:
        with session_scope() as session:
            user = session.get(User, user_id)
            if user is None:
                raise accounts.AccountError("No such user.")
            changes = {}
            role = str(form.get("role", user.role))
            active = form.get("active") == "on"
            if user.id == admin.id and (role != "admin" or not active):
                raise accounts.AccountError("You cannot remove your own admin access.")
            if role not in ROLES:
                raise accounts.AccountError("Unknown role.")
            if role != user.role:
                changes["role"] = user.role = role
            if active != user.active:
                changes["active"] = user.active = active
            password = str(form.get("password", ""))
            if password:
                accounts.set_password(session, user, password)
                changes["password"] = "reset"
            audit(session, admin.username, "user_update", user.username, **changes)
            return user.username

    try:
        name = await run_in_threadpool(update)
    except accounts.AccountError as error:
        flash(request, str(error), "error")
    else:
        flash(request, f"User {name} updated.", "success")
    return redirect("/console/users")


@admin_only
async def audit_page(request: Request) -> Response:
    action = request.query_params.get("action", "")
    try:
        page = max(1, int(request.query_params.get("page", "1")))
        row_id(page * AUDIT_PAGE_SIZE)  # ValueError for an offset past SQLite's integers
    except ValueError:
        page = 1

    def load():
        with session_scope() as session:
            query = select(AuditEvent)
            count = select(func.count(AuditEvent.id))
            if action in ACTIONS:
                query = query.where(AuditEvent.action == action)
                count = count.where(AuditEvent.action == action)
            rows = session.scalars(
                query.order_by(AuditEvent.id.desc())
                .offset((page - 1) * AUDIT_PAGE_SIZE).limit(AUDIT_PAGE_SIZE)
            )
            events = [dict(at=e.at, username=e.username, action=e.action, target=e.target,
                           detail=e.detail) for e in rows]
            return events, session.scalar(count) or 0

    events, total = await run_in_threadpool(load)
    return render(
        request, "audit.html", events=events, total=total, page=page, action=action,
        actions=ACTIONS, pages=max(1, -(-total // AUDIT_PAGE_SIZE)),
    )


def routes() -> list[Route]:
    return [
        Route("/console/users", users_page, methods=["GET", "HEAD"], name="console_users"),
        Route("/console/users", create_user, methods=["POST"], name="console_user_create"),
        Route("/console/users/{user_id}", update_user, methods=["POST"], name="console_user_update"),
        Route("/console/audit", audit_page, methods=["GET", "HEAD"], name="console_audit"),
    ]
