"""Training and start-up timings, each in isolation (the load stacks are stopped by then).

- full training: `rasa train` as `make train` runs it, in a temporary copy of the project with
  its own, empty Rasa cache (a cold start, whatever the developer's .rasa/cache holds);
- retrain: the same copy after adding 20 new examples to existing intents, trained again on
  the cache the full training left (what `make train` does after a content edit; not
  `--finetune`, which bot/console/gate.py explains this project does not use);
- restart: `make run` with nothing changed, to the first answer over REST.
"""
from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence

from bot.bench import load
from bot.bench.bots import BenchPaths, bench_env, run_logged
from bot.bench.memory import alive, descendants, parent_map
from bot.serve import service_env
from bot.settings import PROJECT_ROOT, Settings

TRAIN_TIMEOUT_S = 30 * 60
RESTART_DEADLINE_S = 300
RESTART_PORTS = {"rasa": 35105, "actions": 35155, "web": 38100}

# 20 wordings that data/nlu.yml does not have yet (tests/bench checks that), over intents of
# both kinds, the way a content editor adds a few at a time.
NEW_EXAMPLES: Dict[str, List[str]] = {
    "faq/session_length": ["how long do i need to stay at the clinic for one infusion",
                           "is a session more than an hour",
                           "how long is one ketamine appointment from start to finish"],
    "faq/number_of_sessions": ["how many infusions are usually in the first series",
                               "do most people need more than one session",
                               "how many rounds of treatment will i have to do"],
    "faq/cost": ["what does a single ketamine session cost",
                 "is there a package price for the six infusions",
                 "roughly what would the whole course cost me"],
    "faq/side_effects": ["will i feel dizzy afterwards", "does ketamine make you nauseous",
                         "what side effects should i expect after an infusion"],
    "faq/how_fast": ["how soon after the first infusion will i notice a difference"],
    "check_contraindication": ["i have a heart murmur, can i still get ketamine",
                               "i'm on lithium, is ketamine safe for me",
                               "i had seizures as a kid, does that matter"],
    "thank": ["thanks a ton for the help", "really appreciate the answers"],
    "greet": ["hello, i have a couple of questions"],
    "goodbye": ["ok that's everything, bye"],
}


def add_examples(nlu_text: str, examples: Mapping[str, Sequence[str]]) -> str:
    """The NLU file with each intent's new examples first in its `examples: |` block."""
    lines = nlu_text.splitlines(keepends=True)
    for intent, texts in examples.items():
        try:
            at = lines.index(f"- intent: {intent}\n")
        except ValueError:
            raise KeyError(f"no intent {intent!r} in the NLU file") from None
        if not lines[at + 1].startswith("  examples: |"):
            raise KeyError(f"intent {intent!r} has no `examples: |` block right after it")
        lines[at + 2:at + 2] = [f"    - {text}\n" for text in texts]
    return "".join(lines)


def copy_project(target: Path) -> Path:
    """What `make train` reads: config.yml, domain.yml, data/ (custom components are imported
    from the project through PYTHONPATH)."""
    target.mkdir(parents=True)
    shutil.copytree(PROJECT_ROOT / "data", target / "data")
    for name in ("config.yml", "domain.yml"):
        shutil.copy2(PROJECT_ROOT / name, target / name)
    return target


def _train(project: Path, name: str, log: Path) -> float:
    env = bench_env(RASA_CACHE_DIRECTORY=str(project / ".rasa" / "cache"),
                    PYTHONPATH=os.pathsep.join(filter(None, [str(PROJECT_ROOT),
                                                             os.environ.get("PYTHONPATH")])))
    command = [sys.executable, "-m", "rasa", "train", "--out", str(project / "models"),
               "--fixed-model-name", name, "--num-threads", "2"]
    seconds = run_logged(command, project, env, log, TRAIN_TIMEOUT_S)
    # Rasa exits 0 without a model when it thinks nothing changed: that would time nothing.
    if not (project / "models" / f"{name}.tar.gz").is_file():
        raise RuntimeError(f"rasa train wrote no {name}.tar.gz; see {log}")
    return seconds


