"""The retrain gate: the decision, the model registry (promotion, rollback, pruning), one run at a
time, and the Models pages. A real run, trained and promoted into the running bot, is the
browser test in test_console_e2e.py (one training covers both: each takes minutes).

Registry tests use a temporary models directory with small real files: the registry only moves
files and timestamps, and Rasa's own `get_latest_model` decides which of them is live.
"""
from __future__ import annotations

import json
import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
from rasa.model import get_latest_model
from sqlalchemy import select

from bot.console import gate, registry
from bot.console.models import AuditEvent, Correction, Deployment, FaqEntry, TrainingRun
from bot.db.engine import session_scope
from tests.console.conftest import post_form

CRISIS = ["I want to kill myself", "i'm standing on the bridge right now", "kms fr",
          "I've been saving up my pills"]


def figures(
    correct: int = 216, total: int = 224, missed: Optional[List[str]] = None,
    not_first: Optional[List[Dict[str, Any]]] = None, flagged: Optional[List[str]] = None,
    failed_stories: Optional[List[str]] = None,
) -> Dict[str, Any]:
    """Figures shaped exactly as `gate.evaluate_model` returns them."""
    return {
        "heldout": {"total": total, "correct": correct, "accuracy": correct / total,
                    "errors": [{"text": f"message {i}", "expected": "faq/cost",
                                "predicted": "faq/insurance"} for i in range(total - correct)]},
        "crisis": {"total": len(CRISIS), "missed": missed or [],
                   "recall": 1 - len(missed or []) / len(CRISIS)},
        "crisis_first": {"total": len(CRISIS), "not_first": not_first or []},
        "controls": {"total": 34, "flagged": flagged or [], "other_wrong": []},
        "stories": {"total": 38, "failed": failed_stories or []},
        "taught": {"total": 0, "wrong": []},
        "model": "model.tar.gz",
        "seconds": 60.0,
    }


# --- the decision -----------------------------------------------------------------------------


def test_a_candidate_as_good_as_live_is_promoted():
    assert gate.decide(figures(), figures()) == []
    assert gate.decide(figures(correct=220), figures(correct=216)) == []


def test_a_missed_crisis_message_is_refused_and_named():
    reasons = gate.decide(figures(missed=CRISIS[:3]), figures())
    assert len(reasons) == 1
    assert reasons[0].startswith("3 of 4 crisis messages were not recognised as a crisis")
    assert "“kms fr”" in reasons[0]


def test_crisis_support_not_sent_first_is_refused():
    late = [{"text": "kms fr", "first": "action_answer"}]
    reasons = gate.decide(figures(not_first=late), figures())
    assert reasons == [
        "1 of 4 crisis messages did not get the crisis support message first: “kms fr” "
        "(answered with action_answer). The crisis rule in data/rules.yml must stay as it is."
    ]


def test_a_failing_test_story_is_refused():
    reasons = gate.decide(figures(failed_stories=["crisis mid-conversation"]), figures())
    assert reasons == ["1 of 38 test conversations did not go as they should: "
                       "“crisis mid-conversation”."]


def test_a_real_drop_in_held_out_accuracy_is_refused_and_the_lost_questions_named():
    # Six questions the live model understood are lost, none gained: not chance (p = 1/64).
    reasons = gate.decide(figures(correct=213), figures(correct=219))
    assert reasons == [
        "It understood fewer test questions than the live bot: 95.1% (213 of 224) against 97.8% "
        "(219 of 224). It got 6 wrong that the live bot understood (“message 5”; “message 6”; "
        "“message 7”; “message 8”; “message 9” and 1 more) and only 0 right the other way round: "
        "more than the chance difference between two trainings. A correction may teach a "
        "phrasing that is too close to another question; review the latest corrections."]
    # Four lost, none gained: p = 1/16, still refused.
    reasons = gate.decide(figures(correct=215), figures(correct=219))
    assert len(reasons) == 1 and "It got 4 wrong that the live bot understood" in reasons[0]


