"""Read the contraindication catalogue from the database in one short session."""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Dict, Optional, Tuple

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from bot.contraindications.models import Condition
from bot.db.engine import session_scope


@dataclass(frozen=True)
class ConditionInfo:
    """A condition or medicine as the actions use it (plain data, no session attached)."""

    key: str
    kind: str
    name: str
    level: str
    explanation: str
    sources: Tuple[str, ...]
    synonyms: Tuple[str, ...]


@dataclass(frozen=True)
class Catalog:
    entries: Tuple[ConditionInfo, ...]

    def get(self, key: str) -> Optional[ConditionInfo]:
        return self.by_key.get(key)

    @cached_property
    def by_key(self) -> Dict[str, ConditionInfo]:
        return {entry.key: entry for entry in self.entries}

    @property
    def synonyms(self) -> Dict[str, Tuple[str, ...]]:
        """{key: synonyms}: what the matcher is built from."""
        return {entry.key: entry.synonyms for entry in self.entries}

    def names(self, *, kind: str, level: Optional[str] = None) -> Tuple[str, ...]:
        """Display names of one kind (and level), in data-file order."""
        return tuple(
            e.name for e in self.entries if e.kind == kind and (level is None or e.level == level)
        )


def load_catalog(url: Optional[str] = None) -> Catalog:
    """Every condition and medicine with its synonyms and sources (raises SQLAlchemyError if the
    database is unreachable or not migrated)."""
    statement = (
        select(Condition)
        .options(selectinload(Condition.synonyms), selectinload(Condition.sources))
        .order_by(Condition.position, Condition.id)
    )
    with session_scope(url) as session:
        return Catalog(
            tuple(
                ConditionInfo(
                    key=row.key,
                    kind=row.kind,
                    name=row.name,
                    level=row.level,
                    explanation=row.explanation,
                    sources=tuple(source.id for source in row.sources),
                    synonyms=tuple(synonym.phrase for synonym in row.synonyms),
                )
                for row in session.execute(statement).scalars()
            )
        )
