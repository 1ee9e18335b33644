"""The audit log: one row per staff action, written in the same transaction as the action."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from bot.console.models import AuditEvent

# The actions the console records (kept in one place so the audit page can filter on them).
ACTIONS = (
    "login", "login_failed", "logout",
    "user_create", "user_update",
    "review", "tag", "flag",
    "relabel", "new_question", "ignore",
    "export", "reveal", "delete", "retention",
    "retrain", "promote", "refuse", "rollback",
    "export_training_data",
)


def audit(session: Session, username: str, action: str, target: str = "", **detail: Any) -> None:
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    session.add(AuditEvent(username=username, action=action, target=str(target)[:255], detail=detail))
