"""Conversation pages, dashboard, exports and the admin-only actions, through the real web app
signed in as a reviewer or an admin, on conversations written by Rasa's own tracker store."""
from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime, timedelta, timezone

from html import unescape
from urllib.parse import parse_qs

import pytest
from sqlalchemy import select

from bot.console import logs
from bot.console.models import AnswerFlag, AuditEvent, Conversation, ConversationTag
from bot.console.views import conversations as conversation_views
from bot.db.engine import session_scope
from tests.console.conftest import post_form
from tests.console.test_logs import Chat, day, write_corpus

NOW = datetime.now(timezone.utc).replace(microsecond=0)


def audits(action: str) -> list:
    with session_scope() as session:
        return [(e.username, e.target, e.detail) for e in session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))]


def event_id_of(sender_id: str, text: str) -> int:
    with session_scope() as session:
        return session.scalar(select(logs.IndexedMessage.event_id).where(
            logs.IndexedMessage.sender_id == sender_id, logs.IndexedMessage.text == text))


@pytest.fixture
def corpus(tracker_store):
    write_corpus(tracker_store)
    return tracker_store


def test_pages_need_a_login(console_app, corpus):
    from starlette.testclient import TestClient

    with TestClient(console_app, base_url="http://localhost") as anonymous:
        for path in ("/console", "/console/conversations", "/console/conversations/a-faq",
                     "/console/conversations/export.csv", "/console/conversations/export.json",
                     "/console/conversations/a-faq/export.json"):
            response = anonymous.get(path, follow_redirects=False)
            assert response.status_code == 303, path
            assert response.headers["location"].startswith("/console/login")
        assert anonymous.post("/console/retention").status_code == 401
    assert audits("export") == []


def test_list_shows_redacted_first_messages_newest_first(login, corpus):
    page = login("reviewer").get("/console/conversations")
    assert page.status_code == 200
    html = page.text
    assert "6 conversations" in html
    order = [html.index(text) for text in (
        "hello 50%_off", "Is it covered by insurance?", "I have bipolar disorder",
        "I want to end my life", "blorp zzz", "How much does it COST?")]
    assert order == sorted(order)
    assert 'href="/console/conversations/c-crisis"' in html
    assert '<span class="badge crisis">Crisis</span>' in html
    assert "Unsure (20%)" in html and ">billing<" in html
    assert "jane" not in html


@pytest.mark.parametrize(
    "query, shown, hidden",
    [
        ("crisis=1", ["I want to end my life"], ["blorp zzz", "hello 50%"]),
        ("q=insurance", ["Is it covered by insurance?"], ["How much does it COST?"]),
        ("intent=faq&below=50", ["Is it covered by insurance?"], ["How much does it COST?"]),
        ("fallback=1&reviewed=no", ["blorp zzz"], ["I want to end my life"]),
        ("tag=billing&reviewed=yes", ["How much does it COST?"], ["blorp zzz"]),
        ("from=2025-03-03&to=2025-03-04", ["I have bipolar disorder", "I want to end my life"],
         ["blorp zzz", "Is it covered"]),
        ("contraindication=1&crisis=1", [], ["I have bipolar", "I want to end"]),
    ],
)
def test_filters_from_the_query_string(login, corpus, query, shown, hidden):
    html = login("reviewer").get(f"/console/conversations?{query}").text
    for text in shown:
        assert text in html
    for text in hidden:
        assert text not in html
    assert f"{len(shown)} conversation" in html
    # The export links carry the same filters.
    link = re.search(r'href="/console/conversations/export\.csv\?([^"]*)"', html).group(1)
    assert parse_qs(unescape(link)) == parse_qs(query)


def test_pages_keep_the_filters(login, corpus, monkeypatch):
    monkeypatch.setattr(conversation_views, "PER_PAGE", 2)
    client = login("reviewer")
    first = client.get("/console/conversations?reviewed=no").text
    assert "Page 1 of 3" in first
    assert 'href="/console/conversations?reviewed=no&amp;page=2"' in first
    third = client.get("/console/conversations?reviewed=no&page=3").text
    assert "Page 3 of 3" in third and "blorp zzz" in third and "COST" not in third


