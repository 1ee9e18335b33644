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

from bot.settings import (
    MODEL_SERVER_TOKEN_FILE,
    PROJECT_ROOT,
    RASA_TOKEN_FILE,
    Settings,
    ensure_var_dir,
    get_settings,
)


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
        MAX_MESSAGE_CHARS=str(settings.max_message_chars),
        MAX_REQUEST_BYTES=str(settings.max_request_bytes),
        RATE_LIMIT_PER_SENDER=str(settings.rate_limit_per_sender),
        RATE_LIMIT_PER_ADDRESS=str(settings.rate_limit_per_address),
        TRUSTED_PROXIES=settings.trusted_proxies,
        API_NETWORKS=settings.api_networks,
        REDIS_HOST=settings.redis_host,
        REDIS_PORT=str(settings.redis_port),
        REDIS_DB=str(settings.redis_db),
        REDIS_PASSWORD=settings.redis_password,
        PROFILE=settings.profile,
        RASA_API_URLS=settings.rasa_api_urls,
        MODEL_SERVER_URL=settings.model_server_url,
        MODEL_SERVER_TOKEN=settings.model_server_token,
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
    # Set on top of the stack's environment (a replica's own port, say).
    env: Dict[str, str] = field(default_factory=dict)

    def start(self, env: Dict[str, str]) -> None:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                self.command,
                cwd=PROJECT_ROOT,
                env={**env, **self.env},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, so stop() reaches its children
            )

    def is_healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.health_url, timeout=2) as response:
                return response.status < 500
        except urllib.error.HTTPError as error:
            return error.code < 500 and error.code != 409  # Rasa's 409: no model loaded yet
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

    # Groups started one after the other (each healthy before the next starts).
    stages: List[List[str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.settings.rasa_auth_token:
            # The console promotes models through Rasa's HTTP API (PUT /model), which is only ever
            # enabled behind a token: without one configured, create one, kept private in var/.
            self.settings = replace(self.settings, rasa_auth_token=_new_secret(RASA_TOKEN_FILE))
        self.model_path = self.model_path or self.settings.models_dir
        log_dir = ensure_var_dir() / "log"
        log_dir.mkdir(exist_ok=True)
        if self.settings.profile == "prod":
            from bot import prod

            if not self.settings.model_server_token:
                self.settings = replace(
                    self.settings, model_server_token=_new_secret(MODEL_SERVER_TOKEN_FILE))
            self.settings, self.services, self.stages = prod.services(self.settings, log_dir)
            return
        s = self.settings
        self.services["actions"] = Service(
            "actions", action_server_command(s.action_port),
            f"http://127.0.0.1:{s.action_port}/health", log_dir / "actions.log",
        )
        self.services["rasa"] = Service(
            "rasa", rasa_server_command(s, s.rasa_port, "endpoints.yml", self.model_path),
            f"http://127.0.0.1:{s.rasa_port}/", log_dir / "rasa.log"
        )
        self.services["web"] = Service(
            "web", web_command(s.web_port), f"http://127.0.0.1:{s.web_port}/healthz",
            log_dir / "web.log",
        )
        self.stages = [list(self.services)]

    @property
    def rasa_url(self) -> str:
        return f"http://localhost:{self.settings.rasa_port}"

    @property
    def web_url(self) -> str:
        return f"http://localhost:{self.settings.web_port}"

    def start(self, names: Optional[List[str]] = None, timeout: float = 180) -> None:
        env = service_env(self.settings)
        deadline = time.monotonic() + timeout
        for stage in ([names] if names else self.stages):
            selected = [self.services[n] for n in stage]
            for service in selected:
                service.start(env)
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

    def kill(self, name: str) -> None:
        """SIGKILL a service's processes (the fault tests): no clean shutdown at all."""
        process = self.services[name].process
        if process and process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

    # The widget's reconnect test stops and restarts only the Rasa server.
    def stop_rasa(self) -> None:
        self.stop(["rasa"])

    def start_rasa(self) -> None:
        self.start(["rasa"])


def _new_secret(path: Path) -> str:
    token = secrets.token_urlsafe(32)
    ensure_var_dir()
    path.touch(mode=0o600)
    path.write_text(token)
    return token


def action_server_command(port: int) -> List[str]:
    # rasa_sdk's server without TensorFlow (bot/action_server.py).
    return [sys.executable, "-m", "bot.action_server", "--actions", "actions", "--port", str(port)]


def rasa_server_command(s: Settings, port: int, endpoints: str, model: Path) -> List[str]:
    return [
        # Rasa's CLI with fixes applied first (bot/rasa_server.py).
        sys.executable, "-m", "bot.rasa_server", "run",
        "--model", str(model),
        "--port", str(port),
        "--credentials", "credentials.yml",
        "--endpoints", endpoints,
        "--cors", *s.cors_origins.split(),
        # The HTTP API (the console's PUT /model, /status) is only ever enabled behind a token,
        # and answers only internal addresses (bot/rasa_server.py).
        "--enable-api", "--auth-token", s.rasa_auth_token,
    ]


def web_command(port: int, behind_proxy: bool = False) -> List[str]:
    command = [sys.executable, "-m", "uvicorn", "bot.web.app:app", "--host", "127.0.0.1",
               "--port", str(port)]
    if behind_proxy:  # the visitor's address from nginx's X-Forwarded-For (login rate limits)
        command += ["--proxy-headers", "--forwarded-allow-ips", "127.0.0.1"]
    return command


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
    if s.profile == "prod":
        print(f"  profile:        prod: {len(s.api_urls())} Rasa replicas ({' '.join(s.api_urls())}) "
              f"behind nginx, PostgreSQL {s.db_url.rsplit('@', 1)[-1]}, "
              f"Redis {s.redis_host}:{s.redis_port}")
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
                if s.profile == "prod":
                    # The others keep answering meanwhile (nginx skips it): start it again.
                    print(f"restarting {service.name}", file=sys.stderr, flush=True)
                    service.start(service_env(s))
                    continue
                stopping.append(service.name)
                break
        time.sleep(0.5)
    print("\nStopping...", flush=True)
    stack.stop()
    print("Stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
