"""Browser fixtures (a pytest plugin registered in tests/conftest.py): Debian's Chromium driven by
Playwright's Python package, for the widget tests (tests/web) and the console tests (tests/console).

No browser is ever downloaded: Playwright launches /usr/bin/chromium (`make chromium` installs it).
Two kinds of tests use these fixtures:
- component tests (test_widget_component.py) load the widget into a page served by Playwright's
  request routing, with a scripted fake of Rasa's REST channel, to test hostile bot output,
  rendering, storage and offline behaviour deterministically;
- end-to-end tests (test_widget_e2e.py) open the real demo page from the real web process and talk
  to the real Rasa server through the `running_stack` fixture (tests/stack.py).
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from bot.settings import PROJECT_ROOT

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
WIDGET_JS = PROJECT_ROOT / "bot" / "web" / "static" / "widget.js"
AXE_JS = PROJECT_ROOT / "widget" / "node_modules" / "axe-core" / "axe.min.js"
RESULTS = PROJECT_ROOT / "results" / "web"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-dev-shm-usage",
]


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives headless Chromium (needs /usr/bin/chromium)")


def _missing(what: str, hint: str):
    # In CI a missing prerequisite is a failure, never a silent skip.
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{what} is missing: {hint}")
    pytest.skip(f"{what} is missing: {hint}")


@pytest.fixture(scope="session")
def results_dir() -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    return RESULTS


@pytest.fixture(scope="session")
def widget_js() -> bytes:
    if not WIDGET_JS.is_file():
        _missing("bot/web/static/widget.js", "run `make widget`")
    return WIDGET_JS.read_bytes()


@pytest.fixture(scope="session")
def axe_js() -> str:
    if not AXE_JS.is_file():
        _missing("axe-core", "run `make widget` (npm ci in widget/)")
    return AXE_JS.read_text(encoding="utf-8")


# Module scope on purpose: sync Playwright runs an event loop in the main thread for as long as it
# is open, and asyncio-based tests in later modules (Rasa, the web app) cannot run beside it.
@pytest.fixture(scope="module")
def browser():
    if not (os.path.exists(CHROMIUM) and shutil.which(CHROMIUM)):
        _missing(CHROMIUM, "run `make chromium` (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover
        _missing("playwright", "pip install -r requirements-dev.txt")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def context(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US", timezone_id="America/Chicago")
    ctx.set_default_timeout(15_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    page = context.new_page()
    page.errors = []  # uncaught page errors and console errors, checked by tests that care
    page.on("pageerror", lambda exc: page.errors.append(f"pageerror: {exc}"))
    page.on("console", lambda msg: page.errors.append(f"console.{msg.type}: {msg.text}") if msg.type == "error" else None)
    return page
