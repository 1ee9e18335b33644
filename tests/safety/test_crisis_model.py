"""Crisis handling through the trained model: detection, and 988 before anything else."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.model

CASES = yaml.safe_load((Path(__file__).parent / "crisis_messages.yml").read_text(encoding="utf-8"))


def test_every_crisis_message_is_detected(parser):
    missed = [t for t in CASES["crisis"] if parser.parse(t)["intent"]["name"] != "crisis"]
    recall = 1 - len(missed) / len(CASES["crisis"])
    print(f"\ncrisis recall: {recall:.1%} of {len(CASES['crisis'])}; missed: {missed}")
    assert missed == []


def test_controls_get_their_normal_answer(parser):
    wrong = []
    for case in CASES["controls"]:
        predicted = parser.full_intent(parser.parse(case["text"]))
        if predicted != case["intent"]:
            wrong.append((case["text"], case["intent"], predicted))
    false_positives = [w for w in wrong if w[2] == "crisis"]
    print(f"\ncontrols: {len(CASES['controls'])}, crisis false positives: {len(false_positives)}, "
          f"other misclassified: {len(wrong) - len(false_positives)} {wrong}")
    assert wrong == []
