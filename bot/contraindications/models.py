"""Tables for conditions and interacting medicines, their synonyms, and their sources."""
from __future__ import annotations

from typing import List

from sqlalchemy import CheckConstraint, Column, ForeignKey, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, relationship

from bot.db.base import Base

LEVELS = ("contraindicated", "caution", "not_recommended")
KINDS = ("condition", "medicine")


condition_sources = Table(
    "condition_sources",
    Base.metadata,
    Column(
        "condition_id",
        ForeignKey("conditions.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("source_id", ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True),
)


class Source(Base):
    """A reference the clinical facts come from (ids from shared/clinical-reference.md: SPR...)."""

    __tablename__ = "sources"

    id: Mapped[str] = Column(String(32), primary_key=True)
    title: Mapped[str] = Column(Text, nullable=False)

    def __repr__(self) -> str:
        return f"Source({self.id!r})"


class Condition(Base):
    """A condition or an interacting medicine (`kind`), its level and plain-language explanation."""

    __tablename__ = "conditions"
    __table_args__ = (
        CheckConstraint(
            "level IN ('contraindicated', 'caution', 'not_recommended')", name="level"
        ),
        CheckConstraint("kind IN ('condition', 'medicine')", name="kind"),
    )

    id: Mapped[int] = Column(Integer, primary_key=True)
    key: Mapped[str] = Column(String(64), nullable=False, unique=True)
    kind: Mapped[str] = Column(String(16), nullable=False)
    # Display name as it reads inside a sentence ("high blood pressure", "MAOIs").
    name: Mapped[str] = Column(String(200), nullable=False)
    level: Mapped[str] = Column(String(32), nullable=False)
    explanation: Mapped[str] = Column(Text, nullable=False)
    # Order in the data file, so lists read in the order the content editors chose.
    position: Mapped[int] = Column(Integer, nullable=False, default=0)

    synonyms: Mapped[List["Synonym"]] = relationship(
        "Synonym",
        back_populates="condition",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Synonym.id",
    )
    sources: Mapped[List[Source]] = relationship(
        Source, secondary=condition_sources, order_by=Source.id
    )

    def __repr__(self) -> str:
        return f"Condition({self.key!r}, {self.level!r})"


class Synonym(Base):
    """One way visitors say a condition ("high bp", "my blood pressure is high"), stored lower-case.

    A phrase belongs to one condition only (unique), so a match is never ambiguous.
    """

    __tablename__ = "condition_synonyms"

    id: Mapped[int] = Column(Integer, primary_key=True)
    condition_id: Mapped[int] = Column(
        ForeignKey("conditions.id", ondelete="CASCADE"), nullable=False, index=True
    )
    phrase: Mapped[str] = Column(String(200), nullable=False, unique=True)

    condition: Mapped[Condition] = relationship(Condition, back_populates="synonyms")

    def __repr__(self) -> str:
        return f"Synonym({self.phrase!r})"
