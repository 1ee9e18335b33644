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


RASA_TOKEN_FILE = VAR_DIR / "rasa_auth_token"
MODEL_SERVER_TOKEN_FILE = VAR_DIR / "model_server_token"


def _read_secret(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


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
    # Without RASA_AUTH_TOKEN, `make run` creates one in var/ (mode 0600) that `make retrain` in
    # another shell reads too, so both can reach PUT /model.
    rasa_auth_token: str = field(
        default_factory=lambda: _env("RASA_AUTH_TOKEN", "") or _read_secret(RASA_TOKEN_FILE)
    )
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

    # Staff console (issue #5). The session key signs login cookies: set it in production (every
    # web process needs the same one); without it a random key is kept under var/.
    console_secret_key: str = field(default_factory=lambda: _env("CONSOLE_SECRET_KEY", ""))
    # The first admin account, created at start-up when no admin exists yet. No default password.
    console_admin_user: str = field(default_factory=lambda: _env("CONSOLE_ADMIN_USER", ""))
    console_admin_password: str = field(default_factory=lambda: _env("CONSOLE_ADMIN_PASSWORD", ""))
    # Send the session cookie over HTTPS only (set to 1 behind TLS in production).
    console_secure_cookies: bool = field(
        default_factory=lambda: _env("CONSOLE_SECURE_COOKIES", "0") in ("1", "true", "yes")
    )
    # Where models live (Rasa serves the newest one) and the project whose data/, domain.yml and
    # config.yml the console retrains from and writes corrections into. Tests point both at copies.
    models_dir: Path = field(default_factory=lambda: Path(_env("MODELS_DIR", str(PROJECT_ROOT / "models"))))
    training_root: Path = field(default_factory=lambda: Path(_env("TRAINING_ROOT", str(PROJECT_ROOT))))
    # Conversations older than this many days are deleted by `make retention` and the console
    # (0 keeps them forever).
    retention_days: int = field(default_factory=lambda: int(_env("RETENTION_DAYS", "180")))

    # --- Visitor input and the Rasa server (bot/channels/inbound.py, bot/rasa_server.py) ---
    # Longest visitor message the model reads; longer ones get utter_message_too_long.
    max_message_chars: int = field(default_factory=lambda: int(_env("MAX_MESSAGE_CHARS", "2000")))
    # Largest request body the Rasa server accepts (REST JSON, socket.io packets): 413 above.
    max_request_bytes: int = field(default_factory=lambda: int(_env("MAX_REQUEST_BYTES", "65536")))
    # Messages per minute per sender id and per visitor address (0: no limit). A clinic's
    # waiting room may share one address, hence the higher second figure.
    rate_limit_per_sender: int = field(default_factory=lambda: int(_env("RATE_LIMIT_PER_SENDER", "30")))
    rate_limit_per_address: int = field(
        default_factory=lambda: int(_env("RATE_LIMIT_PER_ADDRESS", "300")))
    # Peers whose X-Real-IP header is believed (nginx in the production profile).
    trusted_proxies: str = field(default_factory=lambda: _env("TRUSTED_PROXIES", ""))
    # Addresses that may reach Rasa's HTTP API (/model, /status, ...), with the token. The
    # public side (nginx) never forwards the API, whatever the address.
    api_networks: str = field(default_factory=lambda: _env("API_NETWORKS", "127.0.0.0/8 ::1/128"))
    # Redis for the production profile's lock store and shared rate limits ("" = embedded).
    redis_host: str = field(default_factory=lambda: _env("REDIS_HOST", ""))
    redis_port: int = field(default_factory=lambda: int(_env("REDIS_PORT", "6379")))
    redis_db: int = field(default_factory=lambda: int(_env("REDIS_DB", "0")))
    redis_password: str = field(default_factory=lambda: _env("REDIS_PASSWORD", ""))

    # --- Production profile (`make run PROFILE=prod`, bot/prod.py) ---
    profile: str = field(default_factory=lambda: _env("PROFILE", "embedded"))
    rasa_replicas: int = field(default_factory=lambda: int(_env("RASA_REPLICAS", "2")))
    action_replicas: int = field(default_factory=lambda: int(_env("ACTION_REPLICAS", "2")))
    # The Rasa servers whose HTTP API the console calls (/status; PUT /model without a model
    # server), space-separated. Default: the one on RASA_PORT.
    rasa_api_urls: str = field(default_factory=lambda: _env("RASA_API_URLS", ""))
    # Where every Rasa replica pulls the live model from (the web app's /internal/models/live).
    # Empty in the embedded profile: the console swaps the one server's model with PUT /model.
    model_server_url: str = field(default_factory=lambda: _env("MODEL_SERVER_URL", ""))
    model_server_token: str = field(
        default_factory=lambda: _env("MODEL_SERVER_TOKEN", "") or _read_secret(MODEL_SERVER_TOKEN_FILE)
    )

    def api_urls(self) -> list:
        return self.rasa_api_urls.split() or [f"http://127.0.0.1:{self.rasa_port}"]


def get_settings() -> Settings:
    return Settings()


def ensure_var_dir() -> Path:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    return VAR_DIR
