"""A small page object for <ketamine-faq-chat>, shared by the component and end-to-end tests.

Playwright's CSS selectors pierce open shadow roots, so `ketamine-faq-chat .log` finds the
widget's log inside its shadow DOM.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional

from playwright.sync_api import Locator, Page, Route, expect

HOST = "ketamine-faq-chat"


class Widget:
    def __init__(self, page: Page) -> None:
        self.page = page
        self.host = page.locator(HOST)
        self.launcher = page.locator(f"{HOST} .launcher")
        self.panel = page.locator(f"{HOST} .panel")
        self.input = page.locator(f"{HOST} textarea")
        self.send_button = page.locator(f"{HOST} button.send")
        self.log = page.locator(f"{HOST} .log")
        self.bot = page.locator(f"{HOST} .msg[data-from=bot]")
        self.user = page.locator(f"{HOST} .msg[data-from=user]")
        self.replies = page.locator(f"{HOST} .replies button")
        self.crisis = page.locator(f"{HOST} section.crisis")
        self.status = page.locator(f"{HOST} .status")
        self.disclaimer = page.locator(f"{HOST} .disclaimer").first
        self.notice = page.locator(f"{HOST} .notice")

    def wait_ready(self) -> None:
        self.page.wait_for_function(
            "() => customElements.get('ketamine-faq-chat') && document.querySelector('ketamine-faq-chat').shadowRoot"
        )

    def open(self) -> None:
        self.wait_ready()
        self.launcher.click()
        expect(self.panel).to_be_visible()
        expect(self.input).to_be_focused()

    def wait_online(self, timeout: float = 30_000) -> None:
        expect(self.status).to_have_attribute("data-state", "online", timeout=timeout)

    def bot_texts(self) -> List[str]:
        return self.page.locator(f"{HOST} .msg[data-from=bot] .bubble").all_inner_texts()

    def ask(self, text: str, timeout: float = 45_000) -> List[str]:
        """Type a question, press Enter, and return the bot messages that answer it.

        The answer is complete when new bot messages have arrived and the log has been quiet
        for a moment (Rasa sends an answer and the referral as separate messages)."""
        before = self.bot.count()
        self.input.fill(text)
        self.input.press("Enter")
        expect(self.user.last).to_contain_text(text[:40])
        return self.wait_for_answers(before, timeout)

    def wait_for_answers(self, before: int, timeout: float = 45_000, settle_ms: int = 1200) -> List[str]:
        self.page.wait_for_function(
            """([before, settle]) => {
                const root = document.querySelector('ketamine-faq-chat').shadowRoot;
                const n = root.querySelectorAll('.msg[data-from=bot]').length;
                const w = window.__kfcWatch || (window.__kfcWatch = {n: -1, t: 0});
                if (n !== w.n) { w.n = n; w.t = performance.now(); }
                return n > before && performance.now() - w.t > settle;
            }""",
            arg=[before, settle_ms],
            timeout=timeout,
            polling=200,
        )
        self.page.evaluate("() => { window.__kfcWatch = undefined; }")
        return self.bot_texts()[before:]


@dataclass
class FakeRasa:
    """Rasa's REST channel, scripted, behind Playwright's request routing (no network)."""

    origin: str = "http://rasa.test"
    page_origin: str = "http://widget.test"
    reply: Callable[[str, str], List[Dict]] = lambda sender, message: [{"text": f"You said: {message}"}]
    down: bool = False
    received: List[Dict] = field(default_factory=list)

    def cors(self) -> Dict[str, str]:
        return {
            "Access-Control-Allow-Origin": self.page_origin,
            "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
            "Access-Control-Allow-Headers": "Content-Type",
        }

    def handle(self, route: Route) -> None:
        request = route.request
        if self.down:
            route.abort("connectionrefused")
            return
        if request.method == "OPTIONS":
            route.fulfill(status=204, headers=self.cors())
            return
        path = request.url[len(self.origin):].split("?")[0]
        if path.startswith("/socket.io"):
            route.abort("connectionrefused")  # component tests exercise the REST channel
        elif request.method == "GET" and path == "/webhooks/rest/":
            route.fulfill(status=200, headers=self.cors(), json={"status": "ok"})
        elif request.method == "POST" and path == "/webhooks/rest/webhook":
            body = json.loads(request.post_data or "{}")
            self.received.append(body)
            out = [{"recipient_id": body.get("sender"), **m} for m in self.reply(body.get("sender"), body.get("message"))]
            route.fulfill(status=200, headers=self.cors(), json=out)
        else:
            route.fulfill(status=404, headers=self.cors(), body="not found")


PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' http://rasa.test ws://rasa.test; frame-ancestors 'self'; base-uri 'none'"
)


def serve_test_site(page: Page, widget_js: bytes, attrs: Optional[Dict[str, str]] = None, fake: Optional[FakeRasa] = None,
                    extra_html: str = "") -> FakeRasa:
    """Route http://widget.test/* to a minimal site embedding the widget, and rasa.test to `fake`."""
    fake = fake or FakeRasa()
    attrs = {"server-url": fake.origin, "transport": "rest", **(attrs or {})}
    attr_html = " ".join(f'{k}="{v}"' if v != "" else k for k, v in attrs.items())

    def site(route: Route) -> None:
        url = route.request.url
        if url.endswith("/widget.js"):
            route.fulfill(status=200, content_type="text/javascript", body=widget_js)
            return
        if url.endswith("/hostile.css"):
            # A clinic stylesheet that would wreck a widget without its own shadow DOM.
            route.fulfill(status=200, content_type="text/css",
                          body="* { font-family: 'Comic Sans MS' !important; color: #ff00ff !important; }"
                               " button { display: none !important; } textarea { visibility: hidden !important; }"
                               " .panel, .launcher, .log { display: none !important; }")
            return
        title = "Other page" if url.rstrip("/").endswith("/other") else "Test clinic"
        html = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title>
<link rel="stylesheet" href="/hostile.css"><script src="/widget.js" defer></script></head>
<body><main><h1>{title}</h1><p><a href="/other">Other page</a></p>{extra_html}</main>
<{HOST} {attr_html}></{HOST}></body></html>"""
        route.fulfill(status=200, content_type="text/html; charset=utf-8", headers={"Content-Security-Policy": PAGE_CSP}, body=html)

    page.route("http://widget.test/**", site)
    page.route(f"{fake.origin}/**", fake.handle)
    return fake


def open_locator_text(locator: Locator) -> str:
    return " ".join(locator.all_inner_texts())