def test_conversation_page_shows_every_turn(login, corpus):
    html = login("reviewer").get("/console/conversations/d-contra").text
    assert "I have bipolar disorder, can I do it?" in html
    assert "Asked about their condition" in html and "<code>check_contraindication</code>" in html
    assert "88% sure" in html
    assert "condition: bipolar disorder" in html
    assert "<code>action_check_contraindications</code>" in html
    assert "Bipolar disorder needs a specialist." in html
    assert "2025-03-04 10:00:02" in html

    faq = login("reviewer").get("/console/conversations/b-fallback").text
    assert "my email is [email]" in faq and "jane" not in faq
    assert "Show personal data" not in faq  # reviewers cannot reveal
    assert login("reviewer").get("/console/conversations/nobody").status_code == 404


def test_review_tags_and_flags_persist_and_are_audited(login, corpus):
    client = login("reviewer")
    page = "/console/conversations/e-lowfaq"
    assert post_form(client, page + "/review", {"reviewed": "1"}, page).status_code == 303
    assert post_form(client, page + "/tags", {"tag": "Insurance"}, page).status_code == 303
    assert post_form(client, page + "/tags", {"tag": "follow up"}, page).status_code == 303
    assert post_form(client, page + "/tags/delete", {"tag": "follow up"}, page).status_code == 303
    message_id = event_id_of("e-lowfaq", "Is it covered by insurance?")
    response = post_form(client, page + "/flags",
                         {"event_id": str(message_id), "comment": "Names the wrong plans"}, page)
    assert response.status_code == 303 and response.headers["location"] == page

    html = client.get(page).text
    assert "Answer flagged as wrong." in html and "by reviewer" in html
    assert ">insurance<" in html and ">follow up<" not in html
    assert "Flagged as wrong" in html and "Names the wrong plans" in html
    with session_scope() as session:
        conversation = session.get(Conversation, "e-lowfaq")
        assert conversation.reviewed_by == "reviewer" and conversation.reviewed_at
        assert [t.tag for t in session.scalars(select(ConversationTag).where(
            ConversationTag.sender_id == "e-lowfaq"))] == ["insurance"]
        flag = session.scalar(select(AnswerFlag))
        assert (flag.event_id, flag.comment, flag.created_by) == (
            message_id, "Names the wrong plans", "reviewer")
    assert audits("review") == [("reviewer", "e-lowfaq", {"reviewed": True})]
    assert audits("tag") == [
        ("reviewer", "e-lowfaq", {"added": "insurance"}),
        ("reviewer", "e-lowfaq", {"added": "follow up"}),
        ("reviewer", "e-lowfaq", {"removed": "follow up"}),
    ]
    assert audits("flag") == [("reviewer", "e-lowfaq",
                               {"event_id": message_id, "comment": "Names the wrong plans"})]
    assert "e-lowfaq" in client.get("/console/conversations?tag=insurance&reviewed=yes").text

    # A flag needs a comment and a message of this conversation.
    other = event_id_of("a-faq", "thanks!")
    post_form(client, page + "/flags", {"event_id": str(other), "comment": "x"}, page)
    post_form(client, page + "/flags", {"event_id": str(message_id), "comment": " "}, page)
    assert len(audits("flag")) == 1
    # Unmarking is recorded too.
    post_form(client, page + "/review", {"reviewed": "0"}, page)
    assert audits("review")[-1] == ("reviewer", "e-lowfaq", {"reviewed": False})


def test_forms_need_the_csrf_token(login, corpus):
    response = login("reviewer").post("/console/conversations/a-faq/tags", data={"tag": "x"})
    assert response.status_code == 403
    assert audits("tag") == []


