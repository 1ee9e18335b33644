"""Which model is live, and making another one live (promotion, rollback) without a restart.

The live model is whatever Rasa serves: `rasa run --model models/` loads the newest `*.tar.gz`
in the models directory by modification time (`rasa.model.get_latest_model`). So promotion and
rollback work by making the chosen file the newest one there, and then ask the running server
to load that same file (`PUT /model`), which swaps the model without dropping conversations
(they live in the tracker store). A restart of `make run` therefore serves the same model.

Previous models stay in the directory (one-click rollback); older ones are pruned, never the
live one. Candidates are trained into `models/candidates/`, which Rasa does not look at.
"""
from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, List, Optional, Union
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.console.audit import audit
from bot.console.models import Deployment, TrainingRun
from bot.settings import Settings, get_settings

# Models of this many recent deployments (and this many most recently live files) are kept.
KEEP = 10
CANDIDATES = "candidates"
# Loading a model into the running server takes a while (TensorFlow graphs): be patient.
SWAP_TIMEOUT_S = 300


class RegistryError(Exception):
    """A promotion or rollback that could not be done; nothing was changed."""


class SwapUnanswered(RegistryError):
    """The running server did not answer the swap in time: it may still load the model."""


@dataclass(frozen=True)
class Outcome:
    deployment_id: int
    model: Path
    # True when the running bot now serves the model; False when it was not running.
    swapped: bool
    message: str


def models_dir(settings: Optional[Settings] = None) -> Path:
    return (settings or get_settings()).models_dir.resolve()


def candidates_dir(directory: Optional[Path] = None) -> Path:
    return (directory or models_dir()) / CANDIDATES


def live_model(directory: Optional[Path] = None) -> Optional[Path]:
    """The model Rasa serves from `directory` (Rasa's own rule: the newest `*.tar.gz`)."""
    from rasa.model import get_latest_model

    directory = directory or models_dir()
    if not directory.is_dir():
        return None
    latest = get_latest_model(str(directory))
    return Path(latest) if latest else None


def model_files(directory: Optional[Path] = None) -> List[Path]:
    """Every model in `directory`, the live one first, then the ones live before it."""
    directory = directory or models_dir()
    return sorted(directory.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime, reverse=True)


def previous_model(directory: Optional[Path] = None) -> Optional[Path]:
    """The model that was live before the live one (every deployment refreshes its file's time)."""
    files = model_files(directory)
    return files[1] if len(files) > 1 else None


def _make_newest(path: Path, directory: Path) -> Callable[[], None]:
    """Give `path` a modification time later than every model in `directory`; returns an undo."""
    before = path.stat()
    others = [p.stat().st_mtime for p in directory.glob("*.tar.gz") if p.resolve() != path.resolve()]
    # Strictly newer even when the clock is behind a file's time (copied in, or same instant).
    mtime = max([time.time(), *[m + 1 for m in others]])
    os.utime(path, (mtime, mtime))
    return lambda: os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def _rasa_url(settings: Settings) -> str:
    return settings.api_urls()[0]


def _rasa_is_up(settings: Settings, url: Optional[str] = None) -> bool:
    try:
        with urllib.request.urlopen((url or _rasa_url(settings)) + "/", timeout=3) as response:
            return response.status < 500
    except (urllib.error.URLError, OSError):
        return False


def _served_model(url: str, settings: Settings) -> Optional[str]:
    try:
        with urllib.request.urlopen(
            f"{url}/status?token={quote(settings.rasa_auth_token)}", timeout=3
        ) as response:
            return Path(json.loads(response.read()).get("model_file") or "").name or None
    except (urllib.error.URLError, OSError, ValueError):
        return None


def _wait_for_replicas(path: Path, settings: Settings, poll_s: float = 1.0) -> bool:
    """With a model server, every replica pulls the newest model itself: wait until each
    running one serves `path`. False when none is running."""
    running = [url for url in settings.api_urls() if _rasa_is_up(settings, url)]
    if not running:
        return False
    deadline = time.monotonic() + SWAP_TIMEOUT_S
    waiting = list(running)
    while waiting and time.monotonic() < deadline:
        waiting = [url for url in waiting if _served_model(url, settings) != path.name]
        if waiting:
            time.sleep(poll_s)
    if waiting:
        raise SwapUnanswered(
            f"{len(waiting)} of {len(running)} bot replicas did not load {path.name} in "
            f"{SWAP_TIMEOUT_S} s: {' '.join(waiting)}")
    return True


def swap_running_model(path: Path, settings: Optional[Settings] = None) -> bool:
    """Make the running Rasa server(s) serve `path`. False when no server is running.

    Without a model server: `PUT /model` on the one server. With one (the production profile),
    every replica pulls the newest model on its own; this waits until all of them serve it.
    Raises RegistryError when a running server refuses or cannot load the model.
    """
    settings = settings or get_settings()
    if settings.model_server_url:
        return _wait_for_replicas(path, settings)
    if not _rasa_is_up(settings):
        return False
    if not settings.rasa_auth_token:
        raise RegistryError(
            "The bot is running but this process does not know its API token (RASA_AUTH_TOKEN), "
            "so it cannot switch the model. Retrain from the console, or set RASA_AUTH_TOKEN to "
            "the same value for `make run` and `make retrain`."
        )
    request = urllib.request.Request(
        f"{_rasa_url(settings)}/model?token={quote(settings.rasa_auth_token)}",
        data=json.dumps({"model_file": str(path.resolve())}).encode(),
        headers={"Content-Type": "application/json"},
        method="PUT",
    )
    try:
        with urllib.request.urlopen(request, timeout=SWAP_TIMEOUT_S):
            return True
    except urllib.error.HTTPError as error:
        if error.code in (401, 403):
            raise RegistryError(
                "The running bot refused the model switch: its API token (RASA_AUTH_TOKEN) is "
                "not the one this process has."
            ) from error
        detail = error.read().decode("utf-8", "replace")[:500]
        raise RegistryError(f"The running bot could not load the model ({error.code}): {detail}") \
            from error
    except (urllib.error.URLError, OSError) as error:
        raise SwapUnanswered(f"The running bot did not answer the model switch: {error}") \
            from error


