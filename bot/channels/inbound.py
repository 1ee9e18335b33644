"""What every visitor message goes through before Rasa sees it, on every channel.

The REST and socket.io channels (bot/channels/rest.py, socketio.py) call `screen()` with the raw
message and the visitor's sender id and address. It answers one of:

- `Accepted(text)`: pass `text` (cleaned: control characters removed, a leading "/" that would
  let a visitor trigger intents and set slots directly, as `/inform{...}`, neutralised, except
  the widget's `/greet`) to Rasa.
- `Refused(kind)`: do not run the model; answer with `system_reply(kind, raw)` instead. Kinds:
  empty, too_long, rate_limited (and unavailable, used by the channels when Rasa fails).

Safety first: a refused message is still checked by the crisis detector, and a visitor in
crisis gets the crisis responses first whatever the refusal (a long or hurried message is
exactly what someone in distress may send).

Replies are the domain's responses (data, not code): `utter_message_empty` and the others in
domain.yml, taken from the model the server has loaded. Informational refusals end with
`utter_referral`, like every answer.
"""
from __future__ import annotations

import ipaddress
import logging
import re
import threading
import time
import unicodedata
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple, Union

from bot.settings import Settings, get_settings

logger = logging.getLogger(__name__)

# Which responses each refusal sends, in order (domain.yml holds their text).
REPLIES: Dict[str, Tuple[str, ...]] = {
    "empty": ("utter_message_empty",),
    "too_long": ("utter_message_too_long", "utter_referral"),
    "rate_limited": ("utter_rate_limited", "utter_referral"),
    "unavailable": ("utter_service_unavailable", "utter_referral"),
}
CRISIS_REPLY = ("utter_crisis", "utter_crisis_continue")

# C0/C1 controls except tab and newline, zero-width characters and lone surrogates: never
# meaningful in a chat message.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2060\ufeff\ud800-\udfff]")
_SENDER = re.compile(r"^[A-Za-z0-9_.:@/+=-]{1,128}$")


@dataclass(frozen=True)
class Accepted:
    text: str


@dataclass(frozen=True)
class Refused:
    kind: str


Verdict = Union[Accepted, Refused]


# Intent payloads a visitor's widget may send as they are: the widget's `initial-payload`.
# Intents only, no entities: nothing that sets a slot or resets the conversation.
WIDGET_PAYLOADS = frozenset({"/greet"})


def clean(text: str) -> str:
    text = _CONTROL.sub("", unicodedata.normalize("NFC", text)).strip()
    if text in WIDGET_PAYLOADS:
        return text
    # '/restart' or '/inform{"condition": ...}' is Rasa's way to bypass NLU; visitors type words.
    return text.lstrip("/").strip()


def valid_sender(sender: Any) -> bool:
    return isinstance(sender, str) and bool(_SENDER.match(sender))


def screen(message: str, sender: str, address: str, settings: Optional[Settings] = None) -> Verdict:
    """Accept (cleaned) or refuse one visitor message. `address` is the visitor's IP."""
    settings = settings or get_settings()
    # Every message counts towards the limits, refused ones too (a flood of huge messages).
    if not limiter(settings).allow(sender, address):
        return Refused("rate_limited")
    text = clean(message)
    if len(text) > settings.max_message_chars:
        return Refused("too_long")
    if not text:
        return Refused("empty")
    return Accepted(text)


# --- the visitor's address ----------------------------------------------------------------

def client_address(peer: Optional[str], headers: Any, settings: Optional[Settings] = None) -> str:
    """The visitor's IP: nginx's X-Real-IP, but only when the peer is a trusted proxy (anyone
    else could send the header to dodge the per-address limit)."""
    settings = settings or get_settings()
    peer = peer or ""
    forwarded = (headers.get("x-real-ip") or headers.get("X-Real-IP") or "").strip()
    if forwarded and _in_networks(peer, settings.trusted_proxies):
        return forwarded
    return peer


def _in_networks(address: str, networks: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(n, strict=False) for n in networks.split())


def is_internal(address: Optional[str], settings: Optional[Settings] = None) -> bool:
    """Whether `address` may reach the Rasa HTTP API (loopback and API_NETWORKS only)."""
    settings = settings or get_settings()
    return _in_networks(address or "", settings.api_networks)


# --- rate limits ---------------------------------------------------------------------------

