"""The one place configuration is read from the environment.

Read when a Settings is created (not at import), so tests and launchers can set the
environment first. Defaults are embedded so `make run` works on a fresh machine with no external server:
SQLite under `var/`, every service on localhost.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = PROJECT_ROOT / "var"


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


def _default_db_url() -> str:
    return f"sqlite:///{VAR_DIR / 'ketamine_faq.db'}"


@dataclass(frozen=True)
class Settings:
    # One URL for every table the project owns and for Rasa's SQL tracker store.
    # PostgreSQL in production: postgresql://user:password@host:5432/dbname
    db_url: str = field(default_factory=lambda: _env("DB_URL", _default_db_url()))
    rasa_port: int = field(default_factory=lambda: int(_env("RASA_PORT", "5005")))
    action_port: int = field(default_factory=lambda: int(_env("ACTION_PORT", "5055")))
    web_port: int = field(default_factory=lambda: int(_env("WEB_PORT", "8000")))
    action_endpoint_url: str = field(
        default_factory=lambda: _env(
            "ACTION_ENDPOINT_URL", f"http://127.0.0.1:{_env('ACTION_PORT', '5055')}/webhook"
        )
    )
    # Rasa's HTTP API is enabled only when a token is set; it is never open.
    rasa_auth_token: str = field(default_factory=lambda: _env("RASA_AUTH_TOKEN", ""))
    # Pages allowed to call the Rasa channels (space-separated origins).
    cors_origins: str = field(
        default_factory=lambda: _env("CORS_ORIGINS", "http://localhost:8000 http://127.0.0.1:8000")
    )
    # The Rasa server's address as a visitor's browser sees it (the widget connects there).
    rasa_public_url: str = field(
        default_factory=lambda: _env("RASA_PUBLIC_URL", f"http://localhost:{_env('RASA_PORT', '5005')}")
    )
    # Other sites allowed to frame the web app's pages (space-separated origins).
    frame_ancestors: str = field(default_factory=lambda: _env("FRAME_ANCESTORS", ""))

def get_settings() -> Settings:
    return Settings()


def ensure_var_dir() -> Path:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    return VAR_DIR
