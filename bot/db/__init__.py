"""The project's relational data layer: one declarative Base, one engine per URL, one Alembic
history.

- `bot.db.base.Base`: the declarative base every model of the project subclasses.
- `bot.db.engine.get_engine()` / `session_scope()`: engine cached per URL, one short session per
  unit of work.
- `bot.db.migrate.upgrade()` (or `python -m bot.db upgrade`): migrate the configured database to
  head.

A feature that adds models lists its models module in `bot.db.base.MODEL_MODULES`, and adds its
migration to `bot/db/migrations/versions/` on top of the current head.
"""
