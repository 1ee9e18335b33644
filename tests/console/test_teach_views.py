"""Teaching through the console as a reviewer: relabel, ignore, new question, the pending page.

The conversations are put in the console's index directly (IndexedMessage + Conversation rows);
the training data is a copy of the project's data/ (TRAINING_ROOT).
"""
from __future__ import annotations

import html
import re
import shutil
from datetime import datetime, timedelta, timezone

import pytest
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import escape
from sqlalchemy import select

from bot.console import training_data
from bot.console.models import AuditEvent, Conversation, Correction, FaqEntry, IndexedMessage
from bot.console.render import TEMPLATES
from bot.console.views.teach import message_actions_context
from bot.db.engine import session_scope
from bot.settings import PROJECT_ROOT
from tests.console.conftest import post_form

REDACTED = "can i park my car there? call me on [PHONE]"
TRICKY = 'is it "safe" <b>really</b> & fast?'
GOOD_ANSWER = ("Most clinics have parking close by. Ask the clinic where to park when you book, "
               "because someone should drive you home after a session.")
# None of these is in data/nlu.yml (clinic_practicalities has other parking phrasings).
GOOD_EXAMPLES = "\n".join([REDACTED, "is there parking", "where should i leave my car",
                           "can i park at the clinic", "is parking free"])


@pytest.fixture
def training_root(tmp_path, monkeypatch):
    root = tmp_path / "project"
    shutil.copytree(PROJECT_ROOT / "data", root / "data")
    monkeypatch.setenv("TRAINING_ROOT", str(root))
    return root


@pytest.fixture
def reviewer(login, training_root):
    at = datetime(2025, 3, 1, 10, 0, tzinfo=timezone.utc)
    with session_scope() as session:
        session.add(Conversation(sender_id="visitor-1", first_at=at, last_at=at, messages=2,
                                 min_confidence=0.41))
        for event_id, text, intent in ((101, REDACTED, "faq/cost"),
                                       (102, TRICKY, "faq/side_effects")):
            session.add(IndexedMessage(
                event_id=event_id, sender_id="visitor-1", at=at + timedelta(seconds=event_id),
                text=text, search_text=text.lower(), intent=intent, confidence=0.41,
            ))
    return login("reviewer")


def _post(client, path, data, page="/console/teach"):
    return post_form(client, path, data, page=page)


def _training_examples():
    return training_data.read_examples(training_data.training_data_dir())


def _flashes(client, path="/console/teach"):
    return html.unescape(client.get(path).text)


def _pending(event_id=None):
    with session_scope() as session:
        query = select(Correction).where(Correction.exported_at.is_(None))
        if event_id is not None:
            query = query.where(Correction.event_id == event_id)
        return [dict(kind=c.kind, text=c.text, intent=c.intent, by=c.created_by, at=c.created_at,
                     event_id=c.event_id, sender_id=c.sender_id, entry=c.faq_entry_id)
                for c in session.scalars(query.order_by(Correction.id))]


def _audit(action):
    with session_scope() as session:
        return [(e.username, e.target, e.detail) for e in session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))]


def test_relabel_is_stored_with_who_and_when_and_audited(reviewer):
    before = datetime.now(timezone.utc) - timedelta(seconds=1)
    response = _post(reviewer, "/console/messages/101/relabel",
                     {"intent": "faq/cost", "text": ""})
    assert response.status_code == 303
    assert response.headers["location"] == "/console/conversations/visitor-1"
    [row] = _pending(101)
    # The example defaults to the redacted text the console holds.
    assert (row["kind"], row["text"], row["intent"], row["by"], row["sender_id"]) == (
        "relabel", REDACTED, "faq/cost", "reviewer", "visitor-1")
    assert before <= row["at"].replace(tzinfo=timezone.utc) <= datetime.now(timezone.utc)
    assert _audit("relabel") == [("reviewer", "message 101",
                                  {"intent": "faq/cost", "sender_id": "visitor-1", "replaced": []})]

    # Edited text, another meaning: the newer decision replaces the pending one.
    _post(reviewer, "/console/messages/101/relabel",
          {"intent": "faq/getting_started", "text": "can i park  my car\nthere"})
    assert [(r["text"], r["intent"]) for r in _pending(101)] == [
        ("can i park my car there", "faq/getting_started")]
    response = _post(reviewer, "/console/messages/101/ignore", {})
    assert response.headers["location"] == "/console/conversations/visitor-1"
    assert [(r["kind"], r["text"], r["by"]) for r in _pending(101)] == [
        ("ignore", REDACTED, "reviewer")]
    assert [(who, target) for who, target, _ in _audit("ignore")] == [("reviewer", "message 101")]


