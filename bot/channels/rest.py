"""Rasa's REST channel, strict about what it accepts and honest when it cannot answer.

Use in credentials.yml instead of `rest:`. `POST /webhooks/rest/webhook` with
`{"sender": "...", "message": "..."}` as before, but:

- Anything that is not a JSON object with a string `sender` (1-128 of [A-Za-z0-9_.:@/+=-]) and a
  string `message` gets a 4xx with a JSON `error` that says what is wrong: 415 for another
  content type, 400 for invalid JSON or UTF-8 or a missing field (Rasa's channel answered 500
  or processed `None`). Bodies over MAX_REQUEST_BYTES get Sanic's 413.
- The client cannot choose the `input_channel` or write `metadata` into the tracker.
- Empty, too long and rate-limited messages get a clear reply from the domain, without running
  the model (bot/channels/inbound.py); rate-limited ones with status 429.
- When the message cannot be processed (the database or the lock store is down), the visitor
  gets utter_service_unavailable and the referral with status 503, never Rasa's empty 200: a
  200 means the message and its answer were saved, so a client may retry anything else.
- No streaming (`?stream=true`): nothing uses it, and it bypassed all of the above.
"""
from __future__ import annotations

import json
import logging
from asyncio import CancelledError
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput as RasaRestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels import inbound
from bot.settings import get_settings

logger = logging.getLogger(__name__)


def _error(status: int, message: str) -> HTTPResponse:
    return response.json({"error": message}, status=status)


def _replies(recipient: str, messages: List[Dict[str, Any]], status: int = 200) -> HTTPResponse:
    return response.json([{"recipient_id": recipient, **m} for m in messages], status=status)


class RestInput(RasaRestInput):
    @classmethod
    def name(cls) -> Text:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        bp = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)
        settings = get_settings()

        @bp.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @bp.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            content_type = (request.headers.get("content-type") or "").split(";")[0].strip()
            if content_type.lower() != "application/json":
                return _error(415, "Send the message as JSON (Content-Type: application/json).")
            try:
                body = json.loads(request.body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError):
                return _error(400, "The body is not valid UTF-8 JSON.")
            if not isinstance(body, dict):
                return _error(400, 'Send a JSON object: {"sender": "...", "message": "..."}.')
            sender, message = body.get("sender"), body.get("message")
            if not inbound.valid_sender(sender):
                return _error(400, "`sender` must be 1-128 characters of letters, digits, _.:@/+=-")
            if not isinstance(message, str):
                return _error(400, "`message` must be a string.")

            address = inbound.client_address(request.ip, request.headers, settings)
            verdict = inbound.screen(message, sender, address, settings)
            if isinstance(verdict, inbound.Refused):
                status = 429 if verdict.kind == "rate_limited" else 200
                return _replies(sender, inbound.system_reply(verdict.kind, message), status)

            if not inbound.agent_ready():
                return _replies(sender, inbound.system_reply("unavailable", message), 503)
            collector = CollectingOutputChannel()
            try:
                await on_new_message(
                    UserMessage(verdict.text, collector, sender, input_channel=self.name())
                )
            except (CancelledError, Exception):  # CancelledError: a time-out
                # The tracker was not saved (database or lock store down): nothing is
                # acknowledged, so the client may send it again.
                logger.exception("rest: message from %s could not be processed", sender)
                return _replies(sender, inbound.system_reply("unavailable", message), 503)
            return response.json(collector.messages)

        return bp

    def get_metadata(self, request: Request) -> Optional[Dict[Text, Any]]:
        return None
