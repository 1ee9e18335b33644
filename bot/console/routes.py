"""Every console route, assembled in one list. The guard in `bot.console.guard` covers them all."""
from __future__ import annotations

from starlette.routing import BaseRoute

from bot.console.views import admin, auth, conversations, dashboard, teach, training


def console_routes() -> list[BaseRoute]:
    return [
        *auth.routes(),
        *dashboard.routes(),
        *conversations.routes(),
        *teach.routes(),
        *training.routes(),
        *admin.routes(),
    ]