def running_model_name(settings: Optional[Settings] = None) -> Optional[str]:
    """The file name of the model the running server has loaded (None if unknown or not running)."""
    settings = settings or get_settings()
    if not settings.rasa_auth_token:
        return None
    return _served_model(_rasa_url(settings), settings)


def _go_live(
    session: Session, path: Path, undo: Callable[[], None], previous: Optional[Path],
    deployment: Deployment, settings: Settings,
) -> bool:
    """Record the deployment, then swap the running server; on any failure undo the files."""
    session.add(deployment)
    try:
        session.flush()
    except BaseException:
        undo()
        raise
    try:
        return swap_running_model(path, settings)
    except BaseException as error:
        undo()
        if isinstance(error, SwapUnanswered) and previous is not None:
            try:  # the server may still load the new model after a time-out: put the old one back
                swap_running_model(previous, settings)
            except RegistryError:
                pass
        raise


def _message(swapped: bool, path: Path) -> str:
    if swapped:
        return f"The bot now answers with {path.name}."
    return (f"{path.name} is now the live model. The bot is not running: it will use it the next "
            "time it starts (make run).")


def promote(
    session: Session, run: TrainingRun, user: str, settings: Optional[Settings] = None
) -> Outcome:
    """Make `run`'s candidate the live model, swap it into the running bot, record and audit it."""
    settings = settings or get_settings()
    directory = models_dir(settings)
    candidate = Path(run.model_path or "")
    if not candidate.is_file():
        raise RegistryError(f"The candidate model {candidate.name or '(none)'} is missing.")
    directory.mkdir(parents=True, exist_ok=True)
    previous = live_model(directory)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    target = directory / f"{stamp}-run{run.id}.tar.gz"
    _make_newest(candidate, directory)
    # Same file system, so the model appears in models/ whole and at once (Rasa never sees a
    # half-written file).
    os.replace(candidate, target)

    def undo() -> None:
        os.replace(target, candidate)

    deployment = Deployment(model_path=str(target), training_run_id=run.id, kind="promote",
                            deployed_by=user)
    swapped = _go_live(session, target, undo, previous, deployment, settings)
    run.model_path = str(target)
    audit(session, user, "promote", f"run {run.id}", model=target.name, swapped=swapped,
          previous=previous.name if previous else None)
    prune(session, directory)
    return Outcome(deployment.id, target, swapped, _message(swapped, target))


def rollback(
    session: Session, to: Union[int, str], user: str, settings: Optional[Settings] = None
) -> Outcome:
    """Make an earlier model live again: `to` is a deployment id, or "previous" for the model
    that was live before the current one."""
    settings = settings or get_settings()
    directory = models_dir(settings)
    live = live_model(directory)
    if to == "previous":
        target = previous_model(directory)
        if target is None:
            raise RegistryError("There is no earlier model to go back to.")
        run_id = None
    else:
        chosen = session.get(Deployment, int(to))
        if chosen is None:
            raise RegistryError("No such deployment.")
        target, run_id = Path(chosen.model_path), chosen.training_run_id
    if not target.is_file():
        raise RegistryError(f"The model {target.name} is no longer on disk (older models are pruned).")
    if live is not None and target.resolve() == live.resolve():
        raise RegistryError(f"{target.name} is already the live model.")
    undo = _make_newest(target, directory)
    deployment = Deployment(model_path=str(target), training_run_id=run_id, kind="rollback",
                            deployed_by=user)
    swapped = _go_live(session, target, undo, live, deployment, settings)
    audit(session, user, "rollback", target.name, swapped=swapped,
          previous=live.name if live else None)
    return Outcome(deployment.id, target, swapped, _message(swapped, target))


def prune(session: Session, directory: Optional[Path] = None, keep: int = KEEP) -> List[Path]:
    """Delete models beyond the last `keep` deployments and the `keep` most recently live files.

    The live model is always the most recently live file, so it is never deleted.
    """
    directory = directory or models_dir()
    files = model_files(directory)
    kept = {p.resolve() for p in files[:keep]}
    recent = session.scalars(
        select(Deployment.model_path).order_by(Deployment.id.desc()).limit(keep)
    )
    kept |= {Path(p).resolve() for p in recent}
    removed = [p for p in files if p.resolve() not in kept]
    for path in removed:
        path.unlink(missing_ok=True)
    candidates = candidates_dir(directory)
    if candidates.is_dir():  # refused candidates are kept a while for inspection
        old = sorted(candidates.glob("*.tar.gz"), key=lambda p: p.stat().st_mtime, reverse=True)
        for path in old[keep:]:
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


def deployments(session: Session, limit: int = 20) -> List[Deployment]:
    return list(session.scalars(select(Deployment).order_by(Deployment.id.desc()).limit(limit)))


def live_deployment(session: Session, directory: Optional[Path] = None) -> Optional[Deployment]:
    """The newest deployment, if it is what is live (not when `make train` made a newer model)."""
    live = live_model(directory)
    latest = session.scalar(select(Deployment).order_by(Deployment.id.desc()).limit(1))
    if live is None or latest is None or Path(latest.model_path).resolve() != live.resolve():
        return None
    return latest
