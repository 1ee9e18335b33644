"""Two Rasa replicas behind nginx share one PostgreSQL tracker store and one Redis lock store:
a conversation can move between them at every turn, and concurrent messages on one
conversation are handled one at a time."""
from __future__ import annotations

import shutil
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.production.conftest import (
    REFERRAL,
    nginx_url,
    post,
    replica_urls,
    texts,
    user_events,
)

pytestmark = pytest.mark.e2e


def _sender() -> str:
    return f"prod-{uuid.uuid4().hex[:10]}"


def test_every_replica_serves_the_model_through_nginx(prod_stack):
    replicas = replica_urls(prod_stack)
    assert len(replicas) == 2
    status, body = post(nginx_url(prod_stack), _sender(), "how many sessions will i need")
    assert status == 200 and "six infusions" in texts(body)[0] and REFERRAL in texts(body)[-1]


def test_a_conversation_alternating_between_replicas_keeps_its_context(prod_stack):
    first, second = replica_urls(prod_stack)
    sender = _sender()
    post(first, sender, "how many sessions does it take?")
    status, body = post(second, sender, "and how long is each one?")  # a follow-up
    assert status == 200 and "40 minutes" in texts(body)[0]
    post(first, sender, "I had a stroke two years ago")
    status, body = post(second, sender, "so can I still get ketamine?")  # remembered condition
    assert texts(body)[0].startswith("Stroke"), texts(body)
    status, body = post(first, sender, "I also have high blood pressure, can I do it?")
    assert any(t.startswith("High blood pressure") for t in texts(body)), texts(body)
    # Every turn is in the database once, in order.
    said = [e["data"]["text"] for e in user_events(prod_stack.settings.db_url, sender)
            if e["type"] == "user"]
    assert said == ["how many sessions does it take?", "and how long is each one?",
                    "I had a stroke two years ago", "so can I still get ketamine?",
                    "I also have high blood pressure, can I do it?"]


def test_round_robin_alternates_and_the_conversation_continues(prod_stack):
    sender = _sender()
    for message in ("what are the side effects", "how fast does it work", "how long does it last"):
        status, body = post(nginx_url(prod_stack), sender, message)
        assert status == 200 and REFERRAL in texts(body)[-1]
    # nginx's access log names the replica of each request: both answered.
    log = (prod_stack.services["nginx"].log_path.parent / "nginx-access.log").read_text()
    rest = [line for line in log.splitlines() if "/webhooks/rest/webhook" in line][-3:]
    ports = {line.rsplit(" upstream=", 1)[1].split()[0].rsplit(":", 1)[1] for line in rest}
    assert ports == {u.rsplit(":", 1)[1] for u in replica_urls(prod_stack)}, rest


def test_sixteen_senders_on_one_conversation_lose_duplicate_and_reorder_nothing(prod_stack):
    """16 threads send 2 messages each, at the same moment, on one conversation, through nginx
    (both replicas). The lock store must serialise them: each message stored once, every
    message's answer stored before the next message, each thread's messages in its order."""
    sender = _sender()
    url = nginx_url(prod_stack)
    start = threading.Barrier(16)
    questions = ["what are the side effects", "how many sessions", "how does it work",
                 "what is esketamine"]

    def hammer(thread: int):
        start.wait()
        results = []
        for turn in range(2):
            message = f"{questions[(thread + turn) % 4]} (thread {thread} turn {turn})"
            results.append((message, *post(url, sender, message, timeout=120)))
        return results

    with ThreadPoolExecutor(16) as pool:
        results = [r for rs in pool.map(hammer, range(16)) for r in rs]
    assert all(status == 200 for _, status, _ in results), [s for _, s, _ in results]
    assert all(REFERRAL in texts(body)[-1] for _, _, body in results)

    events = user_events(prod_stack.settings.db_url, sender)
    said = [e["data"]["text"] for e in events if e["type"] == "user"]
    assert sorted(said) == sorted(m for m, _, _ in results)  # none lost, none duplicated
    for thread in range(16):  # each thread's order kept
        mine = [s for s in said if f"(thread {thread} " in s]
        assert [m.endswith("turn 0)") for m in mine] == [True, False], mine
    # Turns not interleaved: each user message is followed by its answer (2+ bot messages)
    # and the action_listen that ends its turn before the next user message is stored.
    turns = []
    for event in events:
        if event["type"] == "user":
            turns.append([])
        elif turns:
            turns[-1].append(event)
    assert len(turns) == 32
    for turn in turns:
        assert sum(e["type"] == "bot" for e in turn) >= 2, turn
        listens = [e for e in turn if e["type"] == "action" and e["action"] == "action_listen"]
        assert listens and turn[-1]["action"] == "action_listen", turn


def test_a_promoted_model_reaches_every_replica(prod_stack, prod_models):
    """The console's promotion (bot/console/registry.py) makes a model the newest; every replica
    pulls it from the web app's model server, not only one that got PUT /model."""
    from bot.console import registry

    live = registry.live_model(prod_models)
    promoted = prod_models / f"promoted-{uuid.uuid4().hex[:6]}.tar.gz"
    shutil.copy2(live, promoted)
    undo = registry._make_newest(promoted, prod_models)
    started = time.monotonic()
    try:
        assert registry.swap_running_model(promoted, prod_stack.settings) is True
        elapsed = time.monotonic() - started
        for url in replica_urls(prod_stack):
            assert registry._served_model(url, prod_stack.settings) == promoted.name
        assert elapsed < 60
        status, body = post(nginx_url(prod_stack), _sender(), "what is esketamine")
        assert status == 200 and REFERRAL in texts(body)[-1]
    finally:
        undo()
        promoted.unlink()
        # Back to the original model on every replica, for the tests that follow.
        registry._make_newest(live, prod_models)
        registry.swap_running_model(live, prod_stack.settings)
