"""Staff accounts: argon2 password hashes, roles, login rate limits, the first admin.

No default password exists anywhere: the first admin comes from CONSOLE_ADMIN_USER and
CONSOLE_ADMIN_PASSWORD, or from `make admin` (which prompts).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Optional

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.console.models import ROLES, LoginAttempt, User, utcnow

MIN_PASSWORD_LENGTH = 12
USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9._@-]{2,64}$")

# Failed logins tolerated per window, per account and per client address.
LOGIN_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_USERNAME = 5
MAX_FAILURES_PER_ADDRESS = 20

_hasher = PasswordHasher()  # argon2id with the library's (OWASP-level) cost parameters
# Verified against when the username does not exist, so both cases take the same time.
_DUMMY_HASH = _hasher.hash("not a real password, only for constant-time misses")


class AccountError(ValueError):
    """A username, password or role that cannot be accepted; the message is shown to staff."""


@dataclass(frozen=True)
class StaffUser:
    """The signed-in user as request handlers see it."""

    id: int
    username: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password_policy(password: str, username: str = "") -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"Passwords need at least {MIN_PASSWORD_LENGTH} characters.")
    if username and password.lower() == username.lower():
        raise AccountError("The password cannot be the username.")


def create_user(session: Session, username: str, password: str, role: str) -> User:
    username = username.strip()
    if not USERNAME_PATTERN.match(username):
        raise AccountError("Usernames are 2-64 letters, digits or . _ @ -")
    if role not in ROLES:
        raise AccountError(f"Role must be one of {', '.join(ROLES)}.")
    check_password_policy(password, username)
    if session.scalar(select(User).where(func.lower(User.username) == username.lower())):
        raise AccountError(f"A user named {username!r} already exists.")
    user = User(username=username, password_hash=hash_password(password), role=role, active=True)
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, user: User, password: str) -> None:
    check_password_policy(password, user.username)
    user.password_hash = hash_password(password)


def has_admin(session: Session) -> bool:
    return bool(session.scalar(select(User.id).where(User.role == "admin", User.active).limit(1)))


def ensure_admin(session: Session, username: str, password: str) -> Optional[User]:
    """Create the first admin from the environment, once: nothing happens if an admin exists."""
    if not username or not password or has_admin(session):
        return None
    return create_user(session, username, password, "admin")


def _failures_since(session: Session, column, value: str, since: datetime) -> int:
    return session.scalar(
        select(func.count(LoginAttempt.id)).where(
            column == value, LoginAttempt.at >= since, LoginAttempt.succeeded.is_(False)
        )
    ) or 0


def is_rate_limited(session: Session, username: str, address: str) -> bool:
    since = utcnow() - LOGIN_WINDOW
    return (
        _failures_since(session, LoginAttempt.username, username.lower(), since)
        >= MAX_FAILURES_PER_USERNAME
        or _failures_since(session, LoginAttempt.address, address, since) >= MAX_FAILURES_PER_ADDRESS
    )


def authenticate(session: Session, username: str, password: str, address: str) -> Optional[User]:
    """The active user with this password, or None. Every attempt is recorded.

    The caller checks `is_rate_limited` first and does not call this when it is.
    """
    username = username.strip()[:64]
    user = session.scalar(select(User).where(func.lower(User.username) == username.lower()))
    try:
        ok = _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        ok = False
    ok = ok and user is not None and user.active
    session.add(LoginAttempt(username=username.lower(), address=address[:64], succeeded=ok))
    if not ok:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = datetime.now(timezone.utc)
    return user


def staff_user(user: User) -> StaffUser:
    return StaffUser(id=user.id, username=user.username, role=user.role)
