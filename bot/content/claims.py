"""The claims linter: rejects answer texts that state what the clinical reference forbids.

A claim negated in the same answer is allowed where the pattern says so ("is not a cure"),
so honest corrections of the articles pass.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Pattern

import yaml

CLAIMS_FILE = Path(__file__).with_name("forbidden_claims.yml")
_NEGATED = re.compile(r"\b(not|never|isn't|is not|no longer)\s+(a\s+|an\s+)?$", re.IGNORECASE)


@lru_cache(maxsize=1)
def forbidden_claims() -> Dict[str, Pattern[str]]:
    spec = yaml.safe_load(CLAIMS_FILE.read_text(encoding="utf-8"))
    return {name: re.compile(p, re.IGNORECASE) for name, p in spec["claims"].items()}


def find_forbidden_claims(text: str) -> List[str]:
    """Names of the forbidden claims the text makes (negated mentions excluded)."""
    found = []
    for name, pattern in forbidden_claims().items():
        for match in pattern.finditer(text or ""):
            before = text[max(0, match.start() - 20): match.start()]
            if not _NEGATED.search(before):
                found.append(name)
                break
    return found
