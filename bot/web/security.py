"""Security headers for every response of the web process (pure ASGI middleware).

HTML pages get a strict Content-Security-Policy unless the route set its own (the console of
issue #5 can send a stricter one). Every response gets nosniff and a referrer policy.
"""
from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.web.config import WebConfig


def page_csp(config: WebConfig) -> str:
    ancestors = " ".join(("'self'", *config.frame_ancestors))
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            # The widget talks to Rasa directly: socket.io (ws) and the REST fallback (http).
            f"connect-src 'self' {config.rasa_origin} {config.rasa_ws_origin}",
            "base-uri 'none'",
            "form-action 'self'",
            "object-src 'none'",
            f"frame-ancestors {ancestors}",
        ]
    )


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, config: WebConfig) -> None:
        self.app = app
        self.csp = page_csp(config)
        self.frame_option = "SAMEORIGIN" if not config.frame_ancestors else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
                headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
                if headers.get("content-type", "").startswith("text/html"):
                    headers.setdefault("Content-Security-Policy", self.csp)
                    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
                    if self.frame_option:
                        headers.setdefault("X-Frame-Options", self.frame_option)
            await send(message)

        await self.app(scope, receive, send_with_headers)
