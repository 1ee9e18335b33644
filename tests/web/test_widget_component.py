"""The widget in a real browser against a scripted fake of Rasa's REST channel.

These run without the bot: they pin down what the widget itself must guarantee whatever the server
sends (no HTML injection, crisis display, persistence, offline queue, keyboard, small screens).
"""
from __future__ import annotations

import gzip
import json
import re

import pytest
from playwright.sync_api import expect

from tests.web.widget_driver import HOST, FakeRasa, Widget, serve_test_site

SITE = "http://widget.test/"


@pytest.fixture
def site(page, widget_js):
    page.add_init_script(
        "window.__csp = []; document.addEventListener('securitypolicyviolation',"
        " e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
    )

    def load(attrs=None, fake=None, extra_html=""):
        fake = serve_test_site(page, widget_js, attrs, fake, extra_html)
        page.goto(SITE)
        w = Widget(page)
        w.wait_ready()
        return fake, w

    return load


def sender_ids(fake: FakeRasa) -> set:
    return {m["sender"] for m in fake.received}


def test_bundle_is_under_60_kb_gzipped(widget_js):
    assert len(gzip.compress(widget_js, 9)) < 60 * 1024


def test_opens_answers_and_closes_with_focus_back_on_launcher(page, site):
    fake, w = site()
    expect(w.launcher).to_have_attribute("aria-expanded", "false")
    expect(w.launcher).to_have_accessible_name(re.compile("Open chat"))
    w.open()
    expect(w.launcher).to_be_hidden()
    expect(w.disclaimer).to_contain_text("Information only, not medical advice. In a crisis call or text 988.")
    expect(w.disclaimer.locator("a")).to_have_attribute("href", "https://988lifeline.org/")
    expect(w.notice).to_contain_text("automated")
    expect(w.notice).to_contain_text("reviewed by clinic staff")
    w.wait_online()
    answers = w.ask("how many sessions?")
    assert answers == ["You said: how many sessions?"]
    expect(w.page.locator(f"{HOST} .msg time[datetime]")).to_have_count(2)  # a timestamp on every message
    w.input.press("Escape")
    expect(w.panel).to_be_hidden()
    expect(w.launcher).to_be_focused()
    assert page.evaluate("window.__csp") == []
    assert page.errors == []


def test_keyboard_only_conversation(page, site):
    fake, w = site()
    fake.reply = lambda s, m: [
        {"text": "Pick one:", "buttons": [{"title": "Side effects", "payload": "/faq_side_effects"}, {"title": "Cost", "payload": "/faq_cost"}]}
    ] if m == "menu" else [{"text": f"Answer to {m}"}]
    w.wait_ready()
    # Reach the launcher from the top of the page with Tab alone.
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement && document.activeElement.tagName") == HOST.upper() and \
                page.evaluate(f"document.querySelector('{HOST}').shadowRoot.activeElement?.className") == "launcher":
            break
    else:
        pytest.fail("the launcher is not reachable with Tab")
    page.keyboard.press("Enter")
    expect(w.input).to_be_focused()
    page.keyboard.type("menu")
    page.keyboard.press("Enter")
    expect(w.replies).to_have_count(2)
    # Shift+Tab from the input goes back into the log, then to the suggestions.
    w.replies.first.focus()
    expect(w.replies.first).to_be_focused()
    page.keyboard.press("Tab")
    expect(w.replies.nth(1)).to_be_focused()
    page.keyboard.press("Enter")
    expect(w.user.last).to_have_text(re.compile("Cost"))
    expect(w.bot.last).to_contain_text("Answer to /faq_cost")
    expect(w.replies).to_have_count(0)
    expect(w.input).to_be_focused()
    # Shift+Enter makes a new line instead of sending.
    page.keyboard.type("line one")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("line two")
    assert w.input.input_value() == "line one\nline two"
    page.keyboard.press("Escape")
    expect(w.launcher).to_be_focused()
    page.keyboard.press("Enter")
    expect(w.input).to_be_focused()


HOSTILE = [
    '<img src=x onerror="window.__xss=1">',
    "<script>window.__xss=2</script>",
    "[click me](javascript:window.__xss=3)",
    "[tricky](JaVaScRiPt:window.__xss=4)",
    "[data](data:text/html,<script>window.__xss=5</script>)",
    "<a href=\"javascript:window.__xss=6\">anchor</a>",
    '<svg onload="window.__xss=7"></svg>',
    "**<b onmouseover=window.__xss=8>bold</b>**",
]


