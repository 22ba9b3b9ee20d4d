"""Operations on experiences. They flush and log; the caller commits."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from app.auth.models import User
from app.core.audit import log_event
from app.core.db import UTCDateTime, utcnow
from app.core.errors import UserError
from app.experiences.models import EngagementStatus, Experience, ExperienceKind, TrainingKind, WorkingTime
from app.experiences.rules import overlap_warning as warning
from app.extensions import db
from app.organisations.models import Organisation, OrganisationKind


@dataclass(frozen=True)
class ExperienceData:
    """The editable facts of an experience (fields that do not apply to a kind stay empty)."""

    kind: ExperienceKind
    title: str
    start_date: date
    end_date: date | None = None
    sending_organisation_id: int | None = None
    sending_organisation_name: str = ""
    host_name: str = ""
    host_country: str = ""
    host_city: str = ""
    status_code: str | None = None
    working_time: WorkingTime | None = None
    hours_per_week: int | None = None
    team_size: int | None = None
    budget_managed_eur: int | None = None
    people_served: int | None = None
    languages_used: str = ""
    context: str = ""
    activities: str = ""
    results: str = ""
    provider: str = ""
    training_kind: TrainingKind | None = None
    hours: int | None = None
    certificate: str = ""
    extra: dict = field(default_factory=dict)


EDITABLE_FIELDS = tuple(f.name for f in fields(ExperienceData) if f.name not in {"kind", "extra"})


def _check(data: ExperienceData) -> None:
    if data.end_date is not None and data.end_date < data.start_date:
        raise UserError(_l("The end date cannot be before the start date."), "end_date")
    if data.sending_organisation_id is not None:
        organisation = db.session.get(Organisation, data.sending_organisation_id)
        if organisation is None or organisation.kind != OrganisationKind.SENDING_NGO:
            raise UserError(_l("Please choose an organisation from the list."), "sending_organisation_id")
    if data.status_code is not None and db.session.get(EngagementStatus, data.status_code) is None:
        raise UserError(_l("Please choose a status from the list."), "status_code")


def create_experience(owner: User, data: ExperienceData) -> Experience:
    """Record a new experience for ``owner``. Raises :class:`~app.core.errors.UserError`."""
    _check(data)
    experience = Experience(
        owner_id=owner.id, kind=data.kind, **{name: getattr(data, name) for name in EDITABLE_FIELDS}
    )
    db.session.add(experience)
    db.session.flush()
    log_event("experience.created", actor=owner, obj=experience, data={"kind": data.kind.value})
    return experience


def update_experience(experience: Experience, data: ExperienceData, *, actor: User) -> None:
    """Change the facts of an experience (its kind stays). Raises :class:`~app.core.errors.UserError`."""
    _check(data)
    for name in EDITABLE_FIELDS:
        setattr(experience, name, getattr(data, name))
    db.session.flush()
    log_event("experience.updated", actor=actor, obj=experience)


def delete_experience(experience: Experience, *, actor: User) -> None:
    """Delete an experience and what hangs on it (claims are removed by the database cascade)."""
    # The id (in the event's object) and the kind, never the title: audit events are append-only and outlive an
    # account's erasure, so they must not hold what the person wrote (see app/portability/erasure.py).
    log_event("experience.deleted", actor=actor, obj=experience, data={"kind": experience.kind.value})
    _withdraw_validations_of_claims(experience.id)
    db.session.delete(experience)
    db.session.flush()


# The NGOs' validation records of the experience's claims outlive them (issue 20): they are marked withdrawn before
# the claims go by cascade. Claims and their validations live on a higher floor, so this floor names only the
# tables and columns it writes (tests/test_rules_without_views.py pins them against the models).
CLAIMS_TABLE = "claims"
VALIDATIONS_TABLE = "claim_validations"
_claims = sa.table(CLAIMS_TABLE, sa.column("id"), sa.column("experience_id"))
_validations = sa.table(VALIDATIONS_TABLE, sa.column("claim_id"), sa.column("withdrawn_at", UTCDateTime()))


def _withdraw_validations_of_claims(experience_id: int) -> None:
    """Mark the standing validation records of the experience's claims withdrawn by the holder, now."""
    claim_ids = sa.select(_claims.c.id).where(_claims.c.experience_id == experience_id)
    db.session.execute(
        sa.update(_validations)
        .where(_validations.c.claim_id.in_(claim_ids), _validations.c.withdrawn_at.is_(None))
        .values(withdrawn_at=utcnow())
    )
    # Records already loaded reload from the database (withdrawn_at here, claim_id NULLed by the foreign key).
    for obj in list(db.session.identity_map.values()):
        if getattr(obj, "__tablename__", None) == VALIDATIONS_TABLE:
            db.session.expire(obj)


def experiences_of(owner: User) -> list[Experience]:
    """The owner's experiences, most recent first, with the objects a list shows."""
    return list(
        db.session.scalars(
            sa.select(Experience)
            .where(Experience.owner_id == owner.id)
            .options(selectinload(Experience.sending_organisation), selectinload(Experience.status))
            .order_by(Experience.start_date.desc(), Experience.id.desc())
        )
    )


def get_owned_experience(experience_id: int, owner: User) -> Experience | None:
    """The experience if ``owner`` owns it (``None`` otherwise: callers answer 404)."""
    return db.session.scalar(
        sa.select(Experience)
        .where(Experience.id == experience_id, Experience.owner_id == owner.id)
        .options(selectinload(Experience.sending_organisation), selectinload(Experience.status))
    )


def overlap_warning(experience: Experience) -> str | None:
    """A note when ``experience`` overlaps another full-time engagement of its owner (never blocks)."""
    return warning(experience, experiences_of(experience.owner))


def engagement_statuses() -> list[EngagementStatus]:
    return list(db.session.scalars(sa.select(EngagementStatus).order_by(EngagementStatus.position)))


def sending_ngos() -> list[Organisation]:
    return list(
        db.session.scalars(
            sa.select(Organisation).where(Organisation.kind == OrganisationKind.SENDING_NGO).order_by(Organisation.name)
        )
    )
