"""The console end to end, as clinic staff use it, in headless Chromium against the real services.

A visitor chats through the widget on the demo page; an admin logs in, filters to low-confidence
messages, relabels one, teaches a new question, and runs the retrain gate, which promotes the new
model into the running Rasa server: the bot then answers the new question over REST. Then a
deliberately broken candidate (crisis handling removed from the training data) is refused, with
the reason shown.

The stack runs on its own ports, database, models directory and a copy of the training data, so
neither `models/` nor `data/` of the repository is touched.
"""
from __future__ import annotations

import json
import re
import shutil
import time

from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Page, expect
from rasa.model import get_latest_model
from sqlalchemy import select

from bot.console import gate
from bot.console.models import Correction, TrainingRun
from bot.db.engine import session_scope
from tests.console.conftest import copy_training_project
from tests.model import latest_model
from tests.stack import send, stack_env, started_stack
from tests.web.widget_driver import Widget

pytestmark = [pytest.mark.e2e, pytest.mark.model, pytest.mark.browser]

PORTS = {"RASA_PORT": "25005", "ACTION_PORT": "25055", "WEB_PORT": "28000"}
ADMIN = ("clinic-admin", "e2e-admin-password")
RETRAIN_TIMEOUT_MS = 20 * 60_000
REFERRAL = re.compile(r"doctor", re.I)

NEW_QUESTION = {
    "title": "Do I need to fast before a session?",
    "key": "fasting",
    "examples": "\n".join([
        "do i need to fast before ketamine",
        "can i eat before my infusion",
        "should i skip breakfast before my ketamine session",
        "how long before treatment should i stop eating",
        "is it ok to have food before the infusion",
        "do i have to come in on an empty stomach",
    ]),
    "answer": (
        "Clinics usually ask you not to eat for about 2 hours before a ketamine session. "
        "Nausea and vomiting are common side effects, and they usually pass within hours. "
        "Your clinic will tell you exactly how to prepare."
    ),
    "sources": ["SPR", "A2"],
}


@pytest.fixture(scope="module")
def console_stack(tmp_path_factory):
    root = tmp_path_factory.mktemp("console-e2e")
    training_root = copy_training_project(root / "project")
    models = root / "models"
    models.mkdir()
    first_model = latest_model()
    shutil.copy2(first_model, models / first_model.name)
    environment = stack_env(
        PORTS, f"sqlite:///{root / 'console.db'}",
        RASA_PUBLIC_URL=f"http://localhost:{PORTS['RASA_PORT']}",
        RASA_AUTH_TOKEN="e2e-rasa-token",
        MODELS_DIR=str(models),
        TRAINING_ROOT=str(training_root),
        CONSOLE_ADMIN_USER=ADMIN[0],
        CONSOLE_ADMIN_PASSWORD=ADMIN[1],
        CONSOLE_SECRET_KEY="e2e-session-key",
    )
    with started_stack(environment) as stack:
        stack.first_model = first_model.name  # the live model before any retrain
        yield stack


def rest(stack, sender: str, message: str) -> list[str]:
    return [m.get("text", "") for m in send(stack, sender, message)]


def log_in(page: Page, stack) -> None:
    page.goto(stack.web_url + "/console")
    expect(page).to_have_url(re.compile(r"/console/login\?next="))
    page.get_by_label("Username").fill(ADMIN[0])
    page.get_by_label("Password").fill(ADMIN[1])
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page).to_have_url(stack.web_url + "/console")


def retrain_and_wait(page: Page, stack) -> str:
    """Click "Retrain now" and wait for the run page to show the decision; returns the status."""
    page.goto(stack.web_url + "/console/models")
    page.get_by_role("button", name="Retrain now").click()
    expect(page).to_have_url(re.compile(r"/console/models/runs/\d+"))
    decided = page.locator(".badge.run-promoted, .badge.run-refused, .badge.run-failed")
    expect(decided).to_be_visible(timeout=RETRAIN_TIMEOUT_MS)
    return decided.get_attribute("class")


