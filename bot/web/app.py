"""App factory for the web process: `uvicorn bot.web.app:app --port 8000`.

Routes live in small modules (pages, assets; the staff console of issue #5 adds its own) and
are assembled here, behind the security-headers middleware.
"""
from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware

from bot.settings import Settings
from bot.web.assets import asset_routes
from bot.web.config import web_config
from bot.web.pages import page_routes
from bot.web.security import SecurityHeadersMiddleware


def create_app(settings: Settings | None = None) -> Starlette:
    config = web_config(settings)
    routes = [*page_routes(config), *asset_routes()]
    return Starlette(
        routes=routes,
        middleware=[Middleware(SecurityHeadersMiddleware, config=config)],
    )


app = create_app()