def test_reviewers_cannot_reveal_delete_or_run_retention(login, corpus, monkeypatch):
    monkeypatch.setenv("RETENTION_DAYS", "30")
    client = login("reviewer")
    page = "/console/conversations/b-fallback"
    for path, data in ((page + "/reveal", {}), (page + "/delete", {"confirm": "yes"}),
                       ("/console/retention", {})):
        response = post_form(client, path, data, page)
        assert response.status_code == 403, path
        assert "jane.doe@example.com" not in response.text
    with session_scope() as session:
        assert session.scalar(select(Conversation.sender_id).where(
            Conversation.sender_id == "b-fallback"))
        assert len(session.scalars(select(Conversation)).all()) == 6
    assert audits("reveal") == audits("delete") == audits("retention") == []


def test_admin_reveal_shows_the_original_once_and_is_audited(login, corpus):
    client = login("admin")
    page = "/console/conversations/b-fallback"
    assert "Show personal data" in client.get(page).text
    revealed = post_form(client, page + "/reveal", {}, page)
    assert revealed.status_code == 200
    assert "my email is jane.doe@example.com" in revealed.text
    assert "recorded in the audit log" in revealed.text
    assert audits("reveal") == [("admin", "b-fallback", {})]
    again = client.get(page).text
    assert "jane.doe@example.com" not in again and "my email is [email]" in again


def test_admin_deletes_a_conversation_on_request(login, corpus):
    client = login("admin")
    page = "/console/conversations/c-crisis"
    unconfirmed = post_form(client, page + "/delete", {}, page)
    assert unconfirmed.headers["location"] == page
    assert audits("delete") == []
    response = post_form(client, page + "/delete", {"confirm": "yes"}, page)
    assert response.status_code == 303
    assert response.headers["location"] == "/console/conversations"
    assert "was deleted" in client.get("/console/conversations").text
    assert client.get(page).status_code == 404
    with session_scope() as session:
        assert not session.scalar(select(logs.events.c.id).where(
            logs.events.c.sender_id == "c-crisis"))
    assert audits("delete") == [("admin", "c-crisis", {"found": True})]


def test_admin_runs_retention_with_the_setting(login, corpus, monkeypatch):
    Chat(corpus, "recent", NOW - timedelta(days=2)).turn("what does it cost", "faq", 0.9,
                                                         faq="cost")
    monkeypatch.setenv("RETENTION_DAYS", "30")
    client = login("admin")
    assert "older than 30 days" in client.get("/console/conversations").text
    response = post_form(client, "/console/retention", {}, "/console/conversations")
    assert response.status_code == 303
    assert "Deleted 6 conversation(s)" in client.get("/console/conversations").text
    with session_scope() as session:
        assert session.scalars(select(Conversation.sender_id)).all() == ["recent"]
    assert audits("retention") == [("admin", "30 days", {"deleted": 6})]

    monkeypatch.setenv("RETENTION_DAYS", "0")
    post_form(client, "/console/retention", {}, "/console/conversations")
    assert len(audits("retention")) == 1


def test_csv_and_json_exports_are_redacted_and_audited(login, corpus):
    Chat(corpus, "h-formula", day(7)).turn("=HYPERLINK(\"http://x\") call 555-123-4567",
                                           "out_of_scope", 0.7)
    client = login("reviewer")
    response = client.get("/console/conversations/export.csv?fallback=1")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert [r["visitor_message"] for r in rows] == ["blorp zzz", "my email is [email]"]
    assert rows[0]["bot_actions"] == "action_clarify" and rows[0]["fallback"] == "yes"
    assert "jane" not in response.text

    everything = client.get("/console/conversations/export.csv").text
    assert "'=HYPERLINK" in everything and "[phone]" in everything
    assert "555-123-4567" not in everything

    exported = client.get("/console/conversations/export.json?q=cost").json()
    assert exported["redacted"] is True
    assert [m["visitor_message"] for m in exported["messages"]] == [
        "How much does it COST?", "thanks!"]
    assert audits("export") == [
        ("reviewer", "conversations", {"format": "csv", "filter": {"fallback": "1"},
                                       "rows": 2, "redacted": True}),
        ("reviewer", "conversations", {"format": "csv", "filter": {}, "rows": 9,
                                       "redacted": True}),
        ("reviewer", "conversations", {"format": "json", "filter": {"q": "cost"}, "rows": 2,
                                       "redacted": True}),
    ]


