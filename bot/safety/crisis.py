"""Rule-based crisis detection: the safety net under the trained classifier.

The classifier learns the crisis intent from examples, but a missed crisis message costs
far more than an extra 988 line, so every message is also checked against a lexicon of
first-person phrasings (bot/safety/crisis_patterns.yml). Either signal is enough.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import List, Optional, Pattern, Tuple

import yaml

PATTERNS_FILE = Path(__file__).with_name("crisis_patterns.yml")
# Longest message the detector reads; a crisis message is never hidden past this point
# because the web channels reject longer messages before they reach NLU.
MAX_CHARS = 5000

_ZERO_WIDTH = re.compile(r"[\u200b-\u200f\u2060\ufeff]")
_APOSTROPHES = re.compile(r"['\u2019\u2018`\u00b4]")
_STRETCHED = re.compile(r"([a-z])\1{2,}")
_SPACES = re.compile(r"\s+")
_SUICIDAL_TYPOS = re.compile(r"\bsu+i?c+i?d+i?a+l+\b")  # "suicdal", "suicidial"


@dataclass(frozen=True)
class CrisisMatch:
    category: str
    pattern: str


class CrisisDetector:
    def __init__(
        self,
        patterns: List[Tuple[str, Pattern[str]]],
        exceptions: List[Pattern[str]],
        replacements: List[Tuple[Pattern[str], str]],
    ) -> None:
        self._patterns = patterns
        self._exceptions = exceptions
        self._replacements = replacements

    @classmethod
    def from_file(cls, path: Path = PATTERNS_FILE) -> "CrisisDetector":
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        patterns = [
            (category, re.compile(p, re.IGNORECASE))
            for category, items in spec["patterns"].items()
            for p in items
        ]
        exceptions = [re.compile(p, re.IGNORECASE) for p in spec.get("exceptions", [])]
        replacements = [
            (re.compile(rf"\b{re.escape(str(word))}\b"), str(replacement))
            for word, replacement in (spec.get("normalise") or {}).items()
        ]
        return cls(patterns, exceptions, replacements)

    def normalise(self, text: str) -> str:
        text = unicodedata.normalize("NFKC", text or "")[:MAX_CHARS].lower()
        text = _ZERO_WIDTH.sub("", text)
        text = _APOSTROPHES.sub("", text)
        text = _STRETCHED.sub(r"\1", text)
        text = _SUICIDAL_TYPOS.sub("suicidal", text)
        for pattern, replacement in self._replacements:
            text = pattern.sub(replacement, text)
        return _SPACES.sub(" ", text).strip()

    def detect(self, text: str) -> Optional[CrisisMatch]:
        """The first crisis pattern the message matches, or None."""
        normalised = self.normalise(text)
        if not normalised:
            return None
        cleaned = normalised
        for exception in self._exceptions:
            cleaned = exception.sub(" ", cleaned)
        for category, pattern in self._patterns:
            if pattern.search(cleaned):
                return CrisisMatch(category, pattern.pattern)
        return None


@lru_cache(maxsize=1)
def default_detector() -> CrisisDetector:
    return CrisisDetector.from_file()
