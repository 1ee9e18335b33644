"""The widget script and the demo site's static files."""
from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
WIDGET = STATIC / "widget.js"


async def widget_js(request: Request) -> Response:
    if not WIDGET.is_file():
        return PlainTextResponse("widget.js is not built: run `make widget`.", status_code=503)
    return FileResponse(
        WIDGET,
        media_type="text/javascript; charset=utf-8",
        headers={
            # Clinics embed it from their own sites: allow cross-origin use, revalidate every load.
            "Cache-Control": "no-cache",
            "Cross-Origin-Resource-Policy": "cross-origin",
            "Access-Control-Allow-Origin": "*",
        },
    )


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok")


def asset_routes() -> list[Route | Mount]:
    return [
        Route("/widget.js", widget_js, methods=["GET", "HEAD"], name="widget_js"),
        Route("/healthz", healthz, methods=["GET", "HEAD"], name="healthz"),
        Mount("/static", app=StaticFiles(directory=STATIC, check_dir=False), name="static"),
    ]
