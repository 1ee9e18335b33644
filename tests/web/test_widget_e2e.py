"""The demo clinic page in headless Chromium against the real web process, Rasa and action server.

`running_stack` (tests/stack.py) starts the services once per session; the page's widget talks to
Rasa over socket.io exactly as a visitor's browser does.
"""
from __future__ import annotations

import gzip
import json
import re
import shutil
import time
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.browser import WIDGET_JS
from tests.web.widget_driver import HOST, Widget

pytestmark = pytest.mark.e2e

REFERRAL = re.compile(r"doctor|care team|medical team", re.I)
XSS = [
    '<img src=x onerror="window.__xss=1">',
    "<script>window.__xss=2</script>",
    "[click](javascript:window.__xss=3)",
]


@pytest.fixture
def demo(running_stack, page):
    page.add_init_script(
        "window.__csp = []; document.addEventListener('securitypolicyviolation',"
        " e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
    )
    page.goto(running_stack.web_url + "/")
    w = Widget(page)
    w.wait_ready()
    return w


def open_and_greet(w: Widget) -> None:
    w.open()
    w.wait_online()
    # initial-payload="/greet": the bot greets first, with suggestions.
    expect(w.bot.first).to_be_visible(timeout=45_000)
    expect(w.replies.first).to_be_visible()


def test_demo_page_uses_socketio_and_has_no_csp_violations(demo):
    open_and_greet(demo)
    expect(demo.host).to_have_attribute("data-transport", "socketio")
    assert demo.page.evaluate("window.__csp") == []
    assert demo.page.errors == []


def test_question_gets_its_answer_and_the_referral(demo):
    open_and_greet(demo)
    answers = demo.ask("how many sessions will i need?")
    assert any("session" in a.lower() for a in answers), answers
    assert REFERRAL.search(answers[-1]), answers
    expect(demo.page.locator(f"{HOST} .msg[data-from=bot] time[datetime]").last).to_be_visible()


def test_quick_reply(demo):
    open_and_greet(demo)
    before = demo.bot.count()
    titles = demo.replies.all_inner_texts()
    demo.replies.filter(has_text="Side effects").click()
    answers = demo.wait_for_answers(before)
    expect(demo.user.last).to_have_text(re.compile("Side effects"))
    assert any(re.search(r"nausea|dizz|dissociat", a, re.I) for a in answers), (titles, answers)
    assert REFERRAL.search(answers[-1])


def test_history_survives_reload_and_navigation(demo, page):
    open_and_greet(demo)
    demo.ask("what is ketamine?")
    texts = demo.bot_texts()
    page.reload()
    w = Widget(page)
    w.wait_ready()
    expect(w.panel).to_be_visible()
    assert w.bot_texts() == texts
    page.locator("nav a[href='/first-visit']").click()
    expect(page).to_have_title(re.compile("Your first visit"))
    w = Widget(page)
    w.wait_ready()
    assert w.bot_texts() == texts
    w.wait_online()
    answers = w.ask("how long does a session last")
    assert REFERRAL.search(answers[-1])
    # Start over: a new, empty conversation.
    page.locator(f"{HOST} button.restart").click()
    page.locator(f"{HOST} .confirm .btn.primary").click()
    expect(w.user).to_have_count(0)
    expect(w.bot.first).to_be_visible(timeout=45_000)  # greeted again


def test_crisis_message_is_shown_prominently(demo):
    open_and_greet(demo)
    for q in ("what is ketamine", "does it hurt"):
        demo.ask(q)
    answers = demo.ask("i want to kill myself")
    assert any("988" in a for a in answers), answers
    expect(demo.crisis).to_be_visible()
    expect(demo.crisis).to_be_in_viewport()
    expect(demo.crisis.locator("a[href='tel:988']")).to_be_visible()
    expect(demo.page.locator(f"{HOST} .msg.crisis-msg").first).to_be_visible()
    expect(demo.page.locator(f"{HOST} [role=alert]")).to_contain_text("988")


def test_keyboard_only_conversation(demo, page):
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate(f"document.querySelector('{HOST}').shadowRoot.activeElement?.className") == "launcher":
            break
    else:
        pytest.fail("the chat launcher cannot be reached with Tab")
    page.keyboard.press("Enter")
    expect(demo.input).to_be_focused()
    expect(demo.replies.first).to_be_visible(timeout=45_000)
    before = demo.bot.count()
    page.keyboard.type("what are the side effects")
    page.keyboard.press("Enter")
    answers = demo.wait_for_answers(before)
    assert REFERRAL.search(answers[-1])
    expect(demo.input).to_be_focused()
    page.keyboard.press("Escape")
    expect(demo.panel).to_be_hidden()
    expect(demo.launcher).to_be_focused()


