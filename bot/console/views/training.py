"""The Models page: which model answers visitors, "Retrain now" through the gate, what each run
measured against the live model and why a candidate was refused, and one-click rollback (admins).

Training runs in its own process (`bot.console.gate.start_background_retrain`); these pages only
read its progress from the database, refreshing themselves while a run is active.
"""
from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional

from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.console import gate, registry
from bot.console.models import TrainingRun, utcnow
from bot.console.render import admin_only, flash, redirect, render, row_id, user_of
from bot.db.engine import session_scope

RUNS_SHOWN = 20
REFRESH_SECONDS = 10
STATUS_TEXT = {
    "queued": "starting",
    "training": "training the new model",
    "evaluating": "checking the new model against the live one",
    "promoted": "live",
    "refused": "refused",
    "failed": "failed",
}
# What the parts of `rasa train` do, in the words on the page.
STEPS = {
    "CountVectorsFeaturizer": "reading the training examples",
    "LinearIntentClassifier": "learning what visitors mean and which answer fits",
    "RulePolicy": "learning how conversations go",
}
_COMPONENT = re.compile(r"Starting to train component '([\w.]+)'")


def _when(moment: Optional[datetime]) -> Optional[datetime]:
    return gate.as_utc(moment) if moment else None


def _progress(run: TrainingRun) -> str:
    """One line on what an active run is doing, from the tail of its log."""
    if run.status != "training":
        return STATUS_TEXT.get(run.status, run.status)
    step = "preparing the training data"
    for line in run.log.splitlines():
        found = _COMPONENT.search(line)
        if found:
            # Small components between the named ones keep the last step's words.
            step = STEPS.get(found.group(1), step)
    return step


def _duration(run: TrainingRun) -> str:
    end = _when(run.finished_at) or utcnow()
    seconds = int((end - _when(run.started_at)).total_seconds())
    return f"{seconds // 60} min {seconds % 60:02d} s"


def _run_view(run: TrainingRun) -> Dict[str, Any]:
    has_figures = bool(run.metrics.get("heldout"))
    return dict(
        id=run.id, status=run.status, status_text=STATUS_TEXT.get(run.status, run.status),
        active=run.status in gate.ACTIVE, started_by=run.started_by,
        started_at=_when(run.started_at), finished_at=_when(run.finished_at),
        duration=_duration(run), progress=_progress(run), reasons=run.reasons,
        model=Path(run.model_path).name if run.model_path else None,
        rows=gate.figure_rows(run.metrics, run.live_metrics or None) if has_figures else [],
        metrics=run.metrics, live_metrics=run.live_metrics, corrections=len(run.correction_ids),
        log=run.log,
    )


def _model_info(path: Optional[Path]) -> Optional[Dict[str, Any]]:
    if path is None:
        return None
    stat = path.stat()
    return dict(name=path.name, size_mb=round(stat.st_size / 1e6),
                since=datetime.fromtimestamp(stat.st_mtime, timezone.utc))


async def models_page(request: Request) -> Response:
    def load() -> Dict[str, Any]:
        directory = registry.models_dir()
        live = registry.live_model(directory)
        with session_scope() as session:
            active = gate.active_run(session)
            deployment = registry.live_deployment(session, directory)
            runs = session.scalars(
                select(TrainingRun).order_by(TrainingRun.id.desc()).limit(RUNS_SHOWN))
            deployments = registry.deployments(session)
            return dict(
                live=_model_info(live),
                live_deployment=dict(by=deployment.deployed_by, at=_when(deployment.deployed_at),
                                     kind=deployment.kind) if deployment else None,
                previous=_model_info(registry.previous_model(directory)),
                active=_run_view(active) if active else None,
                runs=[_run_view(r) for r in runs],
                deployments=[
                    dict(id=d.id, model=Path(d.model_path).name, kind=d.kind, by=d.deployed_by,
                         at=_when(d.deployed_at), run_id=d.training_run_id,
                         on_disk=Path(d.model_path).is_file(),
                         live=live is not None and Path(d.model_path).resolve() == live.resolve())
                    for d in deployments
                ],
                pending=gate.pending_counts(session),
                running_model=registry.running_model_name(),
            )

    context = await run_in_threadpool(load)
    response = render(request, "models.html", refresh=REFRESH_SECONDS if context["active"] else None,
                      **context)
    if context["active"]:
        response.headers["Refresh"] = str(REFRESH_SECONDS)
    return response


async def run_page(request: Request) -> Response:
    try:
        run_id = row_id(request.path_params["run_id"])
    except ValueError:
        return render(request, "not_found.html", status_code=404)

    def load() -> Optional[Dict[str, Any]]:
        with session_scope() as session:
            gate.active_run(session)  # a run whose process died shows as failed
            run = session.get(TrainingRun, run_id)
            return _run_view(run) if run else None

    run = await run_in_threadpool(load)
    if run is None:
        return render(request, "not_found.html", status_code=404)
    response = render(request, "model_run.html", run=run,
                      refresh=REFRESH_SECONDS if run["active"] else None)
    if run["active"]:
        response.headers["Refresh"] = str(REFRESH_SECONDS)
    return response


async def retrain(request: Request) -> Response:
    user = user_of(request)
    try:
        run_id = await run_in_threadpool(gate.start_background_retrain, user.username)
    except gate.RetrainBusy as busy:
        flash(request, str(busy), "error")
        return redirect("/console/models")
    flash(request, f"Retrain {run_id} started. It takes several minutes; this page updates "
                   "itself. The new model goes live only if it passes every check.", "success")
    return redirect(f"/console/models/runs/{run_id}")


@admin_only
async def rollback(request: Request) -> Response:
    target: Any = request.path_params["deployment_id"]
    if target != "previous":
        try:
            target = row_id(target)
        except ValueError:
            return render(request, "not_found.html", status_code=404)
    username = user_of(request).username

    def go() -> str:
        with session_scope() as session:
            return registry.rollback(session, target, username).message

    try:
        message = await run_in_threadpool(go)
    except registry.RegistryError as error:
        flash(request, f"Nothing changed: {error}", "error")
    else:
        flash(request, f"Rolled back. {message}", "success")
    return redirect("/console/models")


def routes() -> List[Route]:
    return [
        Route("/console/models", models_page, methods=["GET", "HEAD"], name="console_models"),
        Route("/console/models/retrain", retrain, methods=["POST"], name="console_retrain"),
        Route("/console/models/runs/{run_id}", run_page, methods=["GET", "HEAD"],
              name="console_model_run"),
        Route("/console/models/rollback/{deployment_id}", rollback, methods=["POST"],
              name="console_rollback"),
    ]