def test_html_from_the_bot_is_shown_as_text_never_run(page, site):
    fake, w = site()
    fake.reply = lambda s, m: [{"text": t} for t in HOSTILE]
    w.open()
    answers = w.ask("hello")
    assert len(answers) == len(HOSTILE)
    root = f"{HOST} .log"
    for tag in ("img", "script", "svg", "b", "iframe"):
        expect(page.locator(f"{root} {tag}")).to_have_count(0)
    # Links survive only with safe targets; the unsafe ones become their plain label.
    hrefs = page.locator(f"{root} a").evaluate_all("els => els.map(a => a.getAttribute('href'))")
    assert all(not h.lower().startswith(("javascript:", "data:")) for h in hrefs), hrefs
    expect(w.bot.nth(0)).to_contain_text('<img src=x onerror="window.__xss=1">')
    expect(w.bot.nth(1)).to_contain_text("<script>window.__xss=2</script>")
    expect(w.bot.nth(2)).to_have_text(re.compile("click me"))
    w.bot.nth(2).locator(".bubble").click()
    page.mouse.move(5, 5)
    page.wait_for_timeout(300)
    assert page.evaluate("window.__xss") is None
    assert page.evaluate("window.__csp") == []


def test_html_typed_by_the_visitor_is_shown_as_text(page, site):
    fake, w = site()
    w.open()
    payload = '<img src=x onerror="window.__xss=1"> [x](javascript:window.__xss=2) **not bold**'
    w.ask(payload)
    expect(w.user.last.locator(".bubble")).to_have_text(payload)
    expect(page.locator(f"{HOST} .log img")).to_have_count(0)
    expect(w.user.last.locator("a, strong")).to_have_count(0)
    assert fake.received[-1]["message"] == payload  # sent to the bot verbatim
    assert page.evaluate("window.__xss") is None


def test_safe_markdown(page, site):
    fake, w = site()
    fake.reply = lambda s, m: [{
        "text": "Ketamine is **not** a cure.\n\n- first point\n- second point\n\n1. one\n2. two\n\n"
                "Read [the lifeline](https://988lifeline.org/) or https://example.org/info. Call [988](tel:988)."
    }]
    w.open()
    w.ask("markdown please")
    bubble = w.bot.last.locator(".bubble")
    expect(bubble.locator("strong")).to_have_text("not")
    expect(bubble.locator("ul li")).to_have_count(2)
    expect(bubble.locator("ol li")).to_have_count(2)
    web_links = bubble.locator("a[href^='https:']")
    expect(web_links).to_have_count(2)
    for i in range(2):
        expect(web_links.nth(i)).to_have_attribute("target", "_blank")
        expect(web_links.nth(i)).to_have_attribute("rel", re.compile(r"\bnoopener\b"))
    expect(web_links.nth(1)).to_have_attribute("href", "https://example.org/info")  # trailing "." left out
    expect(bubble.locator("a[href='tel:988']")).to_have_count(1)


def test_quick_replies_send_their_payload(page, site):
    fake, w = site()
    fake.reply = lambda s, m: (
        [{"text": "What would you like to know?", "buttons": [{"title": "Side effects", "payload": "What are the side effects?"}]}]
        if m == "/greet" else [{"text": f"Answer: {m}"}]
    )
    _, w = site(attrs={"initial-payload": "/greet"}, fake=fake)
    w.open()
    expect(w.replies).to_have_count(1)
    expect(page.locator(f"{HOST} .replies")).to_have_attribute("aria-label", "Suggested replies")
    assert w.user.count() == 0  # the greeting payload is not shown as a visitor message
    w.replies.first.click()
    expect(w.bot.last).to_have_text(re.compile("Answer: What are the side effects?"))
    expect(w.user.last).to_have_text(re.compile("Side effects"))
    expect(w.replies).to_have_count(0)
    assert [m["message"] for m in fake.received] == ["/greet", "What are the side effects?"]
    page.reload()
    Widget(page).wait_ready()
    assert [m["message"] for m in fake.received] == ["/greet", "What are the side effects?"]  # greeted once


