"""What the web process does once at start-up for the console."""
from __future__ import annotations

import logging

from bot.console import accounts
from bot.console.audit import audit
from bot.db.engine import session_scope
from bot.db.migrate import upgrade
from bot.settings import Settings

logger = logging.getLogger(__name__)


def console_startup(settings: Settings) -> None:
    # The schema is migrated by `make db`; upgrading again here is a no-op then, and makes a
    # web process started on its own (tests, a fresh database) work too.
    upgrade(settings.db_url)
    with session_scope(settings.db_url) as session:
        try:
            admin = accounts.ensure_admin(
                session, settings.console_admin_user, settings.console_admin_password
            )
        except accounts.AccountError as error:
            logger.error("CONSOLE_ADMIN_USER/CONSOLE_ADMIN_PASSWORD not accepted: %s", error)
            return
        if admin is not None:
            audit(session, "system", "user_create", admin.username, role="admin", source="environment")
            logger.info("Created the first console admin %r from the environment.", admin.username)
