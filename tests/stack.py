"""pytest plugin: the real services, started once per test session with bot.serve.Stack.

Tests use their own ports and database so they never touch a `make run` in progress.
"""
from __future__ import annotations

import json
import urllib.request
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List

import pytest

from bot.settings import Settings

TEST_PORTS = {"RASA_PORT": "15005", "ACTION_PORT": "15055", "WEB_PORT": "18000"}


def stack_env(ports: Dict[str, str], db_url: str, **extra: str) -> Dict[str, str]:
    """The environment of a test stack on its own ports and database."""
    return {
        **ports,
        "DB_URL": db_url,
        "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{ports['ACTION_PORT']}/webhook",
        "CORS_ORIGINS": f"http://localhost:{ports['WEB_PORT']}",
        # Every test client is 127.0.0.1: no per-address limit (tests/security checks the
        # per-sender one, and nginx's per-address one in the production profile).
        "RATE_LIMIT_PER_ADDRESS": "0",
        **extra,
    }


@contextmanager
def started_stack(environment: Dict[str, str]) -> Iterator[Any]:
    """The real services (bot.serve.Stack) with `environment` set, database loaded first."""
    from bot.contraindications.__main__ import main as load_contraindications
    from bot.serve import Stack

    with pytest.MonkeyPatch.context() as env:
        for key, value in environment.items():
            env.setenv(key, value)
        load_contraindications(["load"])
        stack = Stack(settings=Settings())
        stack.start()
        try:
            yield stack
        finally:
            stack.stop()


@pytest.fixture(scope="session")
def running_stack(tmp_path_factory):
    db_url = f"sqlite:///{tmp_path_factory.mktemp('stack') / 'stack.db'}"
    with started_stack(stack_env(TEST_PORTS, db_url, RASA_AUTH_TOKEN="test-rasa-token")) as stack:
        yield stack


def send(stack, sender: str, message: str) -> List[Dict[str, Any]]:
    """One visitor message over the REST channel; returns the bot's messages."""
    request = urllib.request.Request(
        f"{stack.rasa_url}/webhooks/rest/webhook",
        data=json.dumps({"sender": sender, "message": message}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())
