"""Test stories through the trained model (NLU and dialogue policies together)."""
from __future__ import annotations

import subprocess
import sys

import pytest

from tests.model import latest_model

pytestmark = pytest.mark.model


def test_stories_pass_without_prediction_errors():
    result = subprocess.run(
        [sys.executable, "-m", "rasa", "test", "core", "--model", str(latest_model()),
         "--stories", "tests/test_stories.yml", "--out", "results/stories",
         "--fail-on-prediction-errors"],
        capture_output=True, text=True, timeout=900,
    )
    output = result.stdout + result.stderr
    failed = open("results/stories/failed_test_stories.yml").read() if result.returncode else ""
    assert result.returncode == 0, output[-2000:] + "\n" + failed
