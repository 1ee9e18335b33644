"""App factory for the web process: `uvicorn bot.web.app:app --port 8000`.

Routes live in small modules (pages, assets, and the staff console in `bot.console`) and are
assembled here, behind the security-headers middleware; everything under /console also goes
through the console's session and login guard.
"""
from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware

from bot.console.guard import SESSION_COOKIE, SESSION_MAX_AGE_S, ConsoleGuard, session_secret
from bot.console.routes import console_routes
from bot.console.startup import console_startup
from bot.settings import Settings, get_settings
from bot.web.assets import asset_routes
from bot.web.config import web_config
from bot.web.model_server import model_server_routes
from bot.web.pages import page_routes
from bot.web.security import SecurityHeadersMiddleware


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()
    config = web_config(settings)
    routes = [*page_routes(config), *asset_routes(), *model_server_routes(), *console_routes()]
    return Starlette(
        routes=routes,
        middleware=[
            Middleware(SecurityHeadersMiddleware, config=config),
            # Staff sessions: signed, HttpOnly, SameSite=Strict, scoped to /console.
            Middleware(
                SessionMiddleware,
                secret_key=session_secret(settings.console_secret_key),
                session_cookie=SESSION_COOKIE,
                max_age=SESSION_MAX_AGE_S,
                path="/console",
                same_site="strict",
                https_only=settings.console_secure_cookies,
            ),
            Middleware(ConsoleGuard),
        ],
        on_startup=[lambda: console_startup(settings)],
    )


app = create_app()
