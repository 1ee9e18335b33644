"""Corrections into data/*.yml (bot/console/training_data.py), on a copy of the project's data/:
the exact lines added, everything else byte for byte, loadable and valid for Rasa, idempotent."""
from __future__ import annotations

import shutil
import warnings
from collections import Counter, defaultdict
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select

from bot.console import training_data
from bot.console.models import AuditEvent, Correction, FaqEntry
from bot.content.checks import (
    MIN_EXAMPLES,
    SOURCES,
    answer_problems,
    example_problems,
    normalize_example,
)
from bot.db.engine import session_scope
from bot.settings import PROJECT_ROOT

PARKING_ANSWER = ('Most clinics have "free" parking close by. Ask the clinic where to park when '
                  "you book, because someone should drive you home after a session.")
PARKING_EXAMPLES = ['where do i park? "free" #1: yes', "parking\nspaces",
                    "can i park at the clinic", "is parking free",
                    "parking near the clinic: any tips?"]


@pytest.fixture
def data_dir(tmp_path) -> Path:
    target = tmp_path / "project" / "data"
    shutil.copytree(PROJECT_ROOT / "data", target)
    return target


def _examples(path: Path) -> dict:
    found = defaultdict(list)
    for block in yaml.safe_load(path.read_text(encoding="utf-8"))["nlu"]:
        if "intent" in block:
            found[block["intent"]] += [line[2:] for line in block["examples"].splitlines()]
    return found


def _teach(session, data_dir: Path) -> dict:
    """A new question, two relabels, a duplicate, a conflicting duplicate and an ignore."""
    existing = _examples(data_dir / "nlu.yml")["faq/getting_started"][0]
    entry = FaqEntry(key="parking", title='Is there "parking" at the clinic?',
                     answer=PARKING_ANSWER, sources=["SPR", "A2"], created_by="amy")
    session.add(entry)
    session.flush()
    rows = {"examples": [Correction(kind="new_question", text=text, intent="faq/parking",
                                    faq_entry_id=entry.id, created_by="amy")
                         for text in PARKING_EXAMPLES]}
    rows["relabel_cost"] = Correction(kind="relabel", event_id=11, sender_id="v1",
                                      text="can i pay with my hsa card", intent="faq/cost",
                                      created_by="amy")
    rows["relabel_greet"] = Correction(kind="relabel", event_id=12, sender_id="v1",
                                       text="hiya friend, good evening", intent="greet",
                                       created_by="ben")
    rows["duplicate"] = Correction(kind="relabel", text=existing, intent="faq/getting_started",
                                   created_by="amy")
    rows["conflict"] = Correction(kind="relabel", text=existing.upper(), intent="faq/cost",
                                  created_by="amy")
    rows["ignore"] = Correction(kind="ignore", event_id=13, sender_id="v2",
                                text="my email is [EMAIL]", created_by="amy")
    session.add_all(rows["examples"] + [r for k, r in rows.items() if k != "examples"])
    session.flush()
    ids = {k: (r.id if k != "examples" else [c.id for c in r]) for k, r in rows.items()}
    ids["entry"] = entry.id
    return ids


def _insert_after(text: str, anchor: str, lines: list) -> str:
    assert text.count(anchor) == 1, anchor
    return text.replace(anchor, anchor + "".join(lines))


def _expected(data_dir: Path) -> tuple:
    nlu = (data_dir / "nlu.yml").read_text(encoding="utf-8")
    examples = _examples(data_dir / "nlu.yml")
    last_faq = [i for i in examples if i.startswith("faq/")][-1]
    parking = ["\n", "- intent: faq/parking\n", "  examples: |\n",
               "    - where do i park? \"free\" #1: yes\n", "    - parking spaces\n",
               "    - can i park at the clinic\n", "    - is parking free\n",
               "    - parking near the clinic: any tips?\n"]
    nlu = _insert_after(nlu, f"    - {examples['greet'][-1]}\n",
                        ["    - hiya friend, good evening\n"])
    nlu = _insert_after(nlu, f"    - {examples['faq/cost'][-1]}\n",
                        ["    - can i pay with my hsa card\n"])
    nlu = _insert_after(nlu, f"    - {examples[last_faq][-1]}\n", parking)
    answer = [
        "  utter_faq/parking:\n",
        '  - text: "Most clinics have \\"free\\" parking close by. Ask the clinic where to park '
        'when you book, because someone should drive you home after a session."\n',
        "    metadata:\n",
        '      title: "Is there \\"parking\\" at the clinic?"\n',
        "      sources: [A2, SPR]\n",
    ]
    responses = (data_dir / "faq_responses.yml").read_text(encoding="utf-8") + "".join(answer)
    added = (["+" + line.rstrip("\n") for line in answer]
             + ["+    - hiya friend, good evening", "+    - can i pay with my hsa card"]
             + ["+" + line.rstrip("\n") for line in parking])
    return nlu, responses, added


