"""The declarative Base shared by every model of the project (one MetaData, one Alembic history)."""
from __future__ import annotations

import importlib

from sqlalchemy import MetaData
from sqlalchemy.orm import registry

# Deterministic constraint names, so later migrations can alter or drop them by name
# (SQLite batch mode needs named constraints).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

mapper_registry = registry(metadata=MetaData(naming_convention=NAMING_CONVENTION))
Base = mapper_registry.generate_base()

# Every module that defines models on `Base`. Alembic's env imports them so that the metadata it
# compares against (autogenerate) is the whole project's. Add a feature's models module here.
MODEL_MODULES = ("bot.contraindications.models", "bot.console.models")


def import_all_models() -> MetaData:
    """Import every models module and return the project's complete metadata."""
    for module in MODEL_MODULES:
        importlib.import_module(module)
    return Base.metadata