class RateLimiter:
    """Fixed one-minute windows per sender and per address. In memory (one Rasa process) or in
    Redis, so that replicas share the counts. A limiter that cannot reach Redis lets messages
    through: the limit protects the bot, and must not be what stops a visitor being answered."""

    WINDOW_S = 60

    def __init__(self, per_sender: int, per_address: int, redis: Any = None) -> None:
        self.per_sender = per_sender
        self.per_address = per_address
        self.redis = redis
        self._counts: Dict[str, int] = {}
        self._window = 0
        self._lock = threading.Lock()

    def allow(self, sender: str, address: str) -> bool:
        window = int(time.time() // self.WINDOW_S)
        keys = [(f"sender:{sender}", self.per_sender), (f"ip:{address}", self.per_address)]
        keys = [(k, limit) for k, limit in keys if limit > 0]
        if not keys:
            return True
        counts = self._count_redis(keys, window) if self.redis is not None else None
        if counts is None:
            counts = self._count_memory(keys, window)
        return all(count <= limit for count, (_, limit) in zip(counts, keys))

    def _count_memory(self, keys: List[Tuple[str, int]], window: int) -> List[int]:
        with self._lock:
            if window != self._window:
                self._counts, self._window = {}, window
            for key, _ in keys:
                self._counts[key] = self._counts.get(key, 0) + 1
            return [self._counts[key] for key, _ in keys]

    def _count_redis(self, keys: List[Tuple[str, int]], window: int) -> Optional[List[int]]:
        try:
            pipe = self.redis.pipeline()
            for key, _ in keys:
                name = f"ketamine_faq:rate:{window}:{key}"
                pipe.incr(name)
                pipe.expire(name, self.WINDOW_S * 2)
            results = pipe.execute()
            return [int(results[i * 2]) for i in range(len(keys))]
        except Exception:  # Redis down: counted in this process until it is back
            logger.warning("rate limiter: Redis unreachable, counting in memory", exc_info=True)
            return None


_limiters: Dict[Tuple, RateLimiter] = {}


def limiter(settings: Settings) -> RateLimiter:
    key = (settings.rate_limit_per_sender, settings.rate_limit_per_address, settings.redis_host,
           settings.redis_port, settings.redis_db)
    if key not in _limiters:
        redis = None
        if settings.redis_host:
            import redis as redis_lib

            redis = redis_lib.Redis(host=settings.redis_host, port=settings.redis_port,
                                    db=settings.redis_db, password=settings.redis_password or None,
                                    socket_timeout=0.5, socket_connect_timeout=0.5)
        _limiters[key] = RateLimiter(settings.rate_limit_per_sender,
                                     settings.rate_limit_per_address, redis)
    return _limiters[key]


# --- replies from the domain ---------------------------------------------------------------

_app: Any = None


def bind_app(app: Any) -> None:
    """The Rasa server's Sanic app (bot/rasa_server.py): its agent holds the loaded domain."""
    global _app
    _app = app


def agent_ready() -> bool:
    agent = getattr(getattr(_app, "ctx", None), "agent", None)
    return bool(agent is not None and agent.is_ready())


def _response_text(name: str) -> str:
    agent = getattr(getattr(_app, "ctx", None), "agent", None)
    domain = getattr(agent, "domain", None)
    variations = (domain.responses.get(name) if domain else None) or []
    if variations and variations[0].get("text"):
        return variations[0]["text"]
    # No model loaded yet: the domain file itself (the same text the model was trained with).
    return _domain_file_responses().get(name, "")


_file_responses: Dict[str, str] = {}


def _domain_file_responses() -> Dict[str, str]:
    if not _file_responses:
        import yaml

        from bot.settings import PROJECT_ROOT

        data = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
        for name, variations in (data.get("responses") or {}).items():
            if variations and variations[0].get("text"):
                _file_responses[name] = variations[0]["text"]
    return _file_responses


def system_reply(kind: str, message: str = "") -> List[Dict[str, Any]]:
    """The messages a refused (or failed) visitor message gets, crisis help first if it needs it."""
    from bot.safety.crisis import default_detector

    names: Tuple[str, ...] = REPLIES[kind]
    crisis = _mentions_crisis(default_detector(), message)
    if crisis:
        names = CRISIS_REPLY + tuple(n for n in names if n != "utter_referral") + ("utter_referral",)
    replies: List[Dict[str, Any]] = []
    for name in names:
        text = _response_text(name)
        if text:
            reply: Dict[str, Any] = {"text": text}
            if name in CRISIS_REPLY:
                reply["metadata"] = {"crisis": True}
            replies.append(reply)
    return replies


def _mentions_crisis(detector: Any, message: str) -> bool:
    """The crisis detector over the whole message, however long (it reads 5,000 characters at
    a time), in overlapping windows so a sentence on a window's edge is not missed."""
    if not isinstance(message, str) or not message.strip():
        return False
    text = _CONTROL.sub("", message)
    size, step = 4000, 3500
    for start in range(0, max(len(text), 1), step):
        if detector.detect(text[start:start + size]):
            return True
        if start + size >= len(text):
            break
    return False
