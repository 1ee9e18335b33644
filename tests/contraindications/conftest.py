"""Fixtures for the contraindication tests: a database loaded from the real data file."""
from __future__ import annotations

from typing import Iterator

import pytest

from bot.contraindications.loader import load
from bot.contraindications.matcher import ConditionMatcher, get_matcher
from bot.contraindications.repository import Catalog, load_catalog
from bot.db.engine import dispose_engine


@pytest.fixture(scope="session")
def catalog(tmp_path_factory) -> Iterator[Catalog]:
    """The catalogue as the actions see it: data file -> migrated SQLite -> repository."""
    url = f"sqlite:///{tmp_path_factory.mktemp('catalog') / 'catalog.db'}"
    load(url=url)
    yield load_catalog(url)
    dispose_engine(url)


@pytest.fixture(scope="session")
def matcher(catalog: Catalog) -> ConditionMatcher:
    return get_matcher(catalog.synonyms)


@pytest.fixture
def loaded_db(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A freshly loaded SQLite database that the code under test reaches through DB_URL."""
    load(url=sqlite_url)
    monkeypatch.setenv("DB_URL", sqlite_url)
    return sqlite_url