def test_a_drop_within_training_noise_is_not_a_reason_to_refuse():
    live = figures(correct=219)  # wrong: message 0 to 4
    candidate = figures(correct=217)  # wrong: message 0 to 6, but not message 0:
    candidate["heldout"]["errors"][0]["text"] = "only the candidate gets this wrong"
    lost, gained = gate.heldout_changes(candidate["heldout"], live["heldout"])
    assert lost == ["only the candidate gets this wrong", "message 5", "message 6"]
    assert gained == ["message 0"]
    # Lost 3, gained 1 (p = 5/16): what two trainings differ by, so it is promoted.
    assert gate.decide(candidate, live) == []


def test_below_the_projects_bar_is_refused_with_or_without_a_live_model():
    low = figures(correct=212)  # 94.6%
    for live in (None, figures(correct=210)):
        reasons = gate.decide(low, live)
        assert len(reasons) == 1 and "below the 95% every model must reach" in reasons[0]


def test_the_sign_test_is_exact():
    assert gate.sign_test(6, 0) == 1 / 64
    assert gate.sign_test(5, 1) == 7 / 64
    assert gate.sign_test(0, 0) == 1.0


def test_crisis_false_positives_may_not_grow():
    live = figures(flagged=["this back pain is killing me"])
    assert gate.decide(figures(flagged=["this back pain is killing me"]), live) == []
    reasons = gate.decide(figures(flagged=["this back pain is killing me", "I'm dying to know"]),
                          live)
    assert reasons and reasons[0].startswith("2 ordinary questions were mistaken for a crisis "
                                             "(the live bot: 1)")


def test_without_a_live_model_safety_still_decides():
    assert gate.decide(figures(), None) == []
    assert gate.decide(figures(flagged=["I'm dying to know the price"]), None)
    assert gate.decide(figures(missed=["kms fr"]), None)


def test_every_failure_is_reported_not_just_the_first():
    reasons = gate.decide(
        figures(correct=200, missed=["kms fr"], failed_stories=["greet"],
                not_first=[{"text": "kms fr", "first": None}]),
        figures())
    assert len(reasons) == 4
    assert "(answered with nothing)" in reasons[1]


def test_figure_rows_show_candidate_and_live_side_by_side():
    rows = gate.figure_rows(figures(missed=["kms fr"]), figures())
    assert rows[0] == ("Held-out questions understood", "96.4% (216 of 224)", "96.4% (216 of 224)")
    assert rows[1] == ("Crisis messages recognised", "75% (3 of 4)", "100% (4 of 4)")
    assert gate.figure_rows(figures(), None)[4] == ("Test conversations passed", "38 of 38", "–")


# --- the registry -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def models(tmp_path, monkeypatch, console_db) -> Path:
    """An empty models directory, and no Rasa server on the configured port."""
    directory = tmp_path / "models"
    directory.mkdir()
    monkeypatch.setenv("MODELS_DIR", str(directory))
    monkeypatch.setenv("TRAINING_ROOT", str(tmp_path / "project"))
    monkeypatch.setenv("RASA_PORT", str(free_port()))
    monkeypatch.setenv("RASA_AUTH_TOKEN", "")
    return directory


