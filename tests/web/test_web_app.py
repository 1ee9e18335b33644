"""The web process without a browser: pages, the widget file and the security headers."""
from __future__ import annotations

import re

import pytest
from starlette.testclient import TestClient

from bot.settings import Settings
from bot.web import assets
from bot.web.app import create_app


@pytest.fixture
def client():
    return TestClient(create_app(Settings(rasa_port=15005, rasa_public_url="http://localhost:15005")))


@pytest.mark.parametrize("path", ["/", "/first-visit"])
def test_pages_embed_the_widget_with_the_rasa_url(client, path):
    r = client.get(path)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert '<script src="/widget.js" defer></script>' in r.text
    assert re.search(r'<ketamine-faq-chat\s+server-url="http://localhost:15005"', r.text)
    assert "<script>" not in r.text  # no inline script: the CSP forbids it


def test_pages_send_security_headers(client):
    h = client.get("/").headers
    csp = h["content-security-policy"]
    assert "default-src 'none'" in csp
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "connect-src 'self' http://localhost:15005 ws://localhost:15005" in csp
    assert "frame-ancestors 'self'" in csp
    assert h["x-content-type-options"] == "nosniff"
    assert h["x-frame-options"] == "SAMEORIGIN"
    assert h["referrer-policy"] == "strict-origin-when-cross-origin"


def test_widget_js_is_served_for_embedding_on_other_sites(client):
    if not assets.WIDGET.is_file():
        pytest.skip("widget.js not built (make widget)")
    r = client.get("/widget.js")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/javascript")
    assert r.headers["cross-origin-resource-policy"] == "cross-origin"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in r.headers
    assert "ketamine-faq-chat" in r.text


def test_missing_widget_build_is_a_clear_503(client, monkeypatch, tmp_path):
    monkeypatch.setattr(assets, "WIDGET", tmp_path / "missing.js")
    r = client.get("/widget.js")
    assert r.status_code == 503 and "make widget" in r.text


def test_static_files_and_health(client):
    assert client.get("/static/site.css").status_code == 200
    assert client.get("/static/../settings.py").status_code == 404
    assert client.get("/healthz").text == "ok"


def test_frame_ancestors_and_public_rasa_url_are_configurable():

    s = Settings()
    object.__setattr__(s, "rasa_public_url", "https://bot.clinic.example")
    object.__setattr__(s, "frame_ancestors", "https://clinic.example")
    h = TestClient(create_app(s)).get("/").headers
    assert "connect-src 'self' https://bot.clinic.example wss://bot.clinic.example" in h["content-security-policy"]
    assert "frame-ancestors 'self' https://clinic.example" in h["content-security-policy"]
    assert "x-frame-options" not in h
