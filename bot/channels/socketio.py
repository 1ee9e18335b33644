"""Rasa's socket.io channel, fixed for python-socketio 5.x and hardened for the web widget.

Use in credentials.yml instead of `socketio:` (same settings, plus `allowed_origins`):

    bot.channels.socketio.SocketIOInput:
      user_message_evt: user_uttered
      bot_message_evt: bot_uttered
      session_persistence: true

Why it exists (rasa 3.6.21 with python-socketio 5.18):
1. `AsyncServer.enter_room` is a coroutine in python-socketio 5.18 (pinned here) and Rasa calls it without
   `await`, so with session_persistence the visitor never joins their room and never receives a
   single bot message. We await it.
2. Rasa drops a response's `metadata` on this channel; we forward the `crisis` flag as
   `{"text": ..., "metadata": {"crisis": true}}` so the widget needs no text heuristics.
3. Engine.IO is created with `cors_allowed_origins=[]` (no Origin check at all) and a WebSocket is not
   subject to CORS, so any web site could open a chat socket. We refuse a connection whose Origin is
   not in CORS_ORIGINS (bot.settings), the same list `rasa run --cors` gets.
4. session_id is the sender id: we accept only 8-64 characters of [A-Za-z0-9_-].
5. Every message is screened like the REST channel's (bot/channels/inbound.py): empty, too long
   and rate-limited messages get a clear reply without running the model; a message that
   cannot be processed (database or lock store down) gets utter_service_unavailable and the
   referral instead of silence. Packets over MAX_REQUEST_BYTES are refused by Engine.IO.
"""
from __future__ import annotations

import inspect
import logging
import re
import uuid
from typing import Any, Dict, Optional, Text

from rasa.core.channels.socketio import SocketIOInput as RasaSocketIOInput
from rasa.core.channels.socketio import SocketIOOutput as RasaSocketIOOutput

from bot.channels import inbound
from bot.settings import get_settings

logger = logging.getLogger(__name__)

SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


def allowed_origins() -> set:
    from bot.settings import get_settings

    return set(get_settings().cors_origins.split())


class SocketIOOutput(RasaSocketIOOutput):
    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        # A response's `metadata:` arrives in kwargs, nested or (from some paths) at the top level.
        nested = kwargs.get("metadata") if isinstance(kwargs.get("metadata"), dict) else {}
        crisis = kwargs.get("crisis") is True or nested.get("crisis") is True
        extra = {"metadata": {"crisis": True}} if crisis else {}
        for part in text.strip().split("\n\n"):
            await self._send_message(recipient_id, {"text": part, **extra})


class SocketIOInput(RasaSocketIOInput):
    @classmethod
    def name(cls) -> Text:
        return "socketio"

    def get_output_channel(self) -> Optional[RasaSocketIOOutput]:
        out = super().get_output_channel()
        return SocketIOOutput(self.sio, self.bot_message_evt) if out else None

    def blueprint(self, on_new_message):
        bp = super().blueprint(on_new_message)
        sio = self.sio
        settings = get_settings()
        sio.eio.max_http_buffer_size = settings.max_request_bytes
        origins = allowed_origins()

        @sio.on("connect", namespace=self.namespace)
        async def connect(sid: Text, environ: Dict, auth: Optional[Dict]) -> bool:
            origin = environ.get("HTTP_ORIGIN")
            if origin is not None and origin not in origins:
                return False
            if self.jwt_key and not await _jwt_ok(self, auth):
                return False
            headers = {"x-real-ip": environ.get("HTTP_X_REAL_IP", "")}
            address = inbound.client_address(environ.get("REMOTE_ADDR"), headers, settings)
            await sio.save_session(sid, {"address": address}, namespace=self.namespace)
            return True

        @sio.on("session_request", namespace=self.namespace)
        async def session_request(sid: Text, data: Optional[Dict]) -> None:
            data = data if isinstance(data, dict) else {}
            session_id = data.get("session_id")
            if not isinstance(session_id, str) or not SESSION_ID.match(session_id):
                session_id = uuid.uuid4().hex
            if self.session_persistence:
                entered = sio.enter_room(sid, session_id)
                if inspect.isawaitable(entered):
                    await entered
            await sio.emit("session_confirm", session_id, room=sid)

        from rasa.core.channels.channel import UserMessage

        @sio.on(self.user_message_evt, namespace=self.namespace)
        async def handle_message(sid: Text, data: Dict) -> None:
            if not isinstance(data, dict):
                return
            output_channel = SocketIOOutput(sio, self.bot_message_evt)
            if self.session_persistence:
                sender_id = data.get("session_id")
                if not isinstance(sender_id, str) or not SESSION_ID.match(sender_id):
                    return
            else:
                sender_id = sid
            message = data.get("message", "")
            if not isinstance(message, str):
                message = ""  # answered as an empty message
            room = sender_id if self.session_persistence else sid
            session = await sio.get_session(sid, namespace=self.namespace)
            verdict = inbound.screen(message, sender_id, session.get("address", ""), settings)
            if isinstance(verdict, inbound.Refused):
                await _emit(sio, self.bot_message_evt, room, inbound.system_reply(verdict.kind, message))
                return
            try:
                if not inbound.agent_ready():
                    raise RuntimeError("no model loaded")
                await on_new_message(
                    # No client metadata: visitors must not write into the tracker.
                    UserMessage(verdict.text, output_channel, sender_id, input_channel=self.name())
                )
            except Exception:
                logger.exception("socketio: message from %s could not be processed", sender_id)
                await _emit(sio, self.bot_message_evt, room, inbound.system_reply("unavailable", message))

        return bp


async def _emit(sio: Any, event: Text, room: Text, messages: list) -> None:
    for message in messages:
        await sio.emit(event, message, room=room)


async def _jwt_ok(channel: SocketIOInput, auth: Optional[Dict]) -> bool:
    from rasa.core.channels.channel import decode_bearer_token

    token = (auth or {}).get("token")
    return bool(token and decode_bearer_token(token, channel.jwt_key, channel.jwt_algorithm))
