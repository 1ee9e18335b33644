"""`python -m bot.rasa_server run ...`: Rasa's own command line, with fixes to Rasa 3.6.21 applied
first. bot/serve.py starts the Rasa server this way; every argument is Rasa's.

The fixes: the action response validator (below), a graceful answer when the action server is
down, no silent in-memory fallback when the database is down, a lock store that does not make
waiting messages time out, and the Sanic app's request limits and API reach (further down).

The validator fix (found by profiling the server under load with py-spy, issue 6): Rasa checks every
action server response with `jsonschema.validate(result, schema)`. With jsonschema 4.17 (what
Rasa 3.6 allows) that call first validates the *schema itself* against the JSON Schema
meta-schema, every time. It was two thirds of the Rasa server's CPU per message under load
(16 visitors: 7.9 messages/s, p50 2.0 s). Here the validator is built once and each response
is checked against the same schema, with the same error Rasa raises.
"""
from __future__ import annotations

import sys
from typing import Any, Dict, List, Optional, Text

_validator: Any = None


def _action_response_validator() -> Any:
    global _validator
    if _validator is None:
        from jsonschema.validators import validator_for
        from rasa.core.actions.action import RemoteAction

        schema = RemoteAction.action_response_format_spec()
        cls = validator_for(schema)
        cls.check_schema(schema)  # once, not per response
        _validator = cls(schema)
    return _validator


def validate_action_result(self: Any, result: Dict[Text, Any]) -> bool:
    """RemoteAction._validate_action_result, with the validator built once."""
    from jsonschema.exceptions import best_match
    from rasa.shared.constants import DOCS_BASE_URL

    error = best_match(_action_response_validator().iter_errors(result))
    if error is None:
        return True
    error.message += (
        f". Failed to validate Action server response from API, "
        f"make sure your response from the Action endpoint is valid. "
        f"For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions"
    )
    raise error


# --- the action server is down or hangs ------------------------------------------------------
# Rasa logs the failure and says nothing: the visitor waits for an answer that never comes
# (up to Rasa's 300 s request timeout when the action server hangs). Instead the visitor gets
# utter_service_unavailable and the referral, sent by the Rasa server itself, and the
# conversation goes on; the next message reaches the action server again when it is back.
ACTION_TIMEOUT_S = 20.0
FALLBACK_RESPONSES = ("utter_service_unavailable", "utter_referral")


def _graceful_remote_run(original: Any) -> Any:
    async def run(self: Any, output_channel: Any, nlg: Any, tracker: Any, domain: Any) -> List[Any]:
        import asyncio
        import logging

        from rasa.core.actions.action import ActionBotResponse, ActionExecutionRejection
        from rasa.shared.exceptions import RasaException

        try:
            return await asyncio.wait_for(
                original(self, output_channel, nlg, tracker, domain), ACTION_TIMEOUT_S)
        except ActionExecutionRejection:
            raise  # a form rejecting its slot: Rasa's policies handle it
        except (RasaException, asyncio.TimeoutError) as error:
            logging.getLogger(__name__).error(
                "action %s failed (%s): sending %s", self.name(), error or "timeout",
                ", ".join(FALLBACK_RESPONSES))
            events: List[Any] = []
            for response in FALLBACK_RESPONSES:
                events += await ActionBotResponse(response).run(output_channel, nlg, tracker, domain)
            return events

    return run


# --- the tracker store is down -----------------------------------------------------------------
# Rasa wraps every tracker store in FailSafeTrackerStore: when the database fails, retrieve()
# returns None (the visitor silently starts a new conversation: context lost) and save() writes
# to an in-memory store instead (answered as if saved, gone at the next message or restart:
# measured here as 20 lost messages of 100 during a PostgreSQL restart). Here both raise, so
# the channel tells the visitor the service is unavailable (503) and nothing is acknowledged
# that was not stored.
class _TrackerStoreUnavailable(Exception):
    pass


def _fail_loudly(method_name: str) -> Any:
    async def method(self: Any, *args: Any) -> Any:
        try:
            return await getattr(self._tracker_store, method_name)(*args)
        except Exception as error:
            self.on_tracker_store_error(error)
            raise _TrackerStoreUnavailable(str(error)) from error

    return method


# --- the Sanic app: request size, the HTTP API's reach, replies from the loaded domain ------------
CHANNEL_PATHS = ("/webhooks/", "/socket.io/")


def _configure_app(original: Any) -> Any:
    def configure_app(*args: Any, **kwargs: Any) -> Any:
        from sanic import response

        from bot.channels import inbound
        from bot.settings import get_settings

        settings = get_settings()
        app = original(*args, **kwargs)
        app.config.REQUEST_MAX_SIZE = settings.max_request_bytes
        inbound.bind_app(app)

        async def api_only_from_inside(request: Any) -> Any:
            # The channels are public; Rasa's API (/model, /status, /conversations, ...) also
            # needs the token, and answers only internal addresses, so a leaked token is not
            # enough from outside. nginx does not forward it at all (deploy/prod/nginx.conf).
            path = request.path
            if path == "/" or path.startswith(CHANNEL_PATHS):
                return None
            if not inbound.is_internal(request.ip, settings):
                return response.json({"error": "not found"}, status=404)
            return None

        app.register_middleware(api_only_from_inside, "request")
        return app

    return configure_app


# --- messages waiting for a conversation's lock ----------------------------------------------------
# Rasa's lock store makes a message wait while another of the same conversation is handled,
# checking every second. 32 messages sent at once on one conversation (a widget flushing its
# queue, a double click, the concurrency test) then waited longer than the lock's lifetime and
# failed. Checked every 50 ms instead: one Redis round trip.
LOCK_POLL_S = 0.05


def _lock_polling_often(original: Any) -> Any:
    def lock(self: Any, conversation_id: str, lock_lifetime: Optional[float] = None,
             wait_time_in_seconds: float = LOCK_POLL_S) -> Any:
        from rasa.core import lock_store

        return original(self, conversation_id, lock_lifetime or lock_store.LOCK_LIFETIME,
                        wait_time_in_seconds)

    return lock


def apply_fixes() -> None:
    import rasa.core.run
    from rasa.core.actions.action import RemoteAction

    RemoteAction._validate_action_result = validate_action_result
    RemoteAction.run = _graceful_remote_run(RemoteAction.run)
    from rasa.core.tracker_store import FailSafeTrackerStore

    for name in ("retrieve", "retrieve_full_tracker", "save"):
        setattr(FailSafeTrackerStore, name, _fail_loudly(name))
    from rasa.core.lock_store import LockStore

    LockStore.lock = _lock_polling_often(LockStore.lock)
    rasa.core.run.configure_app = _configure_app(rasa.core.run.configure_app)


def main(argv: Optional[List[str]] = None) -> None:
    apply_fixes()
    from rasa.__main__ import main as rasa_main

    sys.argv = ["rasa", *(sys.argv[1:] if argv is None else argv)]
    rasa_main()


if __name__ == "__main__":
    main()