def time_training(paths: BenchPaths, repetitions: int) -> Dict[str, List[float]]:
    """{"full_s": [...], "retrain_s": [...]}, one pair per repetition, each in a fresh copy."""
    result: Dict[str, List[float]] = {"full_s": [], "retrain_s": []}
    for rep in range(repetitions):
        with tempfile.TemporaryDirectory(prefix="train-", dir=paths.root) as tmp:
            project = copy_project(Path(tmp) / "project")
            log = paths.logs / f"train-{rep + 1}.log"
            log.unlink(missing_ok=True)
            full = _train(project, "full", log)
            print(f"  training {rep + 1}/{repetitions}: full {full:.1f}s", flush=True)
            nlu = project / "data" / "nlu.yml"
            nlu.write_text(add_examples(nlu.read_text(encoding="utf-8"), NEW_EXAMPLES),
                           encoding="utf-8")
            retrain = _train(project, "retrain", log)
            print(f"  training {rep + 1}/{repetitions}: +20 examples {retrain:.1f}s", flush=True)
        result["full_s"].append(full)
        result["retrain_s"].append(retrain)
    return result


def make_run_would_only_start(env: Dict[str, str]) -> Optional[str]:
    """None if `make run` would only load the database and start the services (nothing to
    train or build); otherwise what else it would run."""
    dry = subprocess.run(["make", "--no-print-directory", "-n", "run"], cwd=PROJECT_ROOT,
                         env=env, capture_output=True, text=True, timeout=60)
    if dry.returncode != 0:
        return f"`make -n run` failed: {dry.stderr.strip()[-300:]}"
    other = [line for line in dry.stdout.splitlines() if line.strip()
             and "bot.serve" not in line and "bot.contraindications" not in line]
    return "; ".join(other)[:300] or None


def _stop_tree(process: subprocess.Popen, known: List[int]) -> None:
    """Ctrl-C for `make run` (bot.serve stops its services), then any leftover by pid."""
    try:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(60)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    for sig in (signal.SIGTERM, signal.SIGKILL):
        left = alive(pid for pid in known if pid != process.pid)
        if not left and process.poll() is not None:
            return
        for pid in left:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        if process.poll() is None:
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                pass
        time.sleep(5)
    process.wait(10)


def time_restart(paths: BenchPaths, db_url: str, token: str, repetitions: int) -> List[float]:
    """Seconds from starting `make run` (nothing changed) to its first answer over REST."""
    ports = RESTART_PORTS
    env = service_env(Settings(
        db_url=db_url, rasa_port=ports["rasa"], action_port=ports["actions"],
        web_port=ports["web"], action_endpoint_url=f"http://127.0.0.1:{ports['actions']}/webhook",
        rasa_auth_token=token, cors_origins=f"http://localhost:{ports['web']}",
        rasa_public_url=f"http://localhost:{ports['rasa']}",
    ))
    for name in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL"):  # a fresh `make run`, as typed, even
        env.pop(name, None)                           # when the bench itself runs under make
    reason = make_run_would_only_start(env)
    if reason:
        raise RuntimeError(f"`make run` would not start with nothing changed: {reason}")
    url = f"http://127.0.0.1:{ports['rasa']}"
    times: List[float] = []
    for rep in range(repetitions):
        log = paths.logs / f"make-run-{rep + 1}.log"
        with open(log, "wb") as out:
            started = time.monotonic()
            process = subprocess.Popen(["make", "--no-print-directory", "run"], cwd=PROJECT_ROOT,
                                       env=env, stdout=out, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        try:
            seconds = asyncio.run(load.first_answer(
                url, "how many sessions will I need?", f"bench/restart/{rep}", started,
                RESTART_DEADLINE_S))
        finally:
            # The services run in sessions of their own: remember them to stop them by pid.
            _stop_tree(process, descendants(process.pid, parent_map()))
        if seconds is None:
            raise RuntimeError(f"`make run` gave no answer in {RESTART_DEADLINE_S}s; see {log}")
        print(f"  make run {rep + 1}/{repetitions}: first answer after {seconds:.1f}s", flush=True)
        times.append(seconds)
    return times
