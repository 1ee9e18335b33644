"""Conversation pages: the filtered list, one conversation turn by turn, what reviewers do with
it (review, tags, flag a wrong answer), exports, and the admin-only reveal, delete and retention.

Every page reads logs after `logs.sync_now()`, so a conversation just had through the widget is
there. Personal data is redacted everywhere except an admin's one-conversation reveal. Every
staff action is audit-logged in the transaction that does it.
"""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional
from urllib.parse import quote, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.console import logs
from bot.console.audit import audit
from bot.console.logs import ConversationFilter
from bot.console.models import Conversation
from bot.console.render import admin_only, flash, read_form, redirect, render, row_id, user_of
from bot.console.views.teach import message_actions_context
from bot.db.engine import session_scope
from bot.settings import Settings

PER_PAGE = 25
LIST_PATH = "/console/conversations"
MAX_COMMENT = 2000
# Spreadsheet programs run cells starting with these as formulas: visitors write the messages.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def conversation_url(sender_id: str, action: str = "") -> str:
    return f"{LIST_PATH}/{quote(sender_id, safe='')}" + (f"/{action}" if action else "")


def _page_number(value: Optional[str]) -> int:
    try:
        return max(1, int(value or "1"))
    except ValueError:
        return 1


def _list_url(filter: ConversationFilter, **extra: Any) -> str:
    query = urlencode({**filter.to_params(), **extra})
    return LIST_PATH + (f"?{query}" if query else "")


# --- the list -----------------------------------------------------------------------------------


async def conversations_page(request: Request) -> Response:
    filter = ConversationFilter.from_params(request.query_params)
    page_number = _page_number(request.query_params.get("page"))

    def load():
        logs.sync_now()
        with session_scope() as session:
            return (
                logs.list_conversations(session, filter, page_number, PER_PAGE),
                logs.intents_in_use(session),
                logs.tags_in_use(session),
            )

    page, intents, tags = await run_in_threadpool(load)
    return render(
        request, "conversations.html", page=page, filter=filter,
        below_percent=filter.to_params().get("below", ""),
        intents=[(name, logs.intent_label(name)) for name in intents], tags=tags,
        page_url=lambda number: _list_url(filter, page=number),
        export_query=urlencode(filter.to_params()),
        conversation_url=conversation_url, intent_label=logs.intent_label,
        retention_days=Settings().retention_days,
    )


# --- one conversation ---------------------------------------------------------------------------


def _flag_dict(flag) -> Dict[str, Any]:
    return {"comment": flag.comment, "created_by": flag.created_by,
            "created_at": logs.utc(flag.created_at)}


async def _conversation(request: Request, reveal: bool) -> Response:
    sender_id = request.path_params["sender_id"]
    username = user_of(request).username

    def load():
        logs.sync_now()
        with session_scope() as session:
            conversation = logs.get_conversation(session, sender_id)
            if conversation is None:
                return None
            turns = logs.conversation_turns(session, sender_id, reveal=reveal)
            indexed = logs.indexed_messages(session, sender_id)
            flags = logs.answer_flags(session, sender_id)
            for turn in turns:
                message = indexed.get(turn["event_id"])
                # What the teaching actions work on: always the redacted text.
                turn["message"] = message and {
                    "event_id": message.event_id, "sender_id": sender_id, "text": message.text,
                    "intent": message.intent, "confidence": message.confidence,
                }
                turn["flags"] = [_flag_dict(f) for f in flags.get(turn["event_id"], [])]
            if reveal:
                audit(session, username, "reveal", sender_id)
            teach = message_actions_context(
                session, [t["message"]["event_id"] for t in turns if t.get("message")]
            )
            return conversation, turns, teach

    loaded = await run_in_threadpool(load)
    if loaded is None:
        return render(request, "not_found.html", status_code=404,
                      message="There is no conversation with this id (it may have been deleted).")
    conversation, turns, teach = loaded
    return render(
        request, "conversation.html", conversation=conversation, turns=turns, reveal=reveal,
        **teach,
        url=lambda action="": conversation_url(sender_id, action),
        intent_label=logs.intent_label, low_confidence=logs.LOW_CONFIDENCE,
    )