@pytest.mark.usefixtures("console_db_any")
def test_the_export_adds_exactly_the_taught_lines(data_dir):
    expected_nlu, expected_responses, expected_added = _expected(data_dir)
    untouched = {p.name: p.read_bytes() for p in data_dir.iterdir()
                 if p.name not in ("nlu.yml", "faq_responses.yml")}
    with session_scope() as session:
        ids = _teach(session, data_dir)
    with session_scope() as session:
        plan = training_data.plan_export(session, data_dir)

    assert plan.files == {"nlu.yml": expected_nlu, "faq_responses.yml": expected_responses}
    changed = [line for line in plan.diff.splitlines()
               if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    # Nothing removed, nothing else added. (Compared as multisets: where difflib places the blank
    # line between two intent blocks depends on the rest of the file; the exact text is checked
    # just above.)
    assert Counter(changed) == Counter(expected_added)
    assert "--- a/data/faq_responses.yml" in plan.diff and "+++ b/data/nlu.yml" in plan.diff
    # Written: the new question, both relabels, the duplicate (already there) and the ignore.
    assert plan.correction_ids == sorted(ids["examples"] + [
        ids["relabel_cost"], ids["relabel_greet"], ids["duplicate"], ids["ignore"]])
    assert plan.faq_entry_ids == [ids["entry"]]
    reasons = {s.item: (s.reason, s.pending) for s in plan.skipped}
    assert reasons[f"correction {ids['duplicate']}"] == (
        "already an example of faq/getting_started", False)
    assert reasons[f"correction {ids['ignore']}"] == ('marked "ignore" by amy', False)
    conflict, pending = reasons[f"correction {ids['conflict']}"]
    assert pending and conflict.startswith("already an example of faq/getting_started")
    assert "my email" not in plan.diff  # an ignored message is never written

    training_data.write_export(plan, data_dir)
    assert (data_dir / "nlu.yml").read_text(encoding="utf-8") == expected_nlu
    assert (data_dir / "faq_responses.yml").read_text(encoding="utf-8") == expected_responses
    assert {p.name: p.read_bytes() for p in data_dir.iterdir()
            if p.name not in ("nlu.yml", "faq_responses.yml")} == untouched


def test_the_exported_data_loads_in_rasa_and_validates(console_db, data_dir):
    from rasa.shared.importers.importer import TrainingDataImporter
    from rasa.shared.nlu.training_data.loading import load_data
    from rasa.validator import Validator

    with session_scope() as session:
        _teach(session, data_dir)
        training_data.apply_corrections(session, data_dir)

    nlu = load_data(str(data_dir / "nlu.yml"))
    parking = [m.get("text") for m in nlu.intent_examples
               if m.get("intent_response_key") == "faq/parking"]
    assert parking == [" ".join(t.split()) for t in PARKING_EXAMPLES]
    assert "can i pay with my hsa card" in [
        m.get("text") for m in nlu.intent_examples if m.get("intent_response_key") == "faq/cost"]

    importer = TrainingDataImporter.load_from_config(
        str(PROJECT_ROOT / "config.yml"), str(PROJECT_ROOT / "domain.yml"), [str(data_dir)])
    response = importer.get_domain().responses["utter_faq/parking"]
    assert response == [{"text": PARKING_ANSWER, "metadata": {
        "title": 'Is there "parking" at the clinic?', "sources": ["A2", "SPR"]}}]
    assert importer.get_nlu_data().responses["utter_faq/parking"] == response
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Rasa's deprecation chatter; failures are return values
        validator = Validator.from_importer(importer)
        assert validator.verify_domain_validity()
        assert validator.verify_intents(ignore_warnings=False)
        assert validator.verify_example_repetition_in_intents(ignore_warnings=False)
        assert validator.verify_intents_in_stories(ignore_warnings=False)
        assert validator.verify_story_structure(ignore_warnings=False, max_history=5)

    # And the project's own content rules hold for the new material.
    examples = _examples(data_dir / "nlu.yml")
    owner = {normalize_example(t): i for i, texts in examples.items() for t in texts}
    for intent in ("faq/parking", "faq/cost", "greet"):
        elsewhere = {t: i for t, i in owner.items() if i != intent}
        assert example_problems(examples[intent], MIN_EXAMPLES, elsewhere) == [], intent
    assert answer_problems(response[0]["text"], response[0]["metadata"]["sources"], SOURCES) == []


@pytest.mark.usefixtures("console_db_any")
def test_exporting_twice_adds_nothing_and_mark_exported_settles_the_rows(data_dir):
    with session_scope() as session:
        ids = _teach(session, data_dir)
    with session_scope() as session:
        first = training_data.apply_corrections(session, data_dir)  # the gate's use: not marked
    written = {name: (data_dir / name).read_bytes() for name in first.files}
    with session_scope() as session:
        exported = select(Correction).where(Correction.exported_at.is_not(None))
        assert session.scalars(exported).all() == []
        again = training_data.plan_export(session, data_dir)
        assert again.files == {} and again.diff == ""
        # The same items settle: they are in the data now.
        assert again.correction_ids == first.correction_ids
        assert again.faq_entry_ids == first.faq_entry_ids
        training_data.write_export(again, data_dir)
        assert {name: (data_dir / name).read_bytes() for name in first.files} == written

        assert training_data.mark_exported(session, again) == len(again.correction_ids) + 1
    with session_scope() as session:
        pending = session.scalars(select(Correction).where(Correction.exported_at.is_(None))).all()
        assert [c.id for c in pending] == [ids["conflict"]]  # stays for a person to resolve
        assert session.get(FaqEntry, ids["entry"]).exported_at is not None
        last = training_data.plan_export(session, data_dir)
        assert last.files == {} and last.correction_ids == [] and last.faq_entry_ids == []


def test_a_file_changed_after_planning_is_not_overwritten(console_db, data_dir):
    with session_scope() as session:
        _teach(session, data_dir)
        plan = training_data.plan_export(session, data_dir)
    nlu = data_dir / "nlu.yml"
    nlu.write_text(nlu.read_text(encoding="utf-8") + "\n# edited by hand\n", encoding="utf-8")
    before = {p.name: p.read_bytes() for p in data_dir.iterdir()}
    with pytest.raises(training_data.ExportError, match="changed since"):
        training_data.write_export(plan, data_dir)
    assert {p.name: p.read_bytes() for p in data_dir.iterdir()} == before


def test_a_new_question_waits_until_it_passes_the_checks(console_db, data_dir):
    original = {p.name: p.read_bytes() for p in data_dir.iterdir()}
    with session_scope() as session:
        short = FaqEntry(key="parking", title="Is there parking?", answer=PARKING_ANSWER,
                         sources=["SPR"], created_by="amy")
        claims = FaqEntry(
            key="miracle", title="Is it a miracle?", sources=["SPR"], created_by="amy",
            answer="Ketamine is a miracle drug. It works for everyone who tries it.")
        session.add_all([short, claims])
        session.flush()
        # Four new phrasings plus one the training data already has: not enough.
        texts = ["is there parking", "where should i leave my car", "can i park there", "parking?",
                 _examples(data_dir / "nlu.yml")["faq/cost"][0]]
        session.add_all([Correction(kind="new_question", text=t, intent="faq/parking",
                                    faq_entry_id=short.id, created_by="amy") for t in texts])
        session.add_all([Correction(kind="new_question", text=f"is ketamine a miracle {n}",
                                    intent="faq/miracle", faq_entry_id=claims.id, created_by="amy")
                         for n in range(MIN_EXAMPLES)])
        session.add(Correction(kind="relabel", text="[link](url) parking", intent="faq/cost",
                               created_by="amy"))
        plan = training_data.apply_corrections(session, data_dir)
        reasons = {s.item: s.reason for s in plan.skipped if s.pending}
        assert reasons[f"new question {short.id}"] == "it has 4 new phrasings; it needs at least 5"
        assert 'forbids ("miracle")' in reasons[f"new question {claims.id}"]
        assert 'forbids ("works for everyone")' in reasons[f"new question {claims.id}"]
        assert sum("waits for its new question" in r for r in reasons.values()) == 10
        assert any("markup" in r for r in reasons.values())
        assert plan.files == {} and plan.correction_ids == [] and plan.faq_entry_ids == []
    assert {p.name: p.read_bytes() for p in data_dir.iterdir()} == original


def test_the_command_prints_the_diff_writes_marks_and_audits(console_db, data_dir, capsys):
    project = data_dir.parent
    with session_scope() as session:
        ids = _teach(session, data_dir)
    original = (data_dir / "nlu.yml").read_bytes()

    assert training_data.export_training_data_command(project, dry_run=True) == 0
    out = capsys.readouterr().out
    assert "+- intent: faq/parking" in out and "Dry run: nothing written." in out
    assert (data_dir / "nlu.yml").read_bytes() == original

    assert training_data.export_training_data_command(project, dry_run=False) == 0
    out = capsys.readouterr().out
    assert "+    - can i pay with my hsa card" in out
    assert "git diff data/" in out
    assert "- intent: faq/parking" in (data_dir / "nlu.yml").read_text(encoding="utf-8")
    with session_scope() as session:
        assert session.get(Correction, ids["relabel_cost"]).exported_at is not None
        assert session.get(Correction, ids["conflict"]).exported_at is None
        event = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "export_training_data")).one()
        assert event.username == "system"
        assert event.detail["faq_entries"] == [ids["entry"]]
        assert event.detail["examples"] == len(PARKING_EXAMPLES) + 2

    assert training_data.export_training_data_command(project, dry_run=False) == 0
    assert "No new training examples or answers to write." in capsys.readouterr().out
