"""The live model, for Rasa's model-server pulling: `models:` in deploy/prod/endpoints.yml.

Every Rasa replica asks `GET /internal/models/live?token=...` every few seconds with the ETag of
the model it has (If-None-Match). The answer is 304 until the console promotes or rolls back a
model (which makes another file the newest in MODELS_DIR, bot/console/registry.py); then every
replica downloads and loads it, not only one that received `PUT /model`. The `filename` header
is the file's name, which Rasa reports as `model_file` in /status, so the console can tell when
every replica serves it.

Internal only: the token is required, and nginx never forwards /internal/ from the public side.
"""
from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from bot.settings import get_settings


def _etag(path) -> str:
    stat = path.stat()
    return f'"{path.name}-{stat.st_mtime_ns}-{stat.st_size}"'


async def live_model(request: Request) -> Response:
    from bot.console.registry import live_model as newest_model

    settings = get_settings()
    token = request.query_params.get("token", "")
    if not settings.model_server_token or not hmac.compare_digest(
        token.encode(), settings.model_server_token.encode()
    ):
        return JSONResponse({"error": "not found"}, status_code=404)
    path = newest_model(settings.models_dir)
    if path is None:
        return JSONResponse({"error": "no model has been trained"}, status_code=404)
    etag = _etag(path)
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers={"ETag": etag})
    return FileResponse(path, media_type="application/gzip",
                        headers={"ETag": etag, "filename": path.name, "Cache-Control": "no-store"})


def model_server_routes() -> list[Route]:
    return [Route("/internal/models/live", live_model, methods=["GET"], name="live_model")]