@pytest.mark.parametrize("reply", [
    {"text": "Please reach out now: call or text 988, or chat at https://988lifeline.org."},
    {"text": "Please reach out to the crisis line now.", "metadata": {"crisis": True}},
    {"text": "Please reach out to the crisis line now.", "custom": {"crisis": True}},
], ids=["988-in-text", "metadata-flag", "custom-flag"])
def test_crisis_reply_is_shown_prominently(page, site, reply):
    fake, w = site()
    fake.reply = lambda s, m: [reply, {"text": "This chat is not crisis care."}] if "hurt myself" in m else [{"text": "ok"}]
    w.open()
    # A long conversation first, so the crisis answer would otherwise be one bubble among many.
    for i in range(6):
        w.ask(f"question {i}")
    expect(w.crisis).to_be_hidden()
    w.ask("i want to hurt myself")
    expect(w.crisis).to_be_visible()
    expect(w.crisis).to_be_in_viewport()
    expect(w.crisis.locator("a[href='tel:988']")).to_be_visible()
    expect(w.crisis.locator("a[href='sms:988']")).to_be_visible()
    expect(w.crisis.locator("a[href='tel:911']")).to_be_visible()
    expect(w.crisis.locator("a[href^='https://988lifeline.org']")).to_have_attribute("rel", re.compile("noopener"))
    expect(page.locator(f"{HOST} [role=alert]")).to_contain_text("988")
    expect(page.locator(f"{HOST} .msg.crisis-msg")).to_have_count(1)
    # The banner sits outside the scrolling log: scrolling to the top keeps it on screen.
    w.log.evaluate("el => { el.scrollTop = 0; }")
    expect(w.crisis).to_be_in_viewport()
    # Minimizing keeps a one-line reminder pinned; it comes back after a reload.
    w.crisis.locator("button").click()
    expect(w.crisis).to_contain_text("call or text 988")
    expect(w.crisis.locator("a[href='tel:988']")).to_be_hidden()
    page.reload()
    w2 = Widget(page)
    w2.wait_ready()
    expect(w2.crisis).to_be_visible()


def test_a_link_to_988lifeline_alone_is_not_a_crisis(page, site):
    fake, w = site()
    fake.reply = lambda s, m: [{"text": "More about the lifeline at https://988lifeline.org/about or call 1-800-988-0000."}]
    w.open()
    w.ask("what is the lifeline?")
    expect(w.crisis).to_be_hidden()


def test_history_survives_reload_and_navigation(page, site):
    fake, w = site()
    w.open()
    w.ask("first question")
    w.ask("second question")
    page.reload()
    w = Widget(page)
    w.wait_ready()
    expect(w.panel).to_be_visible()  # it was open: it stays open
    expect(w.user).to_have_count(2)
    expect(w.bot.last).to_contain_text("You said: second question")
    page.locator("a[href='/other']").click()
    expect(page).to_have_title("Other page")
    w = Widget(page)
    w.wait_ready()
    expect(w.user).to_have_count(2)
    w.ask("third question")
    assert len(sender_ids(fake)) == 1, "the same sender id across reloads and pages"


def test_start_over_begins_a_new_conversation(page, site):
    fake, w = site()
    w.open()
    w.ask("old question")
    page.locator(f"{HOST} button.restart").click()
    expect(page.locator(f"{HOST} .confirm")).to_be_visible()
    page.keyboard.press("Escape")  # Escape cancels the confirmation, not the chat
    expect(page.locator(f"{HOST} .confirm")).to_be_hidden()
    expect(w.panel).to_be_visible()
    page.locator(f"{HOST} button.restart").click()
    page.locator(f"{HOST} .confirm .btn.primary").click()
    expect(w.user).to_have_count(0)
    expect(w.bot).to_have_count(0)
    expect(w.notice).to_be_visible()
    expect(w.input).to_be_focused()
    w.ask("new question")
    assert len(sender_ids(fake)) == 2
    page.reload()
    expect(Widget(page).user).to_have_count(1)


def test_message_sent_while_offline_is_delivered_later(page, site):
    fake, w = site()
    w.open()
    w.ask("while online")
    fake.down = True
    w.input.fill("sent while offline")
    w.input.press("Enter")
    expect(w.user.last).to_have_class(re.compile("pending"))
    expect(w.status).to_have_attribute("data-state", "reconnecting")
    expect(w.status).to_contain_text("Reconnecting")
    expect(page.locator(f"{HOST} .connbar")).to_be_visible()
    # A reload while offline keeps the queued message.
    page.reload()
    w = Widget(page)
    w.wait_ready()
    expect(w.user.last).to_have_class(re.compile("pending"))
    fake.down = False
    expect(w.bot.last).to_contain_text("You said: sent while offline", timeout=20_000)
    expect(w.user.last).not_to_have_class(re.compile("pending"))
    expect(w.status).to_have_attribute("data-state", "online")
    assert [m["message"] for m in fake.received].count("sent while offline") == 1


def test_falls_back_to_rest_when_socketio_cannot_connect(page, site):
    fake, w = site(attrs={"transport": "auto"})
    w.open()
    w.wait_online(timeout=20_000)
    assert w.ask("over rest?") == ["You said: over rest?"]


def test_typing_indicator_while_waiting(page, site):
    held = []
    fake, w = site()
    w.open()
    w.wait_online()
    page.unroute(f"{fake.origin}/**")
    page.route(f"{fake.origin}/webhooks/rest/webhook", lambda route: held.append(route))
    w.input.fill("slow answer")
    w.input.press("Enter")
    typing = page.locator(f"{HOST} .typing")
    expect(typing).to_be_visible()
    for _ in range(50):
        if held:
            break
        page.wait_for_timeout(100)
    held[0].fulfill(status=200, headers=fake.cors(), json=[{"text": "finally"}])
    expect(w.bot.last).to_contain_text("finally")
    expect(typing).to_be_hidden()


