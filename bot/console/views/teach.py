"""Teaching the bot from the console: say what a visitor message meant (relabel), turn it into a
new FAQ question, or ignore it; see what is pending and the training-data change it makes.

Nothing here writes data/: corrections are rows (with who and when) until
`python -m bot.console export-training-data` or the retrain gate turns them into training data
(bot/console/training_data.py). New answers pass the same checks as the hand-written ones
(bot/content/checks.py). Reviewers and admins can teach.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple
from urllib.parse import quote

from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.console import training_data
from bot.console.audit import audit
from bot.console.models import Correction, FaqEntry, IndexedMessage
from bot.console.render import ROW_IDS, flash, read_form, redirect, render, row_id, user_of
from bot.content.checks import (
    MIN_EXAMPLES,
    SOURCES,
    answer_problems,
    example_problems,
    faq_key_problems,
    normalize_example,
    title_problems,
)
from bot.db.engine import session_scope

# What each hand-written intent means, in the words staff use.
INTENT_LABELS = {
    "greet": "Greeting",
    "goodbye": "Goodbye",
    "thank": "Thanks",
    "affirm": "Yes / agrees",
    "deny": "No / disagrees",
    "bot_challenge": "Asks whether it is talking to a bot",
    "out_of_scope": "Not about ketamine therapy",
    "clinic_practicalities": "Practical question about the clinic (hours, parking, appointments)",
    "crisis": "Crisis: thoughts of suicide or self-harm",
    "request_dosage": "Asks about doses",
    "request_obtain": "Asks where to get ketamine",
    "check_contraindication": "Mentions their own condition or medicine",
    "ask_contraindications": "Asks who should not take ketamine",
}


@dataclass(frozen=True)
class IntentChoice:
    name: str  # full intent name: "greet", "faq/cost"
    label: str
    faq_entry_id: Optional[int] = None  # a new question not yet in the training data


def _data_dir() -> Path:
    return training_data.training_data_dir()


def _pending_entries(session: Session) -> List[FaqEntry]:
    return list(session.scalars(
        select(FaqEntry).where(FaqEntry.exported_at.is_(None)).order_by(FaqEntry.id)
    ))


ChoiceGroups = List[Tuple[str, List[IntentChoice]]]


def intent_choices(session: Session, data_dir: Optional[Path] = None) -> ChoiceGroups:
    """The meanings a message can be given, grouped: FAQ questions (with their titles), new
    questions not yet in the training data, and the other intents."""
    data_dir = data_dir or _data_dir()
    intents = training_data.read_examples(data_dir)
    titles = {k: r.title for k, r in training_data.read_faq_responses(data_dir).items()}
    prefix = training_data.FAQ_PREFIX
    faq = sorted(
        (IntentChoice(i, f"{titles.get(i[len(prefix):]) or i} ({i})")
         for i in intents if i.startswith(prefix)),
        key=lambda c: c.label.lower(),
    )
    new = [
        IntentChoice(f"faq/{e.key}", f"{e.title} (faq/{e.key}, new)", e.id)
        for e in _pending_entries(session) if f"faq/{e.key}" not in intents
    ]
    known = [i for i in INTENT_LABELS if i in intents]
    unlabelled = [i for i in intents if i not in INTENT_LABELS and not i.startswith(prefix)]
    other = [IntentChoice(i, f"{INTENT_LABELS.get(i, i)} ({i})") for i in known + unlabelled]
    groups = [("Questions the bot answers", faq), ("New questions, not yet trained", new),
              ("Other meanings", other)]
    return [(name, choices) for name, choices in groups if choices]


def _describe(correction: Correction) -> str:
    if correction.kind == "ignore":
        return f"Ignored by {correction.created_by}"
    verb = "New question" if correction.kind == "new_question" else "Relabelled as"
    state = ", in the training data" if correction.exported_at else ""
    return f"{verb} {correction.intent} by {correction.created_by}{state}"


def message_actions_context(session: Session, event_ids: Iterable[int] = ()) -> Dict[str, Any]:
    """What teach_message_actions.html needs besides `message`: pass it into the context of a
    page that includes the template (once per page, not per message)."""
    ids = list(event_ids)
    taught: Dict[int, str] = {}
    if ids:
        for correction in session.scalars(
            select(Correction).where(Correction.event_id.in_(ids)).order_by(Correction.id)
        ):
            taught[correction.event_id] = _describe(correction)
    return {"teach_intents": intent_choices(session), "teach_taught": taught}


# --- per-message actions ----------------------------------------------------------------------


def conversation_path(sender_id: str) -> str:
    return f"/console/conversations/{quote(sender_id, safe='')}"


def _back(sender_id: str) -> Response:
    """Back to the conversation the message is in (always the redacted view)."""
    return redirect(conversation_path(sender_id))


def _event_id(request: Request) -> int:
    return request.path_params["event_id"]


def _elsewhere(intents: Dict[str, List[str]], target: str) -> Dict[str, str]:
    """Phrasings of the training data that belong to intents other than `target`."""
    found: Dict[str, str] = {}
    for intent, examples in intents.items():
        if intent != target:
            for example in examples:
                found.setdefault(normalize_example(example), intent)
    return found


def _replace_pending(session: Session, event_id: int) -> List[int]:
    """A newer decision on a message replaces the pending relabel/ignore of it."""
    rows = list(session.scalars(select(Correction).where(
        Correction.event_id == event_id, Correction.exported_at.is_(None),
        Correction.kind.in_(("relabel", "ignore")),
    )))
    for row in rows:
        session.delete(row)
    return [row.id for row in rows]


async def relabel(request: Request) -> Response:
    form = await read_form(request)
    user = user_of(request)
    event_id = _event_id(request)
    chosen = str(form.get("intent", ""))

    def save() -> Tuple[Optional[str], str, str]:
        """(sender id or None if no such message, flash kind, flash text)"""
        with session_scope() as session:
            message = session.get(IndexedMessage, event_id) if event_id in ROW_IDS else None
            if message is None:
                return None, "", ""
            choices = {c.name: c for _, group in intent_choices(session) for c in group}
            choice = choices.get(chosen)
            if choice is None:
                return message.sender_id, "error", "Choose what the message meant from the list."
            # The redacted text, unless the reviewer edited it (never the raw message).
            text = training_data.clean_text(str(form.get("text", ""))) or message.text
            problems = example_problems(
                [text], minimum=1,
                elsewhere=_elsewhere(training_data.read_examples(_data_dir()), choice.name),
            )
            if problems:
                return message.sender_id, "error", " ".join(problems)
            replaced = _replace_pending(session, event_id)
            session.add(Correction(
                kind="relabel", event_id=event_id, sender_id=message.sender_id, text=text,
                intent=choice.name, faq_entry_id=choice.faq_entry_id, created_by=user.username,
            ))
            audit(session, user.username, "relabel", f"message {event_id}", intent=choice.name,
                  sender_id=message.sender_id, replaced=replaced)
            return message.sender_id, "success", (
                f"Saved: this message is now an example of \"{choice.label}\". It goes into the "
                "training data with the next export or retrain."
            )

    sender_id, kind, text = await run_in_threadpool(save)
    if sender_id is None:
        return render(request, "not_found.html", status_code=404, message="No such message.")
    flash(request, text, kind)
    return _back(sender_id)


async def ignore(request: Request) -> Response:
    user = user_of(request)
    event_id = _event_id(request)

    def save() -> Optional[str]:
        with session_scope() as session:
            message = session.get(IndexedMessage, event_id) if event_id in ROW_IDS else None
            if message is None:
                return None
            replaced = _replace_pending(session, event_id)
            session.add(Correction(kind="ignore", event_id=event_id, sender_id=message.sender_id,
                                   text=message.text, created_by=user.username))
            audit(session, user.username, "ignore", f"message {event_id}",
                  sender_id=message.sender_id, replaced=replaced)
            return message.sender_id

    sender_id = await run_in_threadpool(save)
    if sender_id is None:
        return render(request, "not_found.html", status_code=404, message="No such message.")
    flash(request, "Saved: this message will not be used to train the bot.", "success")
    return _back(sender_id)


# --- new question -----------------------------------------------------------------------------


def _new_form_page(request: Request, values: Dict[str, Any], problems: List[str],
                   status_code: int = 200) -> Response:
    return render(
        request, "teach_new.html", status_code=status_code, values=values, problems=problems,
        sources=SOURCES, min_examples=MIN_EXAMPLES,
    )


async def new_question_form(request: Request) -> Response:
    try:
        event_id: Optional[int] = row_id(request.query_params.get("event_id", ""))
    except ValueError:
        event_id = None

    def load() -> str:
        if event_id is None:
            return ""
        with session_scope() as session:
            message = session.get(IndexedMessage, event_id)
            return message.text if message else ""  # redacted text only

    text = await run_in_threadpool(load)
    values = dict(key="", title="", examples=text, answer="", sources=[],
                  event_id=event_id if text else "")
    return _new_form_page(request, values, [])


def _slug(key: str) -> str:
    return re.sub(r"[\s\-]+", "_", key.strip().lower())


async def create_new_question(request: Request) -> Response:
    form = await read_form(request)
    user = user_of(request)
    values = dict(
        key=_slug(str(form.get("key", ""))),
        title=training_data.clean_text(str(form.get("title", ""))),
        examples=str(form.get("examples", "")),
        answer=training_data.clean_text(str(form.get("answer", ""))),
        sources=[str(s) for s in form.getlist("sources")],
        event_id=str(form.get("event_id", "")),
    )
    examples = [t for t in map(training_data.clean_text, values["examples"].splitlines()) if t]
    try:
        event_id: Optional[int] = row_id(values["event_id"])
    except ValueError:
        event_id = None

    def save() -> List[str]:
        with session_scope() as session:
            data_dir = _data_dir()
            taken = training_data.faq_keys(data_dir) | set(session.scalars(select(FaqEntry.key)))
            problems = (
                faq_key_problems(values["key"], taken)
                + title_problems(values["title"])
                + example_problems(examples, MIN_EXAMPLES,
                                   elsewhere=_elsewhere(training_data.read_examples(data_dir), ""))
                + answer_problems(values["answer"], values["sources"], SOURCES)
            )
            if problems:
                return problems
            message = session.get(IndexedMessage, event_id) if event_id is not None else None
            entry = FaqEntry(key=values["key"], title=values["title"], answer=values["answer"],
                             sources=values["sources"], created_by=user.username)
            session.add(entry)
            session.flush()
            for index, text in enumerate(examples):
                # The first phrasing is the one prefilled from the visitor's message.
                origin = message if index == 0 else None
                session.add(Correction(
                    kind="new_question", text=text, intent=f"faq/{entry.key}",
                    faq_entry_id=entry.id, created_by=user.username,
                    event_id=origin.event_id if origin else None,
                    sender_id=origin.sender_id if origin else None,
                ))
            audit(session, user.username, "new_question", f"faq/{entry.key}",
                  examples=len(examples), sources=values["sources"],
                  event_id=message.event_id if message else None)
            return []

    problems = await run_in_threadpool(save)
    if problems:
        return _new_form_page(request, values, problems, status_code=400)
    flash(request, f"Saved the new question \"{values['title']}\". It goes into the training "
                   "data with the next export or retrain.", "success")
    return redirect("/console/teach")


# --- the pending list and the export preview --------------------------------------------------


def _diff_lines(diff: str) -> List[Tuple[str, str]]:
    """(css class, line) for showing a unified diff."""
    lines = []
    for line in diff.splitlines():
        if line.startswith(("+++", "---")):
            kind = "file"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        elif line.startswith("@@"):
            kind = "hunk"
        else:
            kind = ""
        lines.append((kind, line))
    return lines


async def teach_page(request: Request) -> Response:
    def load() -> Dict[str, Any]:
        with session_scope() as session:
            try:
                plan = training_data.plan_export(session, _data_dir())
                error = None
            except training_data.ExportError as problem:
                plan, error = None, str(problem)
            # Why an item is not written: it waits for a fix, or there is nothing to add.
            notes = {
                s.item: ("Not exported yet: " if s.pending else "Nothing to add: ") + s.reason
                for s in (plan.skipped if plan else [])
            }
            corrections = session.scalars(
                select(Correction).where(Correction.exported_at.is_(None)).order_by(Correction.id)
            ).all()
            entries = _pending_entries(session)
            return dict(
                corrections=[
                    dict(id=c.id, kind=c.kind, text=c.text, intent=c.intent,
                         conversation=c.sender_id and conversation_path(c.sender_id),
                         by=c.created_by,
                         at=c.created_at,
                         note=notes.get(f"correction {c.id}") if c.kind != "ignore" else None)
                    for c in corrections if c.faq_entry_id is None or c.kind != "new_question"
                ],
                entries=[
                    dict(id=e.id, key=e.key, title=e.title, answer=e.answer, sources=e.sources,
                         by=e.created_by, at=e.created_at,
                         note=notes.get(f"new question {e.id}"),
                         waits=any(s.pending and s.item == f"new question {e.id}"
                                   for s in (plan.skipped if plan else [])),
                         examples=[c.text for c in corrections if c.faq_entry_id == e.id
                                   and c.kind == "new_question"])
                    for e in entries
                ],
                diff=_diff_lines(plan.diff) if plan else [],
                error=error,
            )

    return render(request, "teach.html", **await run_in_threadpool(load))


async def delete_correction(request: Request) -> Response:
    user = user_of(request)
    correction_id = request.path_params["correction_id"]

    def remove() -> bool:
        with session_scope() as session:
            row = session.get(Correction, correction_id) if correction_id in ROW_IDS else None
            if row is None or row.exported_at is not None:
                return False
            audit(session, user.username, "delete", f"correction {row.id}", kind=row.kind,
                  intent=row.intent, event_id=row.event_id)
            session.delete(row)
            return True

    if await run_in_threadpool(remove):
        flash(request, "Correction deleted.", "success")
    else:
        flash(request, "That correction is no longer pending.", "error")
    return redirect("/console/teach")


async def delete_question(request: Request) -> Response:
    user = user_of(request)
    entry_id = request.path_params["entry_id"]

    def remove() -> bool:
        with session_scope() as session:
            entry = session.get(FaqEntry, entry_id) if entry_id in ROW_IDS else None
            if entry is None or entry.exported_at is not None:
                return False
            session.execute(delete(Correction).where(Correction.faq_entry_id == entry.id))
            audit(session, user.username, "delete", f"new question faq/{entry.key}")
            session.delete(entry)
            return True

    if await run_in_threadpool(remove):
        flash(request, "New question deleted, with its phrasings.", "success")
    else:
        flash(request, "That question is no longer pending.", "error")
    return redirect("/console/teach")


def routes() -> list[Route]:
    return [
        Route("/console/messages/{event_id:int}/relabel", relabel, methods=["POST"],
              name="console_relabel"),
        Route("/console/messages/{event_id:int}/ignore", ignore, methods=["POST"],
              name="console_ignore"),
        Route("/console/teach", teach_page, methods=["GET", "HEAD"], name="console_teach"),
        Route("/console/teach/new", new_question_form, methods=["GET", "HEAD"],
              name="console_teach_new"),
        Route("/console/teach/new", create_new_question, methods=["POST"],
              name="console_teach_new_save"),
        Route("/console/teach/corrections/{correction_id:int}/delete", delete_correction,
              methods=["POST"], name="console_correction_delete"),
        Route("/console/teach/questions/{entry_id:int}/delete", delete_question,
              methods=["POST"], name="console_question_delete"),
    ]
