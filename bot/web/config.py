"""What the web process needs from `bot.settings`, derived in one place.

`bot.settings.Settings` is the only place the environment is read.
"""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.settings import Settings, get_settings


@dataclass(frozen=True)
class WebConfig:
    # The Rasa server as the visitor's browser reaches it (socket.io and REST channels).
    rasa_public_url: str
    # Origins allowed to frame our pages (CSP frame-ancestors), besides our own.
    frame_ancestors: tuple[str, ...]

    @property
    def rasa_origin(self) -> str:
        parts = urlsplit(self.rasa_public_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def rasa_ws_origin(self) -> str:
        parts = urlsplit(self.rasa_public_url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        return f"{scheme}://{parts.netloc}"


def web_config(settings: Settings | None = None) -> WebConfig:
    settings = settings or get_settings()
    rasa_url = settings.rasa_public_url
    parts = urlsplit(rasa_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"rasa_public_url must be an http(s) URL, got {rasa_url!r}")
    ancestors = tuple(settings.frame_ancestors.split())
    return WebConfig(rasa_public_url=rasa_url.rstrip("/"), frame_ancestors=ancestors)