def test_page_css_cannot_break_the_widget(page, site):
    _, w = site()  # the test site loads a stylesheet hiding buttons and textareas, in Comic Sans
    expect(w.launcher).to_be_visible()
    font = w.launcher.evaluate("el => getComputedStyle(el).fontFamily")
    assert "Comic" not in font
    w.open()
    expect(w.input).to_be_visible()


def test_options_locale_theme_and_open_on_load(page, site):
    strings = json.dumps({"placeholder": "Escriba su pregunta…", "send": "Enviar", "close": "Cerrar"})
    attrs = {"open": "", "chat-title": "Preguntas", "lang": "es", "strings": strings.replace('"', "&quot;")}
    _, w = site(attrs=attrs)
    expect(w.panel).to_be_visible()
    expect(page.locator(f"{HOST} h2")).to_have_text("Preguntas")
    expect(w.input).to_have_attribute("placeholder", "Escriba su pregunta…")
    expect(w.send_button).to_have_accessible_name("Enviar")
    expect(w.input).to_have_attribute("maxlength", "2000")
    w.host.evaluate("el => el.style.setProperty('--kfc-primary', '#5b2a86')")
    bg = w.send_button.evaluate("el => getComputedStyle(el).backgroundColor")
    assert bg == "rgb(91, 42, 134)"


def test_new_bot_messages_are_announced(page, site):
    fake, w = site()
    w.open()
    w.ask("announce this")
    live = page.locator(f"{HOST} [aria-live=polite]")
    expect(live).to_contain_text("You said: announce this")
    expect(w.log).to_have_attribute("role", "log")
    expect(w.input).to_have_accessible_name("Type your question")
    expect(page.locator(f"{HOST} .panel")).to_have_attribute("role", "dialog")
    expect(page.locator(f"{HOST} .panel")).to_have_accessible_name(re.compile("Ketamine therapy questions"))


def test_phone_width_fills_the_screen(browser, widget_js):
    ctx = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2, is_mobile=True, has_touch=True)
    try:
        page = ctx.new_page()
        serve_test_site(page, widget_js)
        page.goto(SITE)
        w = Widget(page)
        w.wait_ready()
        box = w.launcher.bounding_box()
        assert box["x"] + box["width"] <= 360
        w.launcher.click()
        w.wait_online()
        w.ask("a long question " * 8)
        panel = w.panel.bounding_box()
        assert (panel["x"], panel["width"]) == (0, 360)
        assert page.evaluate(f"document.querySelector('{HOST}').shadowRoot.querySelector('.log').scrollWidth") <= 360
        for loc in (w.input, w.send_button, page.locator(f"{HOST} button.close")):
            b = loc.bounding_box()
            assert b["x"] >= 0 and b["x"] + b["width"] <= 360 and b["height"] >= 40
    finally:
        ctx.close()


def test_works_at_200_percent_zoom(browser, widget_js):
    # 200% zoom of a 1280x800 window: the page lays out in 640x400 CSS pixels at double density.
    ctx = browser.new_context(viewport={"width": 640, "height": 400}, device_scale_factor=2)
    try:
        page = ctx.new_page()
        serve_test_site(page, widget_js)
        page.goto(SITE)
        w = Widget(page)
        w.open()
        w.wait_online()
        w.ask("zoomed in")
        for loc in (w.input, w.send_button, page.locator(f"{HOST} button.close"), page.locator(f"{HOST} button.restart")):
            expect(loc).to_be_in_viewport()
        assert page.evaluate(f"document.querySelector('{HOST}').shadowRoot.querySelector('.panel').scrollWidth") <= 640
    finally:
        ctx.close()


def test_axe_no_serious_or_critical_violations_with_everything_shown(page, site, axe_js, results_dir):
    fake, w = site()
    fake.reply = lambda s, m: [
        {"text": "Call or text 988 now. **Bold** and [a link](https://988lifeline.org/)."},
        {"text": "Anything else?", "buttons": [{"title": "Yes", "payload": "yes"}, {"title": "No", "payload": "no"}]},
    ]
    w.open()
    w.ask("everything")
    expect(w.crisis).to_be_visible()
    from tests.web.axe import run_axe

    report = run_axe(page, axe_js)
    (results_dir / "axe-component.json").write_text(json.dumps(report, indent=2))
    bad = [v for v in report["violations"] if v["impact"] in ("serious", "critical")]
    assert not bad, json.dumps(bad, indent=2)[:4000]