def test_xss_messages_render_as_text(demo, page):
    open_and_greet(demo)
    for payload in XSS:
        demo.ask(payload)
        expect(demo.user.last.locator(".bubble")).to_have_text(payload)
    expect(page.locator(f"{HOST} .log img, {HOST} .log script")).to_have_count(0)
    hrefs = page.locator(f"{HOST} .log a").evaluate_all("els => els.map(a => a.getAttribute('href'))")
    assert not [h for h in hrefs if not h.startswith(("http:", "https:", "tel:", "mailto:", "sms:"))]
    assert page.evaluate("window.__xss") is None


def test_rasa_cors_is_limited_to_configured_origins(running_stack):
    def preflight(origin: str):
        req = urllib.request.Request(
            f"{running_stack.rasa_url}/webhooks/rest/webhook",
            method="OPTIONS",
            headers={"Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"},
        )
        with urllib.request.urlopen(req, timeout=10) as res:
            return res.headers.get("Access-Control-Allow-Origin")

    assert preflight(running_stack.web_url) == running_stack.web_url
    assert preflight("http://evil.example") in (None, "")


def test_axe_on_the_demo_page_with_the_widget_open(demo, page, axe_js, results_dir):
    from tests.web.axe import run_axe

    open_and_greet(demo)
    demo.ask("how does ketamine work")
    report = run_axe(page, axe_js, include="html")
    (results_dir / "axe-demo-page.json").write_text(json.dumps(report, indent=2))
    bad = [v for v in report["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, json.dumps(bad, indent=2)[:4000]


def test_screenshots_and_metrics(running_stack, browser, results_dir):
    """Desktop and 360px phone screenshots of the open widget, plus the numbers for the closing note."""
    metrics = {"widget_js_bytes": WIDGET_JS.stat().st_size, "widget_js_gzip_bytes": len(gzip.compress(WIDGET_JS.read_bytes(), 9))}
    for name, options in {
        "desktop": {"viewport": {"width": 1280, "height": 800}},
        "phone": {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True},
    }.items():
        ctx = browser.new_context(**options)
        try:
            page = ctx.new_page()
            started = time.monotonic()
            page.goto(running_stack.web_url + "/")
            w = Widget(page)
            w.wait_ready()
            ready_ms = page.evaluate(
                "() => performance.getEntriesByName('kfc:ready')[0].startTime"
            )
            w.launcher.click()
            w.wait_online()
            metrics[f"{name}_ready_ms"] = round(ready_ms)
            metrics[f"{name}_online_ms"] = round((time.monotonic() - started) * 1000)
            expect(w.bot.first).to_be_visible(timeout=45_000)
            w.ask("how many sessions will I need?")
            page.wait_for_timeout(300)
            path = results_dir / f"widget-{name}.png"
            page.screenshot(path=str(path))
            shutil.copyfile(path, results_dir.parent / f"widget-{name}.png")
        finally:
            ctx.close()
    (results_dir / "widget-metrics.json").write_text(json.dumps(metrics, indent=2))
    assert metrics["widget_js_gzip_bytes"] < 60 * 1024


def test_reconnects_after_rasa_restarts_and_loses_no_message(running_stack, demo, page):
    """Last in the file: it stops and restarts the shared Rasa server."""
    open_and_greet(demo)
    demo.ask("what is ketamine")
    running_stack.stop_rasa()
    try:
        expect(demo.status).to_have_attribute("data-state", "reconnecting", timeout=20_000)
        expect(demo.status).to_contain_text("Reconnecting")
        before = demo.bot.count()
        demo.input.fill("is ketamine legal?")
        demo.input.press("Enter")
        expect(demo.user.last).to_have_class(re.compile("pending"))
    finally:
        running_stack.start_rasa()
    # The queued message goes out by itself once the server is back, and gets its answer.
    demo.wait_online(timeout=60_000)
    answers = demo.wait_for_answers(before, timeout=60_000)
    expect(demo.user.last).not_to_have_class(re.compile("pending"))
    assert REFERRAL.search(answers[-1]), answers
    # And the conversation simply goes on.
    answers = demo.ask("how long does it last?")
    assert REFERRAL.search(answers[-1]), answers
