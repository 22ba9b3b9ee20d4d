"""The NGO admin's audit view: an organisation's events from the append-only log, filtered, paged, exported.

Scope is the event's ``organisation_id``: an NGO admin reads the rows written with their NGO's id, nothing else; a
platform admin may read every NGO's (``organisation_id=None`` here means "all"). Pages are keyset-paginated on
(``created_at``, ``id``), newest first, so a page costs the same whatever the log's length (the index
``ix_audit_events_organisation_time`` serves it), and one page is one statement: the actor's current name and the
organisation's name come with the events by outer joins.

The actor's name is the one written with the event (``actor_label``, see :func:`app.core.audit.actor_name`).
Events written before names were recorded carry ``user#ID`` and show the actor's current name, or "a former member"
when the account no longer exists; erasure turns the label into ``erased``, also shown as "a former member".
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.auth.models import User
from app.core.audit import LEGACY_LABEL_PREFIX, REDACTED_LABEL, AuditEvent
from app.core.spreadsheet import neutralise_cell
from app.extensions import db
from app.organisations.models import Membership, Organisation

#: Events on one page of the view.
PAGE_SIZE = 50
#: Rows the CSV export reads from the database at a time.
EXPORT_BATCH = 1000

#: The NGO's actions, as the view names them (other actions show their code).
ACTION_LABELS = {
    "submission.created": _l("Claims submitted"),
    "submission.resubmitted": _l("Claims resubmitted after changes"),
    "submission.resubmitted_after_withdrawal": _l("Claims resubmitted after a withdrawal"),
    "submission.submitted_again": _l("Claims submitted again"),
    "submission.withdrawn": _l("Submission withdrawn by the volunteer"),
    "item.withdrawn": _l("Claim withdrawn by the volunteer"),
    "item.validated": _l("Claim validated"),
    "item.changes_requested": _l("Changes requested on a claim"),
    "item.rejected": _l("Claim rejected"),
    "submission.decided": _l("Review completed"),
    "submission.returned": _l("Submission returned to the volunteer"),
    "facts.confirmed": _l("Mission facts confirmed"),
    "facts.corrected": _l("Mission facts confirmed with a correction"),
    "validation.revoked": _l("Validation revoked"),
    "document.requested": _l("Document requested in the NGO's name"),
    "document.retried": _l("Document generation retried"),
    "document.issued": _l("Document issued in the NGO's name"),
    "document.reused": _l("Existing document given again"),
    "opinion.created": _l("Opinion written"),
    "opinion.updated": _l("Opinion updated"),
    "referent.requested": _l("Referent asked to confirm a mission"),
    "referent.confirmed": _l("Referent answered"),
    "membership.requested": _l("Request to join"),
    "membership.approved": _l("Request to join approved"),
    "membership.declined": _l("Request to join declined"),
    "membership.added": _l("Member added"),
    "membership.role_changed": _l("Role changed"),
    "membership.removed": _l("Member removed"),
    "invitation.sent": _l("Invitation sent"),
    "invitation.accepted": _l("Invitation accepted"),
    "invitation.revoked": _l("Invitation withdrawn"),
    "organisation.created": _l("Organisation created"),
    "organisation.updated": _l("Organisation edited by a platform admin"),
    "organisation.profile_updated": _l("Profile on documents updated"),
    "organisation.signatory_added": _l("Signatory added"),
    "organisation.signatory_removed": _l("Signatory removed"),
    "signing.identity_created": _l("Signing certificate created"),
    "survey.invitations_sent": _l("Survey invitations sent"),
}


def action_label(action: str) -> str:
    """The translated name of ``action`` (its code when the view has no name for it)."""
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else action


@dataclass(frozen=True)
class AuditFilter:
    """What the admin asked for: one person, one action, a period (both ends included, whole days in UTC)."""

    actor_id: int | None = None
    action: str = ""
    since: date | None = None
    until: date | None = None


@dataclass(frozen=True)
class Cursor:
    """The last event of a page: the next page starts strictly after it (newest first)."""

    created_at: datetime
    id: int

    def encode(self) -> str:
        return f"{self.created_at.strftime('%Y%m%dT%H%M%S.%f')}_{self.id}"

    @classmethod
    def decode(cls, text: str | None) -> Cursor | None:
        """The cursor in ``text``, or ``None`` when it is missing or malformed (the first page is shown)."""
        if not text or len(text) > 60:
            return None
        stamp, _sep, ident = text.partition("_")
        try:
            return cls(datetime.strptime(stamp, "%Y%m%dT%H%M%S.%f").replace(tzinfo=UTC), int(ident))
        except ValueError:
            return None


@dataclass(frozen=True)
class AuditLine:
    """One event as the view and the CSV show it."""

    id: int
    created_at: datetime
    actor: str
    action: str
    action_label: str
    object_type: str
    object_id: str
    organisation: str
    details: str


@dataclass(frozen=True)
class AuditPage:
    lines: list[AuditLine]
    next_cursor: Cursor | None


def _statement(organisation_id: int | None, flt: AuditFilter) -> sa.Select:
    """Events in scope matching ``flt``, newest first, each with the actor's current name and the NGO's name."""
    stmt = (
        sa.select(AuditEvent, User.display_name, Organisation.name)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .outerjoin(Organisation, Organisation.id == AuditEvent.organisation_id)
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    )
    if organisation_id is not None:
        stmt = stmt.where(AuditEvent.organisation_id == organisation_id)
    else:
        stmt = stmt.where(AuditEvent.organisation_id.is_not(None))
    if flt.actor_id is not None:
        stmt = stmt.where(AuditEvent.actor_id == flt.actor_id)
    if flt.action:
        stmt = stmt.where(AuditEvent.action == flt.action)
    if flt.since is not None:
        stmt = stmt.where(AuditEvent.created_at >= datetime.combine(flt.since, time.min, UTC))
    if flt.until is not None:
        stmt = stmt.where(AuditEvent.created_at < datetime.combine(flt.until + timedelta(days=1), time.min, UTC))
    return stmt


def _actor(event: AuditEvent, current_name: str | None) -> str:
    """The name to show: the recorded one, else (older rows) the current one, else "a former member".

    Redaction leaves no actor id, and legacy labels are exactly ``user#<actor_id>``: a person who chose "erased" or
    "user#…" as their name is still shown by that name.
    """
    label = event.actor_label or ""
    if event.actor_id is None and label == REDACTED_LABEL:
        return _("a former member")
    if event.actor_id is not None and label == f"{LEGACY_LABEL_PREFIX}{event.actor_id}":
        return current_name or _("a former member")
    if not label:
        return _("no signed-in user")
    return label


def _details(data: Any) -> str:
    """The event's data as plain ``key: value`` text (shown escaped; never markup).

    E-mail addresses (of referents, of invitees) are left out: the trail says what happened, the address adds
    nothing an admin needs and would spread a third party's contact to every export.
    """
    if not isinstance(data, dict):
        return ""
    return "; ".join(f"{key}: {value}" for key, value in sorted(data.items()) if not str(key).endswith("email"))


def _line(event: AuditEvent, current_name: str | None, organisation_name: str | None) -> AuditLine:
    return AuditLine(
        id=event.id,
        created_at=event.created_at,
        actor=_actor(event, current_name),
        action=event.action,
        action_label=action_label(event.action),
        object_type=event.object_type,
        object_id=event.object_id,
        organisation=organisation_name or "",
        details=_details(event.data),
    )


def audit_page(
    organisation_id: int | None, flt: AuditFilter, after: Cursor | None = None, *, size: int = PAGE_SIZE
) -> AuditPage:
    """One page of events in scope (``organisation_id=None``: every NGO's), starting after ``after``.

    One statement whatever the log's size: ``size + 1`` rows are read to know whether a next page exists.
    """
    stmt = _statement(organisation_id, flt)
    if after is not None:
        # A row-value comparison, which PostgreSQL turns into an index condition on (created_at, id).
        key = sa.tuple_(
            sa.literal(after.created_at, AuditEvent.created_at.type), sa.literal(after.id, AuditEvent.id.type)
        )
        stmt = stmt.where(sa.tuple_(AuditEvent.created_at, AuditEvent.id) < key)
    rows = db.session.execute(stmt.limit(size + 1)).all()
    lines = [_line(*row) for row in rows[:size]]
    more = len(rows) > size
    return AuditPage(lines, Cursor(lines[-1].created_at, lines[-1].id) if more and lines else None)


def people(organisation_id: int) -> list[tuple[int, str]]:
    """The NGO's members and former applicants (id, current name), by name: the choices of the person filter."""
    rows = db.session.execute(
        sa.select(User.id, User.display_name)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.organisation_id == organisation_id)
        .distinct()
    ).all()
    return sorted(((uid, name) for uid, name in rows), key=lambda r: (r[1].lower(), r[0]))


def csv_header() -> list[str]:
    return [
        _("Date (UTC)"),
        _("Person"),
        _("Action"),
        _("Action code"),
        _("Object"),
        _("Organisation"),
        _("Details"),
    ]


def _csv_row(line: AuditLine) -> list[str]:
    values = [
        line.created_at.strftime("%Y-%m-%d %H:%M:%S"),
        line.actor,
        line.action_label,
        line.action,
        f"{line.object_type} {line.object_id}".strip(),
        line.organisation,
        line.details,
    ]
    return [neutralise_cell(v) for v in values]


def export_csv(organisation_id: int | None, flt: AuditFilter) -> Iterator[str]:
    """The events in scope matching ``flt`` as CSV text, chunk by chunk (every cell neutralised against formulas).

    Reads :data:`EXPORT_BATCH` events per statement, by keyset, so memory stays flat for a long log.
    """
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([neutralise_cell(h) for h in csv_header()])
    after = None
    while True:
        page = audit_page(organisation_id, flt, after, size=EXPORT_BATCH)
        for line in page.lines:
            writer.writerow(_csv_row(line))
        yield out.getvalue()
        out.seek(0)
        out.truncate()
        if page.next_cursor is None:
            return
        after = page.next_cursor
