"""The two bots under test, started side by side on their own ports and SQLite files.

- ours: the real stack, started by bot.serve.Stack exactly as `make run` does (action server,
  Rasa with the newest model of models/, the web app), on a fresh database under var/bench/;
- rasa-init: Rasa's starter bot from bench/rasa-init/, trained into var/bench/rasa-init/ when
  its model is missing or its files changed, served by `rasa run` with the same tracker store.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List

from bot.serve import Service, Stack
from bot.settings import PROJECT_ROOT, VAR_DIR, Settings

INIT_PROJECT = PROJECT_ROOT / "bench" / "rasa-init"
TRAIN_TIMEOUT_S = 30 * 60
START_TIMEOUT_S = 300
OURS_PORTS = {"rasa": 35005, "actions": 35055, "web": 38000}
INIT_PORT = 36005


@dataclass(frozen=True)
class BenchPaths:
    root: Path = VAR_DIR / "bench"

    @property
    def logs(self) -> Path:
        return self.root / "log"

    @property
    def init_work(self) -> Path:
        return self.root / "rasa-init"

    def db(self, name: str) -> Path:
        return self.root / f"{name}.db"

    def create(self) -> "BenchPaths":
        self.logs.mkdir(parents=True, exist_ok=True)
        self.init_work.mkdir(parents=True, exist_ok=True)
        return self


def bench_env(**values: str) -> Dict[str, str]:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", RASA_TELEMETRY_ENABLED="false",
               PYTHONUNBUFFERED="1")
    env.update(values)
    return env


def fresh_sqlite(path: Path) -> str:
    """A new, empty database file (a run never continues the last run's conversations)."""
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"


def run_logged(command: List[str], cwd: Path, env: Dict[str, str], log: Path,
               timeout_s: float) -> float:
    """Runs a command to completion, output to `log`; returns its wall time in seconds."""
    label = " ".join(command[1:4])
    started = time.monotonic()
    with open(log, "ab") as out:
        # Its own process group, so a timeout also ends the workers it started.
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        try:
            code = process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise RuntimeError(f"{label} took over {timeout_s:.0f}s; see {log}") from None
    if code != 0:
        raise RuntimeError(f"{label} failed (exit {code}); see {log}")
    return time.monotonic() - started


def _init_inputs_hash() -> str:
    files = [INIT_PROJECT / n for n in ("config.yml", "domain.yml")]
    files += sorted((INIT_PROJECT / "data").glob("*.yml"))
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def init_model(paths: BenchPaths) -> Path:
    """The starter bot's model, trained from its own files unless already current."""
    models = paths.init_work / "models"
    model, stamp = models / "rasa-init.tar.gz", models / "inputs.sha256"
    wanted = _init_inputs_hash()
    if model.is_file() and stamp.is_file() and stamp.read_text().strip() == wanted:
        return model
    models.mkdir(parents=True, exist_ok=True)
    print("Training the rasa-init bot (once; kept in var/bench/rasa-init/)...", flush=True)
    # From a copy: with the starter's empty pipeline Rasa writes its chosen defaults back into
    # config.yml, and its cache (.rasa/ of the working directory) would land next to it.
    project = paths.init_work / "project"
    shutil.rmtree(project, ignore_errors=True)
    shutil.copytree(INIT_PROJECT / "data", project / "data")
    for name in ("config.yml", "domain.yml"):
        shutil.copy2(INIT_PROJECT / name, project / name)
    command = [sys.executable, "-m", "rasa", "train", "--out", str(models),
               "--fixed-model-name", "rasa-init", "--num-threads", "2"]
    env = bench_env(RASA_CACHE_DIRECTORY=str(paths.init_work / ".rasa" / "cache"))
    run_logged(command, project, env, paths.logs / "rasa-init-train.log", TRAIN_TIMEOUT_S)
    stamp.write_text(wanted)
    return model


def load_database(db_url: str, log: Path) -> None:
    """Migrates the database and loads data/contraindications.yml, as `make db` does."""
    run_logged([sys.executable, "-m", "bot.contraindications", "--url", db_url, "load"],
               PROJECT_ROOT, bench_env(), log, 300)


class OursBot:
    name = "ours"

    def __init__(self, paths: BenchPaths, token: str,
                 ports: Dict[str, int] = OURS_PORTS) -> None:
        self.paths = paths
        self.db_path = paths.db("ours")
        db_url = f"sqlite:///{self.db_path}"
        self.stack = Stack(settings=Settings(
            db_url=db_url,
            rasa_port=ports["rasa"], action_port=ports["actions"], web_port=ports["web"],
            action_endpoint_url=f"http://127.0.0.1:{ports['actions']}/webhook",
            rasa_auth_token=token,  # given, so Stack does not replace make run's token file
            cors_origins=f"http://localhost:{ports['web']}",
            rasa_public_url=f"http://localhost:{ports['rasa']}",
            # One load generator is one address and sends 100 turns a minute per visitor.
            rate_limit_per_sender=0, rate_limit_per_address=0,
        ))
        for service in self.stack.services.values():  # not into make run's var/log/
            service.log_path = paths.logs / f"ours-{service.name}.log"
        self.url = f"http://127.0.0.1:{ports['rasa']}"

    def start(self) -> None:
        load_database(fresh_sqlite(self.db_path), self.paths.logs / "ours-db.log")
        self.stack.start(timeout=START_TIMEOUT_S)

    def stop(self) -> None:
        self.stack.stop()

    def pids(self) -> Dict[str, int]:
        return {name: s.process.pid for name, s in self.stack.services.items() if s.process}


class InitBot:
    name = "rasa_init"

    def __init__(self, paths: BenchPaths, model: Path, token: str, port: int = INIT_PORT) -> None:
        self.db_path = paths.db("rasa-init")
        self.env = bench_env(DB_URL=f"sqlite:///{self.db_path}", DB_DIALECT="sqlite")
        # The same server flags as ours (bot/serve.py), so neither pays for an extra feature.
        command = [sys.executable, "-m", "rasa", "run", "--model", str(model),
                   "--port", str(port),
                   "--credentials", str(INIT_PROJECT / "credentials.yml"),
                   "--endpoints", str(INIT_PROJECT / "endpoints.yml"),
                   "--enable-api", "--auth-token", token]
        self.service = Service("rasa", command, f"http://127.0.0.1:{port}/",
                               paths.logs / "rasa-init-rasa.log")
        self.url = f"http://127.0.0.1:{port}"

    def start(self) -> None:
        fresh_sqlite(self.db_path)
        self.service.start(self.env)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self.service.is_healthy():
            if self.service.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"rasa-init did not start; last log lines:\n"
                                   f"{self.service.log_tail()}")
            time.sleep(0.5)

    def stop(self) -> None:
        self.service.stop()

    def pids(self) -> Dict[str, int]:
        return {"rasa": self.service.process.pid} if self.service.process else {}