async def conversation_page(request: Request) -> Response:
    return await _conversation(request, reveal=False)


@admin_only
async def reveal(request: Request) -> Response:
    return await _conversation(request, reveal=True)


async def _change(request: Request, change) -> Response:
    """Run `change(session, sender_id, form, username) -> (kind, message)` on a conversation in
    one transaction (with its audit entry), flash the message and go back to the conversation."""
    sender_id = request.path_params["sender_id"]
    form = await read_form(request)
    username = user_of(request).username

    def run():
        with session_scope() as session:
            if session.get(Conversation, sender_id) is None:
                return None
            return change(session, sender_id, form, username)

    outcome = await run_in_threadpool(run)
    if outcome is None:
        return render(request, "not_found.html", status_code=404,
                      message="There is no conversation with this id (it may have been deleted).")
    kind, message = outcome
    flash(request, message, kind)
    return redirect(conversation_url(sender_id))


async def review(request: Request) -> Response:
    def change(session, sender_id, form, username):
        reviewed = form.get("reviewed") == "1"
        logs.set_reviewed(session, sender_id, username, reviewed)
        audit(session, username, "review", sender_id, reviewed=reviewed)
        return "success", "Marked as reviewed." if reviewed else "Marked as not reviewed."

    return await _change(request, change)


async def add_tag(request: Request) -> Response:
    def change(session, sender_id, form, username):
        tag = logs.normalize_tag(str(form.get("tag", "")))
        if not tag:
            return "error", "Type a tag first."
        if not logs.add_tag(session, sender_id, tag, username):
            return "info", f"Already tagged “{tag}”."
        audit(session, username, "tag", sender_id, added=tag)
        return "success", f"Tagged “{tag}”."

    return await _change(request, change)


async def remove_tag(request: Request) -> Response:
    def change(session, sender_id, form, username):
        tag = logs.normalize_tag(str(form.get("tag", "")))
        if not logs.remove_tag(session, sender_id, tag):
            return "info", "That tag was not there."
        audit(session, username, "tag", sender_id, removed=tag)
        return "success", f"Tag “{tag}” removed."

    return await _change(request, change)


async def flag_answer(request: Request) -> Response:
    def change(session, sender_id, form, username):
        comment = str(form.get("comment", "")).strip()[:MAX_COMMENT]
        try:
            event_id = row_id(str(form.get("event_id", "")))
        except ValueError:
            return "error", "Choose the answer to flag."
        if not comment:
            return "error", "Say what was wrong with the answer, so it can be fixed."
        if not logs.flag_answer(session, sender_id, event_id, comment, username):
            return "error", "That message is not part of this conversation."
        audit(session, username, "flag", sender_id, event_id=event_id, comment=comment[:200])
        return "success", "Answer flagged as wrong."

    return await _change(request, change)


@admin_only
async def delete(request: Request) -> Response:
    sender_id = request.path_params["sender_id"]
    form = await read_form(request)
    if form.get("confirm") != "yes":
        flash(request, "Tick the box to confirm the deletion.", "error")
        return redirect(conversation_url(sender_id))
    username = user_of(request).username

    def run() -> bool:
        logs.sync_now()
        with session_scope() as session:
            deleted = logs.delete_conversation(session, sender_id)
            audit(session, username, "delete", sender_id, found=deleted)
            return deleted

    if await run_in_threadpool(run):
        flash(request, "The conversation was deleted from the bot's logs and the console.",
              "success")
    else:
        flash(request, "There was no such conversation.", "error")
    return redirect(LIST_PATH)


@admin_only
async def retention(request: Request) -> Response:
    days = Settings().retention_days
    if days <= 0:
        flash(request, "Retention is off (RETENTION_DAYS is 0): nothing was deleted.", "info")
        return redirect(LIST_PATH)
    username = user_of(request).username

    def run() -> int:
        logs.sync_now()
        with session_scope() as session:
            deleted = logs.delete_older_than(session, days)
            audit(session, username, "retention", f"{days} days", deleted=deleted)
            return deleted

    deleted = await run_in_threadpool(run)
    flash(request, f"Deleted {deleted} conversation(s) with no activity in the last {days} days.",
          "success")
    return redirect(LIST_PATH)


