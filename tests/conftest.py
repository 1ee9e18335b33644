"""Shared pytest set-up. Database fixtures live in tests/db_fixtures.py, the running
services in tests/stack.py."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest
import yaml
from rasa_sdk import Tracker

pytest_plugins = ["tests.db_fixtures", "tests.stack", "tests.browser"]


def nlu_examples(path) -> Iterator[Tuple[str, str]]:
    """(intent, text) for every example in a Rasa NLU YAML file."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    for block in data["nlu"]:
        if "intent" in block:
            for line in block["examples"].splitlines():
                line = line.strip()
                if line.startswith("- "):
                    yield block["intent"], line[2:].strip()


@pytest.fixture(scope="session")
def domain() -> Dict[str, Any]:
    """The domain as the action server receives it: domain.yml plus the FAQ responses."""
    from rasa.shared.importers.importer import TrainingDataImporter

    importer = TrainingDataImporter.load_from_config("config.yml", "domain.yml", ["data"])
    return importer.get_domain().as_dict()


def make_tracker(
    text: str = "",
    intent: Optional[str] = None,
    faq_key: Optional[str] = None,
    faq_ranking: Optional[List[Dict[str, Any]]] = None,
    slots: Optional[Dict[str, Any]] = None,
    sender_id: str = "test-visitor",
) -> Tracker:
    """A real rasa_sdk Tracker whose latest message looks like what Rasa's NLU produces."""
    latest: Dict[str, Any] = {"text": text, "intent": {"name": intent, "confidence": 0.95},
                              "entities": []}
    if faq_key is not None or faq_ranking is not None:
        latest["response_selector"] = {
            "all_retrieval_intents": ["faq"],
            "faq": {
                "response": {
                    "intent_response_key": f"faq/{faq_key}" if faq_key else None,
                    "utter_action": f"utter_faq/{faq_key}" if faq_key else None,
                    "confidence": 0.9,
                },
                "ranking": faq_ranking or [],
            },
        }
    return Tracker(
        sender_id=sender_id,
        slots=slots or {},
        latest_message=latest,
        events=[{"event": "user", "text": text, "parse_data": latest}],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


@pytest.fixture(scope="session")
def parser():
    from tests.model import Parser, latest_model

    return Parser(latest_model())
