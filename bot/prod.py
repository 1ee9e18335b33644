"""The production profile on one machine: `make run PROFILE=prod` (bot.serve with PROFILE=prod).

What Rasa runs at scale, with no clustering of our own: several Rasa replicas sharing a
PostgreSQL tracker store and a Redis lock store (deploy/prod/endpoints.yml), stateless action
servers, the web app (which is also the replicas' model server), and nginx in front
(deploy/prod/nginx.conf). Ports, from the settings (defaults in brackets):

    nginx        RASA_PORT [5005] public channels, WEB_PORT [8000] public web,
                 ACTION_PORT [5055] on loopback for the replicas
    rasa-N       RASA_PORT + 10 + N   [5015, 5016, ...]   the HTTP API lives here, behind the token
    actions-N    ACTION_PORT + 10 + N [5065, 5066, ...]
    web          WEB_PORT + 10        [8010]

Kubernetes runs the same with Rasa's Helm chart: deploy/helm/.
"""
from __future__ import annotations

import re
import shutil
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Dict, List, Tuple

from bot.settings import PROJECT_ROOT, Settings, ensure_var_dir

if TYPE_CHECKING:
    from bot.serve import Service

ENDPOINTS = "deploy/prod/endpoints.yml"
NGINX_TEMPLATE = PROJECT_ROOT / "deploy" / "prod" / "nginx.conf"
DEFAULT_DB_URL = "postgresql://postgres@127.0.0.1:5432/ketamine_faq"


def rasa_ports(s: Settings) -> List[int]:
    return [s.rasa_port + 10 + i for i in range(s.rasa_replicas)]


def action_ports(s: Settings) -> List[int]:
    return [s.action_port + 10 + i for i in range(s.action_replicas)]


def web_internal_port(s: Settings) -> int:
    return s.web_port + 10


def production_settings(s: Settings) -> Settings:
    """The settings every process of the profile shares, filled in where the environment is
    silent: PostgreSQL and Redis on this machine, the replicas behind nginx."""
    if s.db_url.startswith("sqlite"):
        s = replace(s, db_url=DEFAULT_DB_URL)
    return replace(
        s,
        redis_host=s.redis_host or "127.0.0.1",
        action_endpoint_url=f"http://127.0.0.1:{s.action_port}/webhook",
        trusted_proxies=s.trusted_proxies or "127.0.0.1/32 ::1/128",
        rasa_api_urls=" ".join(f"http://127.0.0.1:{p}" for p in rasa_ports(s)),
        model_server_url=f"http://127.0.0.1:{web_internal_port(s)}/internal/models/live",
    )


def render_nginx_conf(s: Settings, run_dir: Path, log_dir: Path, upstreams: Settings = None) -> Path:
    """nginx's configuration for listening on `s`'s ports, in front of the replicas that
    `upstreams` (default: `s`) describes."""
    upstreams = upstreams or s

    def servers(ports: List[int]) -> str:
        # Never marked down: on loopback a dead server refuses at once and nginx tries the next,
        # and one that is back is used at once (max_fails=1 kept a restarted one out for 10 s).
        return "\n".join(f"    server 127.0.0.1:{p} max_fails=0;" for p in ports)

    per_minute = s.rate_limit_per_address or 1_000_000
    values = dict(
        RUN_DIR=run_dir, LOG_DIR=log_dir,
        RASA_PORT=s.rasa_port, WEB_PORT=s.web_port, ACTION_PORT=s.action_port,
        WEB_INTERNAL_PORT=web_internal_port(upstreams),
        RASA_SERVERS=servers(rasa_ports(upstreams)), ACTION_SERVERS=servers(action_ports(upstreams)),
        MAX_REQUEST_BYTES=s.max_request_bytes,
        RATE_PER_ADDRESS=per_minute, BURST_PER_ADDRESS=max(10, per_minute // 6),
    )
    # ${NAME} only: nginx's own $variables stay as they are.
    text = re.sub(r"\$\{([A-Z_]+)\}", lambda m: str(values[m.group(1)]), NGINX_TEMPLATE.read_text())
    for temp in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (run_dir / temp).mkdir(parents=True, exist_ok=True)
        (run_dir / temp).chmod(0o1777)  # nginx's workers may not run as this user
    path = run_dir / "nginx.conf"
    path.write_text(text)
    return path


def nginx_command(conf: Path, run_dir: Path, log_dir: Path) -> List[str]:
    return [nginx_binary(), "-p", str(run_dir), "-c", str(conf), "-e", str(log_dir / "nginx-error.log"),
            "-g", "daemon off;"]


def nginx_binary() -> str:
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None)
    if not found:
        raise RuntimeError("nginx is not installed: `make run PROFILE=prod` installs Debian's nginx")
    return found


def services(settings: Settings, log_dir: Path) -> Tuple[Settings, Dict[str, "Service"], List[List[str]]]:
    """(settings, services, start stages) of the production profile."""
    from bot.serve import Service, action_server_command, rasa_server_command, web_command  # noqa: F811

    s = production_settings(settings)
    run_dir = ensure_var_dir() / "prod" / f"nginx-{s.rasa_port}"
    run_dir.mkdir(parents=True, exist_ok=True)
    found: Dict[str, Service] = {}
    # A conversation's lock outlives a replica killed while holding it by this long (Rasa's
    # default is 60 s): more than an answer can take (the action call times out at 20 s).
    replica_env = {"TICKET_LOCK_LIFETIME": "30"}
    found["web"] = Service("web", web_command(web_internal_port(s), behind_proxy=True),
                           f"http://127.0.0.1:{web_internal_port(s)}/healthz", log_dir / "web.log")
    for n, port in enumerate(action_ports(s), 1):
        found[f"actions-{n}"] = Service(
            f"actions-{n}", action_server_command(port), f"http://127.0.0.1:{port}/health",
            log_dir / f"actions-{n}.log")
    for n, port in enumerate(rasa_ports(s), 1):
        # Healthy once it has pulled a model from the web app (Rasa's /status is 409 before).
        found[f"rasa-{n}"] = Service(
            f"rasa-{n}", rasa_server_command(s, port, ENDPOINTS, s.models_dir),
            f"http://127.0.0.1:{port}/status?token={s.rasa_auth_token}", log_dir / f"rasa-{n}.log",
            env=replica_env)
    conf = render_nginx_conf(s, run_dir, log_dir)
    found["nginx"] = Service("nginx", nginx_command(conf, run_dir, log_dir),
                             f"http://127.0.0.1:{s.rasa_port}/", log_dir / "nginx.log")
    actions = [n for n in found if n.startswith("actions-")]
    replicas = [n for n in found if n.startswith("rasa-")]
    # The model server first (the replicas load their model from it), nginx last.
    return s, found, [["web", *actions], replicas, ["nginx"]]
