"""Loading data/contraindications.yml: migrations, idempotence, updates and removals.

Runs on a real SQLite file and on a fresh PostgreSQL database (skipped locally when PostgreSQL is
unreachable; fails in CI).
"""
from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any, Dict

import pytest
import yaml
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Integer, MetaData, String, Table, func, insert, inspect, select

from bot.contraindications.__main__ import main as cli_main
from bot.contraindications.loader import (
    DEFAULT_DATA_FILE,
    DataFileError,
    load,
    parse_data,
    read_data_file,
)
from bot.contraindications.models import LEVELS, Condition, Source, Synonym
from bot.contraindications.repository import load_catalog
from bot.db import migrate
from bot.db.base import import_all_models
from bot.db.engine import get_engine, session_scope

BOTH = pytest.mark.parametrize("db_url", ["sqlite", "postgres"], indirect=True)
OUR_TABLES = {"sources", "conditions", "condition_sources", "condition_synonyms"}


def _raw() -> Dict[str, Any]:
    return yaml.safe_load(DEFAULT_DATA_FILE.read_text(encoding="utf-8"))


def _write(tmp_path: Path, raw: Dict[str, Any], name: str = "data.yml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(raw, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def _snapshot(url: str) -> Dict[str, Any]:
    """Everything the tables hold, keyed by meaningful values (not ids)."""
    with session_scope(url) as session:
        conditions = {
            c.key: (c.kind, c.name, c.level, c.explanation, c.position,
                    sorted(s.id for s in c.sources), sorted(s.phrase for s in c.synonyms))
            for c in session.execute(select(Condition)).scalars()
        }
        sources = {s.id: s.title for s in session.execute(select(Source)).scalars()}
        orphans = session.execute(
            select(func.count()).select_from(Synonym).where(
                Synonym.condition_id.not_in(select(Condition.id))
            )
        ).scalar_one()
    return {"conditions": conditions, "sources": sources, "orphan_synonyms": orphans}


def _expected(raw: Dict[str, Any]) -> Dict[str, Any]:
    data = parse_data(raw)
    return {
        "conditions": {
            c.key: (c.kind, c.name, c.level, c.explanation, n, sorted(c.sources),
                    sorted(c.synonyms))
            for n, c in enumerate(data.conditions)
        },
        "sources": {s.id: s.title for s in data.sources},
        "orphan_synonyms": 0,
    }


@BOTH
def test_load_is_idempotent(db_url: str) -> None:
    first = load(url=db_url)
    assert first.changed and len(first.added) == first.conditions + first.medicines
    after_first = _snapshot(db_url)
    assert after_first == _expected(_raw())

    second = load(url=db_url)
    assert not second.changed, second.summary()
    assert _snapshot(db_url) == after_first
    assert (second.conditions, second.medicines, second.synonyms) == (
        first.conditions, first.medicines, first.synonyms,
    )


@BOTH
def test_changed_file_updates_and_removes_rows(db_url: str, tmp_path: Path) -> None:
    original = _raw()
    load(url=db_url)

    changed = copy.deepcopy(original)
    entries = {c["key"]: c for c in changed["conditions"]}
    # update: explanation, level, name
    entries["stroke"]["explanation"] = "A changed explanation for the test. A doctor must decide."
    entries["bladder_problems"]["level"] = "not_recommended"
    entries["opioids"]["name"] = "opioid painkillers"
    # remove a condition (with its synonyms) and a synonym
    changed["conditions"] = [c for c in changed["conditions"] if c["key"] != "liver_disease"]
    entries["high_blood_pressure"]["synonyms"].remove("htn")
    # move a synonym from one condition to another in the same load
    entries["stroke"]["synonyms"].remove("brain attack")
    entries["aneurysm"]["synonyms"].append("brain attack")
    # add a condition with a new source; remove a source nobody cites any more
    changed["sources"].append({"id": "TEST1", "title": "A source added by the test"})
    changed["conditions"].append({
        "key": "test_condition", "kind": "condition", "name": "test condition",
        "level": "caution", "explanation": "Only for the test.", "sources": ["TEST1"],
        "synonyms": ["test condition", "testing illness"],
    })
    for entry in changed["conditions"]:
        entry["sources"] = [s for s in entry["sources"] if s != "ASRA18"]
    changed["sources"] = [s for s in changed["sources"] if s["id"] != "ASRA18"]

    report = load(_write(tmp_path, changed), url=db_url)
    assert report.added == ["test_condition"]
    assert report.removed == ["liver_disease"]
    assert {"stroke", "bladder_problems", "opioids", "heart_problems"} <= set(report.updated)
    assert report.synonyms_removed == 2 and report.synonyms_added == 3
    assert _snapshot(db_url) == _expected(changed)

    # the matcher built from the database follows the change
    catalog = load_catalog(db_url)
    assert catalog.get("liver_disease") is None
    assert catalog.get("bladder_problems").level == "not_recommended"
    assert "htn" not in catalog.get("high_blood_pressure").synonyms

    # and back again
    load(url=db_url)
    assert _snapshot(db_url) == _expected(original)


@BOTH
def test_invalid_file_changes_nothing(db_url: str, tmp_path: Path) -> None:
    load(url=db_url)
    before = _snapshot(db_url)
    broken = _raw()
    broken["conditions"][0]["sources"] = ["NOPE"]
    with pytest.raises(DataFileError, match="unknown source id 'NOPE'"):
        load(_write(tmp_path, broken), url=db_url)
    assert _snapshot(db_url) == before


@BOTH
def test_migrations_never_touch_the_tracker_store_events_table(db_url: str) -> None:
    """Rasa's SQL tracker store keeps its own `events` table in the same database."""
    engine = get_engine(db_url)
    rasa_like = MetaData()
    events = Table(
        "events", rasa_like,
        Column("id", Integer, primary_key=True),
        Column("sender_id", String(255), nullable=False),
        Column("data", String(2000)),
    )
    rasa_like.create_all(engine)
    with engine.begin() as connection:
        connection.execute(insert(events).values(sender_id="visitor", data="{}"))

    migrate.upgrade(db_url)
    assert OUR_TABLES <= set(inspect(engine).get_table_names())
    migrate.downgrade(db_url, "base")
    migrate.upgrade(db_url)

    with engine.connect() as connection:
        assert connection.execute(select(events.c.sender_id)).scalars().all() == ["visitor"]
        # autogenerate sees no difference: it would neither create nor drop `events`
        target = import_all_models()
        context = MigrationContext.configure(
            connection,
            opts={"compare_type": True,
                  "include_object": lambda o, name, type_, r, c:
                      type_ != "table" or name in target.tables},
        )
        assert compare_metadata(context, target) == []


@BOTH
def test_downgrade_to_base_removes_only_our_tables(db_url: str) -> None:
    migrate.upgrade(db_url)
    assert migrate.current(db_url) is not None
    migrate.downgrade(db_url, "base")
    assert not OUR_TABLES & set(inspect(get_engine(db_url)).get_table_names())


def test_cli_load_prints_counts(sqlite_url: str, capsys: pytest.CaptureFixture) -> None:
    assert cli_main(["--url", sqlite_url, "load", "--file", str(DEFAULT_DATA_FILE)]) == 0
    out = capsys.readouterr().out
    data = read_data_file()
    conditions = sum(1 for c in data.conditions if c.kind == "condition")
    medicines = sum(1 for c in data.conditions if c.kind == "medicine")
    synonyms = sum(len(c.synonyms) for c in data.conditions)
    assert f"{conditions} conditions, {medicines} medicines, {synonyms} synonyms" in out
    with capsys.disabled():
        print(f"\ndata/contraindications.yml: {conditions} conditions, {medicines} medicines, "
              f"{synonyms} synonyms, {len(data.sources)} sources")


def test_cli_rejects_a_bad_file(sqlite_url: str, tmp_path: Path, capsys) -> None:
    raw = _raw()
    raw["rules"] = []
    assert cli_main(["--url", sqlite_url, "load", "--file", str(_write(tmp_path, raw))]) == 2
    assert "rules" in capsys.readouterr().err


def test_db_cli_upgrade(sqlite_url: str, capsys: pytest.CaptureFixture) -> None:
    from bot.db.__main__ import main as db_main

    from alembic.script import ScriptDirectory

    from bot.db.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config(sqlite_url)).get_current_head()
    assert db_main(["--url", sqlite_url, "upgrade"]) == 0
    assert f"database at {head}" in capsys.readouterr().out


