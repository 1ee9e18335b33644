"""Starts every service of the embedded profile and stops them cleanly on Ctrl-C.

`make run` calls `python -m bot.serve`; the end-to-end tests use `Stack` directly, so the
tests start the services exactly the way a clinic does.
"""
from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Dict, List, Optional

from bot.settings import PROJECT_ROOT, RASA_TOKEN_FILE, Settings, ensure_var_dir, get_settings


def service_env(settings: Settings) -> Dict[str, str]:
    """Environment for the child processes; endpoints.yml reads these."""
    env = dict(os.environ)
    env.update(
        DB_URL=settings.db_url,
        DB_DIALECT=settings.db_url.split(":", 1)[0].split("+", 1)[0],
        ACTION_ENDPOINT_URL=settings.action_endpoint_url,
        RASA_PORT=str(settings.rasa_port),
        ACTION_PORT=str(settings.action_port),
        WEB_PORT=str(settings.web_port),
        CORS_ORIGINS=settings.cors_origins,
        RASA_PUBLIC_URL=settings.rasa_public_url,
        RASA_AUTH_TOKEN=settings.rasa_auth_token,
        MODELS_DIR=str(settings.models_dir),
        TRAINING_ROOT=str(settings.training_root),
        TF_CPP_MIN_LOG_LEVEL="2",
        RASA_TELEMETRY_ENABLED="false",  # no calls home: this machine and clinics' may be offline
        PYTHONUNBUFFERED="1",
    )
    return env


@dataclass
class Service:
    name: str
    command: List[str]
    health_url: str
    log_path: Path
    process: Optional[subprocess.Popen] = None

    def start(self, env: Dict[str, str]) -> None:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.command,
                cwd=PROJECT_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, so stop() reaches its children
            )

    def is_healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.health_url, timeout=2) as response:
                return response.status < 500
        except (urllib.error.URLError, OSError):
            return False

    def stop(self, timeout: float = 15) -> None:
        if not self.process or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


@dataclass
class Stack:
    settings: Settings = field(default_factory=get_settings)
    # Default: the models directory of the settings (Rasa serves the newest model in it).
    model_path: Optional[Path] = None
    services: Dict[str, Service] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.settings.rasa_auth_token:
            # The console promotes models through Rasa's HTTP API (PUT /model), which is only ever
            # enabled behind a token: without one configured, create one, kept private in var/.
            token = secrets.token_urlsafe(32)
            ensure_var_dir()
            RASA_TOKEN_FILE.touch(mode=0o600)
            RASA_TOKEN_FILE.write_text(token)
            self.settings = replace(self.settings, rasa_auth_token=token)
        self.model_path = self.model_path or self.settings.models_dir
        log_dir = ensure_var_dir() / "log"
        log_dir.mkdir(exist_ok=True)
        s = self.settings
        python = sys.executable
        self.services["actions"] = Service(
            "actions",
            # rasa_sdk's server without TensorFlow (bot/action_server.py).
            [python, "-m", "bot.action_server", "--actions", "actions",
             "--port", str(s.action_port)],
            f"http://127.0.0.1:{s.action_port}/health",
            log_dir / "actions.log",
        )
        rasa = [
            # Rasa's CLI with a fix applied first (bot/rasa_server.py).
            python, "-m", "bot.rasa_server", "run",
            "--model", str(self.model_path),
            "--port", str(s.rasa_port),
            "--credentials", "credentials.yml",
            "--endpoints", "endpoints.yml",
            "--cors", *s.cors_origins.split(),
        ]
        # The HTTP API (the console's PUT /model) is only ever enabled behind a token.
        rasa += ["--enable-api", "--auth-token", s.rasa_auth_token]
        self.services["rasa"] = Service(
            "rasa", rasa, f"http://127.0.0.1:{s.rasa_port}/", log_dir / "rasa.log"
        )
        self.services["web"] = Service(
            "web",
            [python, "-m", "uvicorn", "bot.web.app:app", "--host", "127.0.0.1",
             "--port", str(s.web_port)],
            f"http://127.0.0.1:{s.web_port}/healthz",
            log_dir / "web.log",
        )

    @property
    def rasa_url(self) -> str:
        return f"http://localhost:{self.settings.rasa_port}"

    @property
    def web_url(self) -> str:
        return f"http://localhost:{self.settings.web_port}"

    def start(self, names: Optional[List[str]] = None, timeout: float = 180) -> None:
        env = service_env(self.settings)
        selected = [self.services[n] for n in (names or list(self.services))]
        for service in selected:
            service.start(env)
        deadline = time.monotonic() + timeout
        for service in selected:
            while not service.is_healthy():
                if service.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(
                        f"{service.name} did not start; last log lines:\n{service.log_tail()}"
                    )
                time.sleep(0.5)

    def stop(self, names: Optional[List[str]] = None) -> None:
        for name in reversed(names or list(self.services)):
            self.services[name].stop()

    # The widget's reconnect test stops and restarts only the Rasa server.
    def stop_rasa(self) -> None:
        self.stop(["rasa"])

    def start_rasa(self) -> None:
        self.start(["rasa"])


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Run the ketamine FAQ bot locally.")
    parser.add_argument("--model", help="model file or directory (default: MODELS_DIR, models/)")
    args = parser.parse_args(argv)
    stack = Stack(model_path=Path(args.model) if args.model else None)
    started = time.monotonic()
    print("Starting:", ", ".join(stack.services), flush=True)
    try:
        stack.start()
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 1
    s = stack.settings
    print(f"\nReady in {time.monotonic() - started:.1f}s.")
    print(f"  REST channel:   POST {stack.rasa_url}/webhooks/rest/webhook  "
          '{"sender": "me", "message": "hi"}')
    print(f"  socket.io:      {stack.rasa_url}/socket.io")
    print(f"  action server:  http://localhost:{s.action_port}/health")
    print(f"  demo page:      {stack.web_url}/  (the chat widget)")
    print(f"  logs:           {ensure_var_dir() / 'log'}/\nPress Ctrl-C to stop.", flush=True)

    stopping = []

    def request_stop(signum, frame):  # noqa: ARG001
        stopping.append(signum)

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    while not stopping:
        for service in stack.services.values():
            if service.process.poll() is not None:
                print(f"{service.name} exited; last log lines:\n{service.log_tail()}", file=sys.stderr)
                stopping.append(service.name)
                break
        time.sleep(0.5)
    print("\nStopping...", flush=True)
    stack.stop()
    print("Stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