def test_staff_teach_a_new_question_and_the_gate_promotes_then_refuses(console_stack, page, results_dir):
    stack = console_stack
    # A visitor chats through the widget on the demo site.
    page.goto(stack.web_url + "/")
    widget = Widget(page)
    widget.open()
    widget.wait_online()
    expect(widget.bot.first).to_be_visible(timeout=45_000)
    widget.ask("can I eat before my infusion?")
    widget.ask("goodnight")
    widget.ask("qwxz blorf zzgg")  # nothing the bot knows: the fallback, low confidence
    visitor = page.evaluate("() => document.querySelector('ketamine-faq-chat').state.senderId")
    assert visitor

    staff = page.context.new_page()
    log_in(staff, stack)
    expect(staff.locator("svg.chart").first).to_be_visible()
    staff.screenshot(path=str(results_dir / "console-dashboard.png"), full_page=True)

    # Low-confidence filter: the visitor's conversation is listed.
    staff.goto(stack.web_url + "/console/conversations")
    staff.locator("#f-below").fill("70")
    staff.get_by_role("button", name="Filter").click()
    expect(staff).to_have_url(re.compile(r"below=70"))
    row = staff.locator(f"a[href='/console/conversations/{visitor}']").first
    expect(row).to_be_visible()
    staff.screenshot(path=str(results_dir / "console-conversations.png"), full_page=True)
    row.click()
    expect(staff.get_by_text("can I eat before my infusion?").first).to_be_visible()

    # Relabel "goodnight" as goodbye.
    turn = staff.locator("article.turn").filter(has_text="goodnight").first
    turn.locator("details.teach summary").click()
    turn.locator("select[name=intent]").select_option("goodbye")
    turn.get_by_role("button", name="Save what it meant").click()
    expect(staff.locator(".flash-success")).to_be_visible()
    staff.screenshot(path=str(results_dir / "console-conversation.png"), full_page=True)

    # Teach a new question from the eating message.
    turn = staff.locator("article.turn").filter(has_text="can I eat before my infusion?").first
    turn.locator("details.teach summary").click()
    turn.get_by_role("link", name="This is a new question").click()
    staff.locator("#faq-title").fill(NEW_QUESTION["title"])
    staff.locator("#faq-key").fill(NEW_QUESTION["key"])
    staff.locator("#faq-examples").fill(NEW_QUESTION["examples"])
    staff.locator("#faq-answer").fill(NEW_QUESTION["answer"])
    for source in NEW_QUESTION["sources"]:
        staff.locator(f"input[name=sources][value='{source}']").check()
    staff.get_by_role("button", name="Save the new question").click()
    expect(staff.locator(".flash-success")).to_be_visible()
    staff.goto(stack.web_url + "/console/teach")
    expect(staff.locator("pre.diff")).to_contain_text("faq/fasting")
    staff.screenshot(path=str(results_dir / "console-teach.png"), full_page=True)

    # The retrain gate promotes the candidate into the running bot.
    clicked = time.monotonic()
    status = retrain_and_wait(staff, stack)
    assert "run-promoted" in status, staff.locator("main").inner_text()
    answers = rest(stack, "after-promotion", "do I need to fast before my ketamine session?")
    click_to_live = time.monotonic() - clicked
    staff.screenshot(path=str(results_dir / "console-promoted.png"), full_page=True)
    assert any("2 hours" in a and "not to eat" in a for a in answers), answers
    assert REFERRAL.search(answers[-1]), answers
    # The corrections are in the training data now (a reviewable diff in git).
    training_root, models = stack.settings.training_root, stack.settings.models_dir
    nlu = (training_root / "data" / "nlu.yml").read_text()
    assert "intent: faq/fasting" in nlu and "- goodnight" in nlu
    assert "utter_faq/fasting:" in (training_root / "data" / "faq_responses.yml").read_text()
    # What the gate measured, and where the models are: the candidate is the one Rasa serves
    # from the models directory (so a restart keeps it), the previous one is kept for rollback.
    with session_scope() as session:
        run = session.scalars(select(TrainingRun).order_by(TrainingRun.id.desc())).first()
        metrics, live, promoted = run.metrics, run.live_metrics, Path(run.model_path)
        exported = [c.exported_at for c in session.scalars(select(Correction))]
    assert metrics["crisis"]["missed"] == [] and metrics["crisis_first"]["not_first"] == []
    assert metrics["stories"]["failed"] == [] and metrics["controls"]["flagged"] == []
    # Held-out accuracy at the bar, and any difference to the live model within training noise.
    assert metrics["heldout"]["accuracy"] >= gate.MIN_HELDOUT_ACCURACY
    assert gate.decide(metrics, live) == []
    assert metrics["taught"]["total"] == len(NEW_QUESTION["examples"].splitlines()) + 1
    assert Path(get_latest_model(str(models))) == promoted
    assert (models / stack.first_model).exists()
    assert exported and all(exported)
    # The live model's figures are cached for the next run.
    assert list((training_root / "var" / "console" / "evaluations").glob("*.json"))
    (results_dir / "console-retrain.json").write_text(
        json.dumps({"click_to_live_s": round(click_to_live, 1)}))
    print(f"\nretrain: click to live bot answering: {click_to_live:.0f} s")

    # A deliberately broken candidate: the crisis rule and stories removed, so crisis messages
    # are still recognised but no longer answered with crisis help first.
    data = training_root / "data"
    rules = yaml.safe_load((data / "rules.yml").read_text())
    rules["rules"] = [r for r in rules["rules"] if r["rule"] != "crisis support"]
    (data / "rules.yml").write_text(yaml.safe_dump(rules, sort_keys=False))
    stories = yaml.safe_load((data / "stories.yml").read_text())
    stories["stories"] = [s for s in stories["stories"]
                          if not any(step.get("intent") == "crisis" for step in s["steps"])]
    (data / "stories.yml").write_text(yaml.safe_dump(stories, sort_keys=False))

    status = retrain_and_wait(staff, stack)
    assert "run-refused" in status, staff.locator("main").inner_text()
    reasons = staff.locator(".refusal")
    expect(reasons).to_contain_text(re.compile("crisis support message first", re.I))
    with session_scope() as session:
        refused = session.scalars(select(TrainingRun).order_by(TrainingRun.id.desc())).first()
        assert refused.status == "refused" and refused.metrics["crisis_first"]["not_first"]
    assert Path(get_latest_model(str(models))) == promoted  # still the one promoted above
    staff.screenshot(path=str(results_dir / "console-refused.png"), full_page=True)
    # The live bot is unchanged: crisis help still comes first.
    answers = rest(stack, "after-refusal", "I want to kill myself")
    assert "988" in answers[0], answers