def test_relabel_refuses_what_it_cannot_teach(reviewer):
    _post(reviewer, "/console/messages/101/relabel", {"intent": "made_up"})
    assert "Choose what the message meant from the list." in _flashes(reviewer)
    existing = _training_examples()["faq/getting_started"][0]
    _post(reviewer, "/console/messages/101/relabel", {"intent": "faq/cost", "text": existing})
    assert f'"{existing}" is already an example of "faq/getting_started"' in _flashes(reviewer)
    assert _pending() == []
    missing = _post(reviewer, "/console/messages/999/relabel", {"intent": "faq/cost"})
    assert missing.status_code == 404
    assert _post(reviewer, "/console/messages/999/ignore", {}).status_code == 404


def _new_question(client, **changes):
    data = {"key": "parking", "title": "Is there parking at the clinic?", "examples": GOOD_EXAMPLES,
            "answer": GOOD_ANSWER, "sources": ["A2", "SPR"], "event_id": "101", **changes}
    return _post(client, "/console/teach/new", data, page="/console/teach/new")


def test_the_new_question_form_starts_from_the_redacted_message(reviewer):
    page = reviewer.get("/console/teach/new?event_id=102").text
    assert str(escape(TRICKY)) in page and "<b>really" not in page
    assert 'name="event_id" value="102"' in page
    for source, title in training_data.SOURCES.items():
        assert f'value="{source}"' in page and str(escape(title)) in page


@pytest.mark.parametrize("changes, problem", [
    ({"answer": "Ketamine is a miracle drug. " + GOOD_ANSWER}, 'forbids ("miracle")'),
    ({"sources": []}, "Tick at least one source the answer is based on."),
    ({"examples": "is there parking\nwhere do i park\nIs there  parking"},
     "Give at least 5 different phrasings (one per line); there are 2."),
    ({"answer": GOOD_ANSWER + " Please talk with your doctor."}, "adds that reminder"),
    ({"key": "cost"}, 'There is already a question named "cost"'),
])
def test_the_new_question_form_shows_what_to_fix_and_keeps_what_was_typed(
        reviewer, changes, problem):
    response = _new_question(reviewer, **changes)
    assert response.status_code == 400
    page = html.unescape(response.text)
    assert problem in page
    typed = {"title": "Is there parking at the clinic?", **changes}
    assert f'value="{typed["title"]}"' in page
    assert (changes.get("answer") or GOOD_ANSWER) in page
    assert (changes.get("examples") or GOOD_EXAMPLES) in page
    for source in changes.get("sources", ["A2", "SPR"]):
        assert f'value="{source}" checked' in page
    with session_scope() as session:
        assert session.scalars(select(FaqEntry)).all() == []
    assert _pending() == []


def test_a_good_new_question_is_saved_with_its_phrasings_and_audited(reviewer):
    response = _new_question(reviewer)
    assert (response.status_code, response.headers["location"]) == (303, "/console/teach")
    with session_scope() as session:
        entry = session.scalars(select(FaqEntry)).one()
        entry_id = entry.id
        assert (entry.key, entry.title, entry.answer, entry.sources, entry.created_by) == (
            "parking", "Is there parking at the clinic?", GOOD_ANSWER, ["A2", "SPR"], "reviewer")
    rows = _pending()
    assert [r["text"] for r in rows] == GOOD_EXAMPLES.splitlines()
    assert {(r["kind"], r["intent"], r["entry"], r["by"]) for r in rows} == {
        ("new_question", "faq/parking", entry_id, "reviewer")}
    # The first phrasing is the visitor's message, and remembers where it came from.
    origins = [(r["event_id"], r["sender_id"]) for r in rows]
    assert origins == [(101, "visitor-1")] + [(None, None)] * 4
    [(who, target, detail)] = _audit("new_question")
    assert (who, target) == ("reviewer", "faq/parking")
    assert (detail["examples"], detail["event_id"]) == (5, 101)