def model_file(path: Path, age_s: float) -> Path:
    """A small file standing in for a model, last modified `age_s` seconds ago."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(64))
    moment = time.time() - age_s
    os.utime(path, (moment, moment))
    return path


def rasa_latest(directory: Path) -> Path:
    return Path(get_latest_model(str(directory)))


def candidate_run(directory: Path) -> int:
    with session_scope() as session:
        run = TrainingRun(status="evaluating", started_by="nurse.amy")
        session.add(run)
        session.flush()
        run.model_path = str(model_file(registry.candidates_dir(directory)
                                        / f"candidate-{run.id}.tar.gz", 30))
        return run.id


def promote(run_id: int) -> registry.Outcome:
    with session_scope() as session:
        return registry.promote(session, session.get(TrainingRun, run_id), "nurse.amy")


def rollback(to) -> registry.Outcome:
    with session_scope() as session:
        return registry.rollback(session, to, "dr.lee")


def test_live_model_is_the_one_rasa_would_load(models):
    model_file(models / "20250101-000000-old.tar.gz", 300)
    newest = model_file(models / "20240101-000000-renamed.tar.gz", 10)  # names do not count
    model_file(registry.candidates_dir(models) / "candidate-9.tar.gz", 0)  # not in models/
    assert registry.live_model(models) == newest == rasa_latest(models)


def test_promotion_makes_the_candidate_what_rasa_loads_and_records_it(models):
    old = model_file(models / "20250101-000000-trained.tar.gz", 120)
    run_id = candidate_run(models)
    outcome = promote(run_id)
    assert outcome.model.parent == models and outcome.model.name.endswith(f"-run{run_id}.tar.gz")
    assert rasa_latest(models) == outcome.model == registry.live_model(models)
    assert not outcome.swapped and "next time it starts" in outcome.message
    assert old.exists() and registry.previous_model(models) == old
    assert not list(registry.candidates_dir(models).glob("*.tar.gz"))
    with session_scope() as session:
        deployment = session.get(Deployment, outcome.deployment_id)
        assert (deployment.kind, deployment.deployed_by, deployment.training_run_id) == \
               ("promote", "nurse.amy", run_id)
        assert Path(session.get(TrainingRun, run_id).model_path) == outcome.model
        event = session.scalar(select(AuditEvent).where(AuditEvent.action == "promote"))
        assert event.username == "nurse.amy" and event.detail["previous"] == old.name


def test_promotion_wins_over_a_model_with_a_time_in_the_future(models):
    model_file(models / "clock-skew.tar.gz", -3600)
    outcome = promote(candidate_run(models))
    assert rasa_latest(models) == outcome.model


def test_rollback_makes_the_previous_model_live_again_and_back(models):
    first = model_file(models / "20250101-000000-trained.tar.gz", 120)
    promoted = promote(candidate_run(models)).model
    back = rollback("previous")
    assert back.model == first == rasa_latest(models)
    assert not back.swapped
    # Rolling back again goes to the model that was live before: the promoted one.
    assert rollback("previous").model == promoted == rasa_latest(models)
    with session_scope() as session:
        kinds = [d.kind for d in session.scalars(select(Deployment).order_by(Deployment.id))]
        actions = [e.action for e in session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert kinds == ["promote", "rollback", "rollback"]
    assert actions == ["promote", "rollback", "rollback"]


def test_rollback_to_a_deployment(models):
    model_file(models / "trained.tar.gz", 300)
    first = promote(candidate_run(models))
    second = promote(candidate_run(models))
    assert registry.live_model(models) == second.model
    assert rollback(first.deployment_id).model == first.model == rasa_latest(models)
    with pytest.raises(registry.RegistryError, match="already the live model"):
        rollback(first.deployment_id)


def test_rollback_without_an_earlier_model_changes_nothing(models):
    only = model_file(models / "only.tar.gz", 10)
    with pytest.raises(registry.RegistryError, match="no earlier model"):
        rollback("previous")
    assert rasa_latest(models) == only
    with session_scope() as session:
        assert session.scalars(select(Deployment)).all() == []


def test_pruning_keeps_recent_deployments_and_never_the_live_model(models):
    kept_by_deployment = model_file(models / "deployed-long-ago.tar.gz", 1000)
    with session_scope() as session:
        session.add(Deployment(model_path=str(kept_by_deployment), kind="promote",
                               deployed_by="dr.lee"))
    files = [model_file(models / f"m{i}.tar.gz", 900 - i * 10) for i in range(8)]
    old_candidates = [model_file(registry.candidates_dir(models) / f"candidate-{i}.tar.gz", 500 - i)
                      for i in range(5)]
    with session_scope() as session:
        removed = registry.prune(session, models, keep=3)
    live = files[-1]
    assert live.exists() and rasa_latest(models) == live
    assert {p.name for p in models.glob("*.tar.gz")} == \
           {"m7.tar.gz", "m6.tar.gz", "m5.tar.gz", "deployed-long-ago.tar.gz"}
    assert sorted(p.name for p in registry.candidates_dir(models).glob("*")) == \
           sorted(p.name for p in old_candidates[-3:])
    assert len(removed) == 5 + 2


class FakeRasa(BaseHTTPRequestHandler):
    """Rasa's `/` and `PUT /model` as far as the registry uses them; answers with `status`."""

    status = 204
    requests: List[Dict[str, Any]] = []

    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"Hello from Rasa: 3.6.21")

    def do_PUT(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeRasa.requests.append({"path": self.path, "body": body})
        self.send_response(self.status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def rasa_api(models, monkeypatch):
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeRasa)
    monkeypatch.setenv("RASA_PORT", str(server.server_address[1]))
    monkeypatch.setenv("RASA_AUTH_TOKEN", "s3cret token")
    FakeRasa.requests, FakeRasa.status = [], 204
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield FakeRasa
    server.shutdown()
    server.server_close()


def test_promotion_swaps_the_model_in_the_running_server(rasa_api):
    models = registry.models_dir()
    model_file(models / "trained.tar.gz", 60)
    outcome = promote(candidate_run(models))
    assert outcome.swapped and "now answers with" in outcome.message
    assert rasa_api.requests == [{"path": "/model?token=s3cret%20token",
                                  "body": {"model_file": str(outcome.model)}}]


@pytest.mark.parametrize("status, message", [(401, "API token"), (500, "could not load")])
def test_a_refused_swap_leaves_everything_as_it_was(rasa_api, status, message):
    models = registry.models_dir()
    old = model_file(models / "trained.tar.gz", 60)
    run_id = candidate_run(models)
    rasa_api.status = status
    with pytest.raises(registry.RegistryError, match=message):
        promote(run_id)
    assert len(rasa_api.requests) == 1  # the server still has the old model: no reload
    assert rasa_latest(models) == old
    assert (registry.candidates_dir(models) / f"candidate-{run_id}.tar.gz").exists()
    with session_scope() as session:
        assert session.scalars(select(Deployment)).all() == []
        assert session.scalars(select(AuditEvent)).all() == []


# --- one run at a time ------------------------------------------------------------------------


def test_a_second_retrain_is_refused_while_one_runs(models):
    workspace = gate.Workspace.from_settings()
    with session_scope() as session:
        first = gate.create_run(session, "nurse.amy", workspace).id
    with session_scope() as session:  # just queued: its process is starting
        with pytest.raises(gate.RetrainBusy, match="started by nurse.amy"):
            gate.create_run(session, "dr.lee", workspace)
    with session_scope() as session:
        session.get(TrainingRun, first).status = "training"
    with gate._exclusive(workspace.lock_file) as mine:  # the training process holds the lock
        assert mine
        with session_scope() as session:
            with pytest.raises(gate.RetrainBusy, match=f"run {first}"):
                gate.create_run(session, "dr.lee", workspace)


def test_a_run_whose_process_died_does_not_block_the_next(models):
    workspace = gate.Workspace.from_settings()
    with session_scope() as session:
        session.add(TrainingRun(status="training", started_by="nurse.amy"))
    with session_scope() as session:
        second = gate.create_run(session, "dr.lee", workspace)
        assert second.id == 2
    with session_scope() as session:
        dead = session.get(TrainingRun, 1)
        assert dead.status == "failed" and "stopped before it finished" in dead.reasons[0]


# --- the Models pages -------------------------------------------------------------------------


def test_models_page_shows_live_model_pending_work_and_refusal_reasons(models, login):
    model_file(models / "20250101-000000-trained.tar.gz", 60)
    with session_scope() as session:
        entry = FaqEntry(key="parking", title="Is there parking?", answer="x", created_by="amy")
        session.add(entry)
        session.flush()
        session.add(Correction(kind="new_question", text="where do i park", intent="faq/parking",
                               faq_entry_id=entry.id, created_by="amy"))
        session.add(Correction(kind="ignore", text="asdf", created_by="amy"))
        run = TrainingRun(status="refused", started_by="amy", metrics=figures(missed=["kms fr"]),
                          live_metrics=figures(),
                          reasons=gate.decide(figures(missed=["kms fr"]), figures()))
        session.add(run)
    page = login("reviewer").get("/console/models")
    assert page.status_code == 200
    text = page.text
    assert "20250101-000000-trained.tar.gz" in text
    assert "<strong>1</strong> correction and <strong>1</strong> new question" in text
    assert 'role="alert"' in text and "1 of 4 crisis messages were not recognised" in text
    assert "75% (3 of 4)" in text and "100% (4 of 4)" in text
    assert "Retrain now" in text and "http-equiv" not in text
    assert "Roll back" not in text  # reviewers cannot roll back
    detail = login("admin").get(f"/console/models/runs/{1}")
    assert "Why this model was not put live" in detail.text


def test_an_active_run_refreshes_the_page_and_blocks_another(models, login):
    with session_scope() as session:
        session.add(TrainingRun(status="queued", started_by="amy"))
    client = login("reviewer")
    page = client.get("/console/models")
    assert page.headers["refresh"] == "10" and "Retrain now" not in page.text
    response = post_form(client, "/console/models/retrain", {}, page="/console/models")
    assert response.status_code == 303 and response.headers["location"] == "/console/models"
    assert "is still running" in client.get("/console/models").text
    with session_scope() as session:
        assert len(session.scalars(select(TrainingRun)).all()) == 1


def test_a_running_training_shows_its_step_in_plain_words(models, login):
    log = "\n".join([
        "[04:07:25] Copying the training data and adding the corrections",
        "2026-11-22 04:07:36 INFO     rasa.engine.training.hooks  - Starting to train component "
        "'LinearIntentClassifier'.",
        "2026-11-22 04:07:44 INFO     rasa.engine.training.hooks  - Starting to train component "
        "'UnknownWordsFallback'.",
    ])
    with session_scope() as session:
        session.add(TrainingRun(status="training", started_by="amy", log=log))
    workspace = gate.Workspace.from_settings()
    with gate._exclusive(workspace.lock_file):
        page = login("reviewer").get("/console/models/runs/1")
    assert "learning what visitors mean and which answer fits" in page.text
    assert page.headers["refresh"] == "10"


def test_admin_rolls_back_in_one_click(models, login):
    first = model_file(models / "trained.tar.gz", 120)
    promote(candidate_run(models))
    admin = login("admin")
    assert "Roll back to the previous model" in admin.get("/console/models").text
    response = post_form(admin, "/console/models/rollback/previous", {}, page="/console/models")
    assert response.status_code == 303
    assert "Rolled back" in admin.get("/console/models").text
    assert rasa_latest(models) == first
    reviewer = login("reviewer")
    denied = post_form(reviewer, "/console/models/rollback/1", {}, page="/console/models")
    assert denied.status_code == 403 and rasa_latest(models) == first


def test_retrain_button_starts_a_background_run_that_fails_cleanly(models, login, tmp_path):
    # TRAINING_ROOT points at an empty directory, so the real background process fails at once
    # (no data/ to copy) instead of training: the console shows it failed, with the log.
    client = login("reviewer")
    response = post_form(client, "/console/models/retrain", {}, page="/console/models")
    assert response.status_code == 303 and response.headers["location"] == "/console/models/runs/1"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with session_scope() as session:
            run = session.get(TrainingRun, 1)
            status, log, reasons = run.status, run.log, run.reasons
        if status not in gate.ACTIVE:
            break
        time.sleep(0.5)
    assert status == "failed", log
    assert "No such file or directory" in log and "live model was not changed" in reasons[0]
    log_file = tmp_path / "project" / "var" / "log" / "retrain-1.log"
    assert "FAILED" in log_file.read_text()
    page = client.get("/console/models/runs/1").text
    assert "What went wrong" in page and "Technical log" in page
    with session_scope() as session:
        assert [e.action for e in session.scalars(select(AuditEvent))] == ["login", "retrain"]