# --- the data file itself ---------------------------------------------------------------------

def test_rasa_does_not_read_the_data_file() -> None:
    """Rasa takes any YAML under data/ with a line starting `nlu:`/`stories:`/`rules:`/
    `responses:` (at any indentation) for training data (rasa.shared.utils.io.is_key_in_yaml)."""
    for line in DEFAULT_DATA_FILE.read_text(encoding="utf-8").splitlines():
        assert not re.match(r"\s*(nlu|stories|rules|responses):", line), line


@pytest.mark.parametrize("raw_change, message", [
    (lambda r: r.update(nlu=[]), "top-level key 'nlu'"),
    (lambda r: r["conditions"][1].update(level="fine"), "level must be one of"),
    (lambda r: r["conditions"][1]["synonyms"].append("hypertension"), "already belongs to"),
    (lambda r: r["conditions"][1].update(explanation="Don't worry, you are safe."),
     "claim the bot never makes"),
    (lambda r: r["conditions"].append(copy.deepcopy(r["conditions"][0])), "duplicate key"),
])
def test_validation(raw_change, message: str) -> None:
    raw = _raw()
    raw_change(raw)
    with pytest.raises(DataFileError, match=message):
        parse_data(raw)


def test_content_follows_the_clinical_reference() -> None:
    data = read_data_file()
    keys = {c.key: c for c in data.conditions}
    assert {c.level for c in data.conditions} == set(LEVELS)
    for key in ("aneurysm", "arteriovenous_malformation", "brain_bleed", "ketamine_allergy"):
        assert keys[key].level == "contraindicated"
    assert keys["pregnancy_breastfeeding"].level == "not_recommended"
    for key in ("stroke", "high_blood_pressure", "heart_problems", "psychosis",
                "alcohol_or_drug_misuse"):  # the articles' list
        assert keys[key].level == "caution" and "A2" in keys[key].sources
    medicines = {c.key for c in data.conditions if c.kind == "medicine"}
    assert {"benzodiazepines", "opioids", "stimulants", "maois"} <= medicines
    hbp = keys["high_blood_pressure"].explanation
    assert "raises blood pressure" in hbp and "delay a dose" in hbp
    for c in data.conditions:
        assert 8 <= len(c.synonyms) <= 20, c.key
        assert 1 <= len(re.findall(r"[.!?](\s|$)", c.explanation)) <= 2, c.key
        for text in (c.name, c.explanation):
            assert not re.search(r"you(?:'re| are) (safe|eligible)|no problem", text, re.IGNORECASE)
