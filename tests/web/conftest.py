"""The widget's browser tests; the browser fixtures come from the tests.browser plugin."""
from __future__ import annotations

from pathlib import Path

import pytest


def pytest_collection_modifyitems(config, items):
    for item in items:
        if Path(str(item.fspath)).parent == Path(__file__).parent and "test_web_app" not in item.nodeid:
            item.add_marker(pytest.mark.browser)
