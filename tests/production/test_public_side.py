"""What the public side of the production profile lets through: nginx forwards only the chat
channels and the web pages, limits each address, and the limits per sender hold across replicas."""
from __future__ import annotations

import subprocess
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import replace

import pytest

from tests.production.conftest import REFERRAL, nginx_url, post, replica_urls, texts

pytestmark = pytest.mark.e2e


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (urllib.error.URLError, OSError):
        return 0


def test_rasa_api_is_never_on_the_public_port(prod_stack):
    token = prod_stack.settings.rasa_auth_token
    public = nginx_url(prod_stack)
    for path in (f"/status?token={token}", "/version", f"/conversations/x/tracker?token={token}",
                 f"/model?token={token}", "/domain"):
        assert _status(public + path) == 404, path
    # Inside, on a replica's own port, with the token only.
    assert _status(f"{replica_urls(prod_stack)[0]}/status?token={token}") == 200
    assert _status(f"{replica_urls(prod_stack)[0]}/status") == 401


def test_the_model_server_is_not_public(prod_stack):
    s = prod_stack.settings
    assert _status(f"http://127.0.0.1:{s.web_port}/internal/models/live?token="
                   f"{s.model_server_token}") == 404  # through nginx
    internal = s.model_server_url
    assert _status(f"{internal}?token=wrong") == 404
    assert _status(f"{internal}?token={s.model_server_token}") == 200


def test_web_pages_come_through_nginx_with_security_headers(prod_stack):
    with urllib.request.urlopen(f"http://127.0.0.1:{prod_stack.settings.web_port}/",
                                timeout=10) as response:
        headers = response.headers
    assert "frame-ancestors" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "nginx/" not in (headers.get("Server") or "")  # server_tokens off


def test_cors_allows_only_the_configured_origins(prod_stack):
    def preflight(origin: str):
        request = urllib.request.Request(
            f"{nginx_url(prod_stack)}/webhooks/rest/webhook", method="OPTIONS",
            headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                     "Access-Control-Request-Headers": "content-type"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.headers.get("Access-Control-Allow-Origin")
        except urllib.error.HTTPError as error:
            return error.headers.get("Access-Control-Allow-Origin")

    allowed = prod_stack.settings.cors_origins.split()[0]
    assert preflight(allowed) == allowed
    assert preflight("https://evil.example") is None


def test_the_per_sender_limit_is_shared_by_the_replicas(prod_stack):
    """40 a minute per sender (this stack's setting), counted in Redis: alternating replicas
    does not double it."""
    sender = f"limit-{uuid.uuid4().hex[:8]}"
    first, second = replica_urls(prod_stack)
    statuses = [post(first if n % 2 else second, sender, "hello")[0] for n in range(40)]
    assert statuses == [200] * 40
    status, body = post(first, sender, "hello")
    assert status == 429 and "faster than I can answer" in texts(body)[0]
    assert REFERRAL in texts(body)[-1]
    status, _ = post(second, sender, "hello")
    assert status == 429


def test_nginx_limits_each_address(prod_stack, tmp_path):
    """An nginx of its own, rendered from the same template with a limit of 30 messages a minute
    per address (burst 10), in front of the same replicas."""
    from bot.prod import nginx_command, render_nginx_conf

    s = prod_stack.settings
    limited = replace(s, rasa_port=s.rasa_port + 100, web_port=s.web_port + 100,
                      action_port=s.action_port + 100, rate_limit_per_address=30)
    conf = render_nginx_conf(limited, tmp_path, tmp_path, upstreams=s)
    nginx = subprocess.Popen(nginx_command(conf, tmp_path, tmp_path))
    try:
        url = f"http://127.0.0.1:{limited.rasa_port}"
        deadline = time.monotonic() + 10
        while _status(url + "/") != 200:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        # Different senders, one address: the burst passes, then nginx answers 429.
        statuses = [post(url, f"addr-{uuid.uuid4().hex[:8]}", "hello")[0] for _ in range(25)]
        assert statuses[:10] == [200] * 10 and 429 in statuses, statuses
    finally:
        nginx.terminate()
        nginx.wait(10)
