"""Loads the trained model (from `make train`) once per test session for NLU-level tests."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Dict

from bot.settings import PROJECT_ROOT


def latest_model() -> Path:
    models = sorted((PROJECT_ROOT / "models").glob("*.tar.gz"), key=lambda p: p.stat().st_mtime)
    if not models:
        raise RuntimeError("no trained model in models/: run `make train` (make test does it)")
    return models[-1]


class Parser:
    """Parses messages with the real trained model, in process."""

    def __init__(self, model_path: Path) -> None:
        from rasa.core.agent import Agent

        self.loop = asyncio.new_event_loop()
        self.agent = Agent.load(str(model_path))

    def parse(self, text: str) -> Dict[str, Any]:
        return self.loop.run_until_complete(self.agent.parse_message(text))

    @staticmethod
    def full_intent(parse: Dict[str, Any]) -> str:
        """`faq/<key>` for FAQ questions, the intent name otherwise."""
        intent = parse["intent"]
        return intent.get("full_retrieval_intent_name") or intent["name"]
