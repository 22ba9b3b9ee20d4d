"""In-app notifications: the model every package may write to, and reading / marking them read.

A notification stores a ``kind`` and plain ``params``; its text is built when shown, in the reader's language, from
:data:`NOTIFICATION_TEXTS` (one entry a kind, whichever package sends it). The table is ``notifications`` (it was
declared by ``app.validation.models`` before; same table, no migration).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import Base, utcnow
from app.extensions import db


class Notification(Base):
    """An in-app message; its text is built at display time in the reader's language from ``kind``/``params``."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    params: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    link: Mapped[str] = mapped_column(sa.String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    read_at: Mapped[datetime | None]

    @property
    def text(self) -> str:
        template = NOTIFICATION_TEXTS.get(self.kind)
        if template is None:
            return self.kind
        try:
            return str(template) % {key: str(value) for key, value in (self.params or {}).items()}
        except (KeyError, ValueError, TypeError):
            return str(template)


NOTIFICATION_TEXTS = {
    "submitted": _l("%(volunteer)s submitted “%(title)s” for review."),
    "decided": _l("Your NGO decided on “%(title)s”."),
    "changes_requested": _l("Changes were requested on “%(title)s”."),
    "revoked": _l("The validation of %(code)s (“%(title)s”) was revoked."),
    "referent_confirmed": _l("%(referent)s answered your confirmation request for “%(title)s”."),
    "withdrawn": _l("%(volunteer)s withdrew “%(title)s” from review."),
}


def notify(user_id: int, kind: str, *, link: str = "", **params) -> Notification:
    """Add an in-app notification (its text is translated when shown)."""
    notification = Notification(user_id=user_id, kind=kind, params=params, link=link)
    db.session.add(notification)
    return notification


def notifications_of(user, limit: int = 100) -> list[Notification]:
    return list(
        db.session.scalars(
            sa.select(Notification)
            .where(Notification.user_id == user.id)
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .limit(limit)
        )
    )


def unread_count(user) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(Notification.id)).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    )


def mark_read(user, notification_id: int | None = None) -> int:
    """Mark one (or every) unread notification of ``user`` as read; returns how many changed."""
    stmt = sa.update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    if notification_id is not None:
        stmt = stmt.where(Notification.id == notification_id)
    result = db.session.execute(stmt.values(read_at=utcnow()).execution_options(synchronize_session=False))
    return result.rowcount