def test_one_conversation_export_is_redacted_and_audited(login, corpus):
    response = login("reviewer").get("/console/conversations/b-fallback/export.json")
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    exported = json.loads(response.text)
    assert exported["conversation"] == "b-fallback" and exported["redacted"] is True
    assert [t["text"] for t in exported["turns"]] == ["blorp zzz", "my email is [email]"]
    assert exported["turns"][0]["at"].startswith("2025-03-02T10:00:02")
    assert "jane" not in response.text
    assert audits("export") == [("reviewer", "b-fallback", {"format": "json", "redacted": True})]
    assert login("reviewer").get("/console/conversations/nobody/export.json").status_code == 404


def test_dashboard_draws_the_period(login, tracker_store):
    chat = Chat(tracker_store, "today", NOW - timedelta(hours=1))
    chat.turn("how many sessions", "faq", 0.9, faq="sessions", reply=["action_answer"])
    chat.turn("qwzx", "nlu_fallback", 0.2, reply=["action_clarify"])
    Chat(tracker_store, "crisis", NOW - timedelta(days=3)).turn(
        "I want to die", "crisis", 1.0, reply=["utter_crisis"])
    client = login("reviewer")
    html = client.get("/console?days=7").text
    assert 'aria-current="page">7 days' in html
    assert html.count('role="img"') == 2
    assert "<title id=\"activity-title\">Conversations and messages per day</title>" in html
    assert "FAQ: sessions" in html and "Not understood" in html
    assert ">qwzx</a>" in html  # an unanswered question, linked to its conversations
    assert "33%" in html  # 1 of 3 messages not understood
    assert 'href="/console/conversations?crisis=1&amp;from=' in html
    assert "style=" not in html and "<script" not in html
    # An unknown period falls back to 30 days.
    assert 'aria-current="page">30 days' in client.get("/console?days=12").text


def test_charts_escape_their_text_and_say_the_data_in_words():
    from bot.console import charts

    line = charts.line_chart("per-day", "Messages <per> day", ["1 Mar", "2 Mar", "3 Mar"],
                             [("Messages", [3, 0, 12]), ("Conversations", [1, 0, 4])])
    assert 'role="img" aria-labelledby="per-day-title per-day-desc"' in line
    assert "Messages &lt;per&gt; day, 1 Mar to 3 Mar. Messages: 1 Mar 3, 2 Mar 0, 3 Mar 12; " \
           "Conversations: 1 Mar 1, 2 Mar 0, 3 Mar 4." in line
    assert line.count("<circle") == 6 and "<polyline" in line and 'stroke-dasharray' in line
    assert ">15<" in line  # the y axis reaches a round number above the largest value
    bars = charts.bar_chart("topics", "Topics", [("<script>alert(1)</script>", 5), ("FAQ: cost", 2)])
    assert "<script>" not in bars and "&lt;script&gt;" in bars
    assert "Topics: &lt;script&gt;alert(1)&lt;/script&gt; 5, FAQ: cost 2." in bars
    assert bars.count("<rect") == 2
    for svg in (line, bars, charts.bar_chart("none", "Topics", [])):
        assert "style=" not in svg and "<script" not in svg
    assert "Nothing to show yet." in charts.bar_chart("none", "Topics", [])
    assert charts.nice_ticks(0) == [0, 1] and charts.nice_ticks(7) == [0, 2, 4, 6, 8]
    assert charts.nice_ticks(120) == [0, 50, 100, 150]
