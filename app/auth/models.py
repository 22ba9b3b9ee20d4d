"""User accounts, their sessions, recovery codes and the login-failure counters."""

from __future__ import annotations

import hashlib
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, TimestampMixin, utcnow


def sha256_hex(value: str) -> str:
    """Hex SHA-256 of a string: how high-entropy tokens are stored (never the token itself)."""
    return hashlib.sha256(value.encode()).hexdigest()


class User(TimestampMixin, Base):
    """A person with an account. Organisation roles live in memberships; two roles are user-wide."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    display_name: Mapped[str] = mapped_column(sa.String(120))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    locale: Mapped[str] = mapped_column(sa.String(5), default="fr")
    email_verified_at: Mapped[datetime | None]
    is_platform_admin: Mapped[bool] = mapped_column(default=False)
    is_adviser: Mapped[bool] = mapped_column(default=False)
    disabled_at: Mapped[datetime | None]
    #: Part of every session id: bumping it ends every session of the user at once.
    session_version: Mapped[int] = mapped_column(default=1)
    totp_secret: Mapped[str | None] = mapped_column(sa.String(64))
    totp_enabled_at: Mapped[datetime | None]
    #: Last accepted TOTP time step, so a code cannot be replayed within its window.
    totp_last_step: Mapped[int | None]
    last_login_at: Mapped[datetime | None]

    memberships = relationship(
        "Membership", back_populates="user", cascade="all, delete-orphan", foreign_keys="Membership.user_id"
    )

    # --- Flask-Login protocol -----------------------------------------------------------------------------
    #: Set when the user object was loaded for (or logged into) a particular session.
    session_key = None

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.disabled_at is None

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        """Alternative id: user id, session version and the per-login session key."""
        return f"{self.id}:{self.session_version}:{self.session_key or ''}"

    # --- Derived state --------------------------------------------------------------------------------------
    @property
    def is_verified(self) -> bool:
        return self.email_verified_at is not None

    @property
    def has_totp(self) -> bool:
        return self.totp_enabled_at is not None

    @property
    def must_enrol_totp(self) -> bool:
        """Platform admins may not use the site before enabling two-factor authentication."""
        return self.is_platform_admin and not self.has_totp

    @property
    def password_fingerprint(self) -> str:
        """Changes whenever the password does: embedded in reset links to make them single-use."""
        return sha256_hex(self.password_hash)[:16]

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


class UserSession(Base):
    """One signed-in browser. Logging out revokes the row, so a copied cookie stops working."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    user_agent: Mapped[str] = mapped_column(sa.String(200), default="")

    user = relationship(User)


class RecoveryCode(Base):
    """A one-time code that replaces a TOTP code when the phone is lost."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    used_at: Mapped[datetime | None]


class LoginThrottle(Base):
    """Failed-login counter for one key (an account or an IP address), shared by every process."""

    __tablename__ = "login_throttles"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(sa.String(300), unique=True)
    failures: Mapped[int] = mapped_column(default=0)
    last_failure_at: Mapped[datetime | None]
    blocked_until: Mapped[datetime | None]


class ErasedUser(Base):
    """An erased account: only its former id, so the append-only audit log can say "a former user".

    Audit rows keep ``actor_id`` (a plain number, no foreign key) and cannot be updated (ORM guard and database
    trigger). They never store the e-mail address: ``actor_label`` is the actor's display name at the time
    (``user#ID`` in rows written before 2026-12-02, whose name is resolved at display time from ``users``, else
    from this table), and erasure redacts it.
    """

    __tablename__ = "erased_users"

    user_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    erased_at: Mapped[datetime] = mapped_column(default=utcnow)
