"""Both contraindication actions with a real rasa_sdk Tracker and CollectingDispatcher, over a
SQLite database loaded from the data file (reached through DB_URL, read at call time)."""
from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.answer import AnswerAction
from actions.contraindications import (
    ActionCheckContraindications,
    ActionListContraindications,
    human_join,
)
from bot.contraindications.loader import DEFAULT_DATA_FILE, load
from bot.contraindications.repository import load_catalog

REFERRAL = "utter_referral"
UNAVAILABLE = "utter_contraindications_unavailable"
UNREACHABLE_POSTGRES = "postgresql://postgres@127.0.0.1:1/ketamine_faq"
FORBIDDEN = re.compile(r"you(?:'re| are) (safe|eligible)|no problem", re.IGNORECASE)


def make_tracker(
    text: str, affirmed: Optional[list] = None, denied: Optional[list] = None
) -> Tracker:
    return Tracker.from_dict(
        {
            "sender_id": "visitor-1",
            "slots": {"conditions_affirmed": affirmed, "conditions_denied": denied},
            "latest_message": {"text": text, "intent": {"name": "ask_contraindication"}},
            "events": [],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        }
    )


async def run(action: AnswerAction, tracker: Tracker) -> Tuple[List[Dict[str, Any]], list]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, {})
    for message in dispatcher.messages:  # nothing we send ever concludes eligibility
        assert not any(FORBIDDEN.search(str(v)) for v in message.values()), message
    assert dispatcher.messages and dispatcher.messages[-1]["response"] == REFERRAL
    return dispatcher.messages, events


def responses(messages: Sequence[Dict[str, Any]]) -> List[str]:
    return [m["response"] for m in messages]


def slots(events: list) -> Dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}


async def check(text: str, affirmed=None, denied=None):
    return await run(ActionCheckContraindications(), make_tracker(text, affirmed, denied))


def test_both_actions_are_answer_actions() -> None:
    for cls in (ActionCheckContraindications, ActionListContraindications):
        assert issubclass(cls, AnswerAction) and "run" not in cls.__dict__
    assert ActionCheckContraindications().name() == "action_check_contraindications"
    assert ActionListContraindications().name() == "action_list_contraindications"


async def test_affirmed_condition(loaded_db: str) -> None:
    messages, events = await check("I have hypertension")
    assert responses(messages) == ["utter_condition_caution", REFERRAL]
    hbp = load_catalog().get("high_blood_pressure")
    assert messages[0]["condition"] == "High blood pressure"
    assert messages[0]["explanation"] == hbp.explanation
    assert events == [
        SlotSet("conditions_affirmed", ["high_blood_pressure"]),
        SlotSet("conditions_denied", []),
    ]


async def test_several_conditions_most_serious_first(loaded_db: str) -> None:
    messages, events = await check("I take Xanax, I'm pregnant and I have a brain aneurysm")
    assert responses(messages) == [
        "utter_condition_contraindicated",
        "utter_condition_not_recommended",
        "utter_condition_caution",
        REFERRAL,
    ]
    assert [m["condition"] for m in messages[:3]] == [
        "Aneurysm", "Pregnancy or breastfeeding", "Benzodiazepines"]
    assert slots(events)["conditions_affirmed"] == [
        "benzodiazepines", "pregnancy_breastfeeding", "aneurysm"]


async def test_negation(loaded_db: str) -> None:
    messages, events = await check("I don't have high blood pressure but I had a stroke")
    assert responses(messages) == ["utter_condition_caution", "utter_conditions_denied", REFERRAL]
    assert messages[0]["condition"] == "Stroke"
    assert messages[1]["conditions"] == "high blood pressure"
    assert slots(events) == {
        "conditions_affirmed": ["stroke"], "conditions_denied": ["high_blood_pressure"]}


async def test_several_denied_in_one_message(loaded_db: str) -> None:
    messages, events = await check("I don't have heart problems, stroke or high blood pressure")
    assert responses(messages) == ["utter_conditions_denied", REFERRAL]
    assert messages[0]["conditions"] == "heart problems, stroke and high blood pressure"
    assert slots(events)["conditions_affirmed"] == []


async def test_memory_across_turns(loaded_db: str) -> None:
    _, events = await check("I have hypertension")
    remembered = slots(events)

    messages, events = await check(
        "can I still get ketamine?",
        remembered["conditions_affirmed"], remembered["conditions_denied"],
    )
    assert responses(messages) == ["utter_condition_caution", REFERRAL]
    assert messages[0]["condition"] == "High blood pressure"
    assert slots(events) == remembered

    # a later message adds to what is remembered, and answers only what it names
    messages, events = await check("I also take opioids", remembered["conditions_affirmed"], [])
    assert [m["condition"] for m in messages[:-1]] == ["Opioids"]
    assert slots(events)["conditions_affirmed"] == ["high_blood_pressure", "opioids"]


async def test_memory_moves_between_affirmed_and_denied(loaded_db: str) -> None:
    _, events = await check(
        "sorry, I don't have high blood pressure. I had a stroke", ["high_blood_pressure"], [])
    assert slots(events) == {
        "conditions_affirmed": ["stroke"], "conditions_denied": ["high_blood_pressure"]}

    _, events = await check("actually I did have a stroke", [], ["stroke", "opioids"])
    assert slots(events) == {"conditions_affirmed": ["stroke"], "conditions_denied": ["opioids"]}


