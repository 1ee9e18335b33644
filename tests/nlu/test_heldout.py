"""Intent accuracy of the trained model on messages it never saw in training."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.console.gate import MIN_HELDOUT_ACCURACY as MIN_ACCURACY  # the gate's bar too
from tests.conftest import nlu_examples
from tests.model import latest_model

HELDOUT = Path(__file__).parent / "heldout.yml"
RESULTS = Path("results")

pytestmark = pytest.mark.model


def test_heldout_intent_accuracy(parser):
    cases = list(nlu_examples(HELDOUT))
    errors = []
    for expected, text in cases:
        predicted = parser.full_intent(parser.parse(text))
        if predicted != expected:
            errors.append({"text": text, "expected": expected, "predicted": predicted})
    accuracy = 1 - len(errors) / len(cases)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "heldout_accuracy.json").write_text(json.dumps(
        {"messages": len(cases), "accuracy": accuracy, "errors": errors}, indent=2))
    print(f"\nheld-out intent accuracy: {accuracy:.1%} on {len(cases)} messages")
    for error in errors:
        print(f"  {error['expected']:>28} -> {error['predicted']:<28} {error['text']}")
    assert accuracy >= MIN_ACCURACY


def test_rasa_report_and_confusion_matrix_are_written():
    out = RESULTS / "heldout"
    result = subprocess.run(
        [sys.executable, "-m", "rasa", "test", "nlu", "--model", str(latest_model()),
         "--nlu", str(HELDOUT), "--out", str(out)],
        capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-3000:]
    assert (out / "intent_report.json").exists()
    assert (out / "intent_confusion_matrix.png").exists()
    assert (out / "response_selection_report.json").exists()