# --- exports ------------------------------------------------------------------------------------


def _stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")


def _download(body: str, media_type: str, filename: str) -> Response:
    return Response(body, media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


def _json_default(value: Any) -> str:
    if isinstance(value, datetime):
        return logs.utc(value).isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


async def export_conversation(request: Request) -> Response:
    sender_id = request.path_params["sender_id"]
    username = user_of(request).username

    def load():
        logs.sync_now()
        with session_scope() as session:
            if session.get(Conversation, sender_id) is None:
                return None
            turns = logs.conversation_turns(session, sender_id, reveal=False)
            audit(session, username, "export", sender_id, format="json", redacted=True)
            return turns

    turns = await run_in_threadpool(load)
    if turns is None:
        return render(request, "not_found.html", status_code=404,
                      message="There is no conversation with this id (it may have been deleted).")
    body = json.dumps({"conversation": sender_id, "redacted": True, "turns": turns},
                      default=_json_default, indent=2, ensure_ascii=False)
    return _download(body, "application/json", f"conversation-{_stamp()}.json")


def _export_rows(request: Request, format: str) -> List[Dict[str, Any]]:
    filter = ConversationFilter.from_params(request.query_params)
    username = user_of(request).username
    logs.sync_now()
    with session_scope() as session:
        rows = logs.export_rows(session, filter)
        audit(session, username, "export", "conversations", format=format,
              filter=filter.to_params(), rows=len(rows), redacted=True)
    return rows


def _csv_cell(value: Any) -> str:
    if isinstance(value, list):
        value = " | ".join(map(str, value))
    elif isinstance(value, bool):
        value = "yes" if value else "no"
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


async def export_csv(request: Request) -> Response:
    rows = await run_in_threadpool(_export_rows, request, "csv")
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(logs.EXPORT_FIELDS)
    for row in rows:
        writer.writerow([_csv_cell(row[name]) for name in logs.EXPORT_FIELDS])
    # The byte-order mark makes spreadsheet programs read the file as UTF-8.
    return _download("\ufeff" + buffer.getvalue(), "text/csv; charset=utf-8",
                     f"conversations-{_stamp()}.csv")


async def export_json(request: Request) -> Response:
    rows = await run_in_threadpool(_export_rows, request, "json")
    body = json.dumps({"redacted": True, "messages": rows}, indent=2, ensure_ascii=False)
    return _download(body, "application/json", f"conversations-{_stamp()}.json")


def routes() -> list[Route]:
    one = LIST_PATH + "/{sender_id}"
    return [
        Route(LIST_PATH, conversations_page, methods=["GET", "HEAD"], name="console_conversations"),
        # Before "{sender_id}", which would otherwise take "export.csv" as an id.
        Route(LIST_PATH + "/export.csv", export_csv, methods=["GET"],
              name="console_conversations_csv"),
        Route(LIST_PATH + "/export.json", export_json, methods=["GET"],
              name="console_conversations_json"),
        Route(one, conversation_page, methods=["GET", "HEAD"], name="console_conversation"),
        Route(one + "/export.json", export_conversation, methods=["GET"],
              name="console_conversation_json"),
        Route(one + "/review", review, methods=["POST"], name="console_conversation_review"),
        Route(one + "/tags", add_tag, methods=["POST"], name="console_conversation_tag"),
        Route(one + "/tags/delete", remove_tag, methods=["POST"],
              name="console_conversation_untag"),
        Route(one + "/flags", flag_answer, methods=["POST"], name="console_conversation_flag"),
        Route(one + "/reveal", reveal, methods=["POST"], name="console_conversation_reveal"),
        Route(one + "/delete", delete, methods=["POST"], name="console_conversation_delete"),
        Route("/console/retention", retention, methods=["POST"], name="console_retention"),
    ]