def test_the_teach_page_lists_what_is_pending_and_previews_the_diff(reviewer):
    _post(reviewer, "/console/messages/102/relabel",
          {"intent": "faq/side_effects", "text": "is it safe really and fast"})
    _new_question(reviewer)
    page = reviewer.get("/console/teach").text
    assert '<pre class="diff">' in page
    assert '<span class="add">+- intent: faq/parking</span>' in page
    assert '<span class="add">+    - is it safe really and fast</span>' in page
    assert '<span class="add">+  utter_faq/parking:</span>' in page
    assert '<span class="file">+++ b/data/nlu.yml</span>' in page
    assert "Is there parking at the clinic?" in page and "reviewer" in page

    # A correction that can't be exported says why (the training data changed since, say).
    cost = _training_examples()["faq/cost"][0]
    with session_scope() as session:
        session.add(Correction(kind="relabel", text=cost, intent="greet", created_by="reviewer"))
    page = html.unescape(reviewer.get("/console/teach").text)
    assert "Not exported yet: already an example of faq/cost" in page
    assert f"+    - {cost}" not in page

    # Delete the relabel from the list: audited, and gone from the preview.
    with session_scope() as session:
        relabel_id = session.scalars(
            select(Correction.id).where(Correction.intent == "faq/side_effects")).one()
    action = f"/console/teach/corrections/{relabel_id}/delete"
    assert f'action="{action}"' in page
    assert _post(reviewer, action, {}).status_code == 303
    page = reviewer.get("/console/teach").text
    assert "is it safe really and fast" not in page and "+- intent: faq/parking" in page
    assert [(w, t) for w, t, _ in _audit("delete")] == [("reviewer", f"correction {relabel_id}")]

    with session_scope() as session:
        entry_id = session.scalars(select(FaqEntry.id)).one()
    _post(reviewer, f"/console/teach/questions/{entry_id}/delete", {})
    assert "Nothing to add to the training files." in reviewer.get("/console/teach").text
    assert [r["text"] for r in _pending()] == [cost]


def _message_actions(event_id, text):
    """teach_message_actions.html as the conversation page includes it."""
    env = Environment(loader=FileSystemLoader(TEMPLATES),
                      autoescape=select_autoescape(default=True))
    with session_scope() as session:
        context = message_actions_context(session, [event_id])
    message = dict(event_id=event_id, sender_id="visitor-1", text=text, intent="faq/cost",
                   confidence=0.41)
    return env.get_template("teach_message_actions.html").render(
        message=message, csrf_token="token-1", **context)


def test_the_message_actions_offer_every_meaning_and_post_to_the_routes(reviewer):
    page = _message_actions(102, TRICKY)
    titles = training_data.read_faq_responses(training_data.training_data_dir())
    for key, response in titles.items():
        assert f'<option value="faq/{key}">{escape(response.title)} (faq/{key})</option>' in page
    assert ('<option value="crisis">Crisis: thoughts of suicide or self-harm (crisis)</option>'
            in page)
    assert f'value="{escape(TRICKY)}"' in page and "<b>really" not in page
    assert 'href="/console/teach/new?event_id=102"' in page
    assert page.count('name="csrf_token" value="token-1"') == 2

    # The form's own fields, posted through the app, relabel the message.
    relabel = re.search(r'<form method="post" action="([^"]+/relabel)"', page).group(1)
    response = _post(reviewer, relabel, {"intent": "faq/side_effects", "text": TRICKY})
    assert response.status_code == 303
    assert [(r["kind"], r["intent"], r["text"]) for r in _pending(102)] == [
        ("relabel", "faq/side_effects", TRICKY)]
    assert "Relabelled as faq/side_effects by reviewer" in _message_actions(102, TRICKY)

    # A new question not yet trained can be chosen too, and keeps its link to the question.
    _new_question(reviewer)
    assert ('<option value="faq/parking">Is there parking at the clinic? (faq/parking, new)'
            '</option>') in _message_actions(102, TRICKY)
    _post(reviewer, relabel, {"intent": "faq/parking", "text": "parking for my car"})
    [row] = _pending(102)
    assert row["intent"] == "faq/parking" and row["entry"] is not None