async def test_unknown_condition(loaded_db: str) -> None:
    messages, events = await check("I was diagnosed with lupus")
    assert responses(messages) == ["utter_condition_unknown", REFERRAL]
    assert messages[0]["condition"] == "lupus"
    assert slots(events) == {"conditions_affirmed": [], "conditions_denied": []}


async def test_known_and_unknown_together(loaded_db: str) -> None:
    messages, _ = await check("I have asthma and high blood pressure")
    assert responses(messages) == [
        "utter_condition_caution", "utter_condition_unknown", REFERRAL]
    assert messages[1]["condition"] == "asthma"


@pytest.mark.parametrize("affirmed, denied", [(None, None), ([], ["stroke"])])
async def test_nothing_known_asks_which_condition(loaded_db: str, affirmed, denied) -> None:
    messages, events = await check("can I get ketamine?", affirmed, denied)
    assert responses(messages) == ["utter_ask_which_condition", REFERRAL]
    assert slots(events) == {"conditions_affirmed": [], "conditions_denied": denied or []}


async def test_slot_keys_no_longer_in_the_database_are_dropped(loaded_db: str) -> None:
    messages, events = await check("and now?", ["retired_condition", "stroke"], ["gone"])
    assert [m["condition"] for m in messages[:-1]] == ["Stroke"]
    assert slots(events) == {"conditions_affirmed": ["stroke"], "conditions_denied": []}


async def test_a_new_synonym_goes_live_on_reload(loaded_db: str, tmp_path: Path) -> None:
    messages, _ = await check("I have ticker trouble")
    assert responses(messages)[0] != "utter_condition_caution"

    raw = yaml.safe_load(DEFAULT_DATA_FILE.read_text(encoding="utf-8"))
    heart = next(c for c in raw["conditions"] if c["key"] == "heart_problems")
    heart["synonyms"].append("ticker trouble")
    changed = tmp_path / "changed.yml"
    changed.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    load(changed, url=loaded_db)

    messages, events = await check("I have ticker trouble")  # same process, no restart
    assert responses(messages) == ["utter_condition_caution", REFERRAL]
    assert slots(events)["conditions_affirmed"] == ["heart_problems"]


async def test_list_comes_from_the_database(loaded_db: str, tmp_path: Path) -> None:
    question = make_tracker("who shouldn't take it?")
    messages, events = await run(ActionListContraindications(), question)
    assert responses(messages) == ["utter_contraindications_list", REFERRAL]
    assert events == []
    catalog = load_catalog()
    listed = messages[0]
    assert listed["contraindicated"] == (
        "aneurysm, arteriovenous malformation (AVM), bleeding in the brain and "
        "allergy to ketamine or esketamine"
    )
    assert listed["not_recommended"] == "pregnancy or breastfeeding"
    assert listed["medicines"] == (
        "benzodiazepines, opioids, sleeping pills, stimulants and MAOIs")
    assert listed["caution"] == human_join(catalog.names(kind="condition", level="caution"))
    assert listed["caution"].startswith("stroke, high blood pressure, heart problems")

    # a condition removed from the data file disappears from the list
    raw = yaml.safe_load(DEFAULT_DATA_FILE.read_text(encoding="utf-8"))
    raw["conditions"] = [c for c in raw["conditions"] if c["key"] != "liver_disease"]
    changed = tmp_path / "changed.yml"
    changed.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    load(changed, url=loaded_db)
    messages, _ = await run(ActionListContraindications(), question)
    assert "liver" not in messages[0]["caution"]


@pytest.mark.parametrize("action", [ActionCheckContraindications, ActionListContraindications])
async def test_database_down(
    action, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("DB_URL", UNREACHABLE_POSTGRES)
    with caplog.at_level(logging.ERROR):
        messages, events = await run(action(), make_tracker("I have hypertension", ["stroke"]))
    assert responses(messages) == [UNAVAILABLE, REFERRAL]
    assert events == []
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any(r.name == "actions.contraindications" and "unavailable" in r.getMessage()
               for r in errors)


async def test_database_not_migrated(sqlite_url: str, monkeypatch: pytest.MonkeyPatch,
                                     caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("DB_URL", sqlite_url)  # an empty SQLite file: no tables
    with caplog.at_level(logging.ERROR):
        messages, _ = await check("I have hypertension")
    assert responses(messages) == [UNAVAILABLE, REFERRAL]
    assert any(r.levelno == logging.ERROR for r in caplog.records)


@pytest.mark.parametrize("text", ["", "😀🙏", "\x00\x01\ud800", "Ich habe Bluthochdruck",
                                  "x" * 100_000])
async def test_odd_input_asks_which_condition(loaded_db: str, text: str) -> None:
    messages, _ = await check(text)
    assert responses(messages) == ["utter_ask_which_condition", REFERRAL]


@pytest.mark.parametrize("items, joined", [
    ([], ""), (["a"], "a"), (["a", "b"], "a and b"), (["a", "b", "c"], "a, b and c")])
def test_human_join(items, joined) -> None:
    assert human_join(items) == joined
