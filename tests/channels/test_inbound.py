"""The screening every visitor message goes through (bot/channels/inbound.py), without a model:
cleaning, the sender check, who is believed about the visitor's address, and the rate limiter
in memory and in the machine's real Redis (shared by two limiters, as by two replicas)."""
from __future__ import annotations

import uuid
from dataclasses import replace

import pytest

from bot.channels import inbound
from bot.settings import Settings
from tests.db_fixtures import machine_redis


@pytest.mark.parametrize("raw, cleaned", [
    ("  hello  ", "hello"),
    ("/restart", "restart"),
    ("/greet", "/greet"),  # the widget's initial payload
    ("/greet{\"x\": 1}", "greet{\"x\": 1}"),
    ('/inform{"condition": "stroke"}', 'inform{"condition": "stroke"}'),
    ("he\x00llo\x1b[31m", "hello[31m"),
    ("\u200bzero\u200dwidth\ufeff", "zerowidth"),
    ("line one\nline two", "line one\nline two"),
    ("e\u0301", "\u00e9"),  # NFC
])
def test_clean(raw, cleaned):
    assert inbound.clean(raw) == cleaned


@pytest.mark.parametrize("sender, ok", [
    ("abc", True), ("20240601/ours/r0/v3", True), ("a" * 128, True), ("a" * 129, False),
    ("", False), ("a b", False), ("<script>", False), (None, False), (42, False),
])
def test_valid_sender(sender, ok):
    assert inbound.valid_sender(sender) is ok


def test_screen_refuses_too_long_and_empty_and_cleans_the_rest():
    settings = replace(Settings(), rate_limit_per_sender=0, rate_limit_per_address=0)
    assert inbound.screen("x" * 2001, "s1", "1.2.3.4", settings) == inbound.Refused("too_long")
    assert inbound.screen("x" * 2000, "s1", "1.2.3.4", settings) == inbound.Accepted("x" * 2000)
    assert inbound.screen(" \x00 ", "s1", "1.2.3.4", settings) == inbound.Refused("empty")
    assert inbound.screen("/restart", "s1", "1.2.3.4", settings) == inbound.Accepted("restart")


def test_x_real_ip_is_believed_only_from_a_trusted_proxy():
    headers = {"x-real-ip": "203.0.113.9"}
    behind_nginx = replace(Settings(), trusted_proxies="127.0.0.1/32")
    assert inbound.client_address("127.0.0.1", headers, behind_nginx) == "203.0.113.9"
    assert inbound.client_address("198.51.100.7", headers, behind_nginx) == "198.51.100.7"
    assert inbound.client_address("127.0.0.1", headers, replace(Settings(), trusted_proxies="")) \
        == "127.0.0.1"


def test_only_internal_addresses_reach_the_api():
    settings = Settings()
    assert inbound.is_internal("127.0.0.1", settings) and inbound.is_internal("::1", settings)
    assert not inbound.is_internal("192.0.2.2", settings)
    assert not inbound.is_internal("not an address", settings)


def test_memory_limiter_counts_per_sender_and_per_address():
    limiter = inbound.RateLimiter(per_sender=3, per_address=5)
    assert [limiter.allow("a", "1.1.1.1") for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("b", "1.1.1.1") is True  # 5th from the address
    assert limiter.allow("c", "1.1.1.1") is False  # 6th from the address
    assert limiter.allow("c", "2.2.2.2") is True


def test_replicas_share_the_counts_in_redis():
    client = machine_redis(db=9)
    one = inbound.RateLimiter(per_sender=4, per_address=0, redis=client)
    two = inbound.RateLimiter(per_sender=4, per_address=0, redis=client)
    sender = f"shared-{uuid.uuid4().hex}"
    allowed = [(one if n % 2 else two).allow(sender, "1.1.1.1") for n in range(6)]
    assert allowed == [True, True, True, True, False, False]


def test_a_limiter_whose_redis_is_down_lets_messages_through():
    import redis

    dead = redis.Redis(host="127.0.0.1", port=1, socket_timeout=0.2, socket_connect_timeout=0.2)
    limiter = inbound.RateLimiter(per_sender=2, per_address=0, redis=dead)
    # Counted in memory meanwhile: the limit still holds, the visitor is still answered.
    assert [limiter.allow("s", "1.1.1.1") for _ in range(3)] == [True, True, False]
