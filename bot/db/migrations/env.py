"""Alembic environment for the whole project (every feature's models share this one history).

Only tables defined on `bot.db.base.Base` are ever compared or migrated: other tables in the same
database, above all Rasa's tracker-store `events` table, are invisible to autogenerate, so no
migration will alter or drop them.
"""
from __future__ import annotations

from alembic import context

from bot.db.base import import_all_models
from bot.db.engine import get_engine

config = context.config
target_metadata = import_all_models()


def include_name(name, type_, parent_names):
    if type_ == "table":
        return name in target_metadata.tables
    return True


def include_object(obj, name, type_, reflected, compare_to):
    if type_ == "table":
        return name in target_metadata.tables
    return True


def _configure(**kwargs) -> None:
    context.configure(
        target_metadata=target_metadata,
        include_name=include_name,
        include_object=include_object,
        compare_type=True,
        **kwargs,
    )


def run_migrations_offline() -> None:
    _configure(url=config.attributes["db_url"], literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = get_engine(config.attributes["db_url"])
    with engine.connect() as connection:
        # SQLite cannot ALTER most things in place: batch mode rewrites the table.
        _configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
