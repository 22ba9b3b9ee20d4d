"""Experience operations and rules: checks with the field concerned, legal duration bounds of the engagement
statuses, the database's own guard on dates, ownership, audit events."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from app.core.audit import AuditEvent
from app.core.errors import UserError
from app.experiences import operations as ops
from app.experiences.models import EngagementStatus, Experience, ExperienceKind
from app.experiences.rules import duration_warning
from app.extensions import db


def mission(**overrides) -> ops.ExperienceData:
    values = dict(
        kind=ExperienceKind.MISSION,
        title="Coordinatrice",
        start_date=date(2023, 1, 1),
        end_date=date(2023, 12, 31),
        status_code="VSI",
        host_country="SN",
    )
    values.update(overrides)
    return ops.ExperienceData(**values)


def count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Experience))


def status(code: str) -> EngagementStatus:
    return db.session.get(EngagementStatus, code)


def test_engagement_statuses_carry_the_domain_facts(app):
    statuses = {s.code: s for s in ops.engagement_statuses()}
    assert list(statuses) == ["VSI", "SCI", "CES", "VA", "CSI", "BEN", "SAL", "STAGE", "VIAVIE", "OTHER"]
    assert statuses["VSI"].max_days == 730 and "2005-159" in statuses["VSI"].legal_basis
    assert (statuses["SCI"].min_days, statuses["SCI"].max_days) == (180, 366)
    assert (statuses["CES"].min_days, statuses["CES"].max_age) == (14, 30)
    assert statuses["CSI"].max_days == 183
    assert statuses["BEN"].max_days is None
    for language in ("fr", "en", "es"):
        assert all(s.name.get(language) for s in statuses.values()), language


def test_create_and_update(create_user):
    owner = create_user()
    experience = ops.create_experience(owner, mission())
    assert experience.id and experience.owner_id == owner.id and experience.duration_days == 365
    ops.update_experience(experience, mission(title="Responsable", end_date=None), actor=owner)
    assert experience.title == "Responsable" and experience.duration_days is None
    actions = db.session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.object_id == str(experience.id)).order_by(AuditEvent.id)
    ).all()
    assert actions == ["experience.created", "experience.updated"]
    ops.delete_experience(experience, actor=owner)
    assert count() == 0


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (mission(start_date=date(2024, 1, 2), end_date=date(2024, 1, 1)), "end_date"),
        (mission(status_code="NOPE"), "status_code"),
        (mission(sending_organisation_id=987654), "sending_organisation_id"),
    ],
)
def test_operation_refuses_bad_data_naming_the_field(create_user, data, field):
    with pytest.raises(UserError) as refused:
        ops.create_experience(create_user(), data)
    assert refused.value.field == field
    assert count() == 0


def test_operation_refuses_an_organisation_that_is_not_a_sending_ngo(create_user, create_org):
    from app.organisations.models import OrganisationKind

    partner = create_org(kind=OrganisationKind.HOST_PARTNER)
    with pytest.raises(UserError) as refused:
        ops.create_experience(create_user(), mission(sending_organisation_id=partner.id))
    assert refused.value.field == "sending_organisation_id"


def test_refused_update_changes_nothing(create_user):
    owner = create_user()
    experience = ops.create_experience(owner, mission())
    with pytest.raises(UserError):
        ops.update_experience(experience, mission(title="Changed", end_date=date(2000, 1, 1)), actor=owner)
    assert experience.title == "Coordinatrice" and experience.end_date == date(2023, 12, 31)


def test_database_guards_the_date_order_too(create_user):
    owner = create_user()
    with pytest.raises(sa.exc.IntegrityError), db.session.begin_nested():
        db.session.add(
            Experience(
                owner_id=owner.id,
                kind=ExperienceKind.OTHER,
                title="Bypass",
                start_date=date(2024, 1, 2),
                end_date=date(2024, 1, 1),
            )
        )
        db.session.flush()


@pytest.mark.parametrize(
    ("code", "start", "end", "expected"),
    [
        ("VSI", date(2022, 1, 1), date(2023, 12, 31), None),  # exactly 730 days
        ("VSI", date(2022, 1, 1), date(2024, 1, 1), "more than the usual maximum of 730 days"),
        ("SCI", date(2024, 1, 1), date(2024, 3, 1), "less than the usual minimum of 180 days"),
        ("SCI", date(2024, 1, 1), date(2024, 12, 31), None),
        ("CES", date(2024, 7, 1), date(2024, 7, 13), "less than the usual minimum of 14 days"),
        ("CES", date(2024, 7, 1), date(2024, 7, 14), None),
        ("CSI", date(2024, 1, 1), date(2024, 12, 31), "more than the usual maximum of 183 days"),
        ("BEN", date(2000, 1, 1), date(2024, 12, 31), None),  # no bounds for unpaid volunteering
        ("VSI", date(2022, 1, 1), None, None),  # still going on: nothing to say yet
    ],
)
def test_duration_warnings_follow_the_legal_bounds(app, code, start, end, expected):
    from app.core.i18n import force_locale

    with force_locale("en"):  # the expected phrases are the English msgids; French is checked below
        warning = duration_warning(status(code), start, end)
    if expected is None:
        assert warning is None
    else:
        assert expected in warning
        assert status(code).legal_basis in warning


def test_duration_warning_is_translated(app):
    from app.core.i18n import force_locale

    with force_locale("fr"):
        warning = duration_warning(status("VSI"), date(2020, 1, 1), date(2023, 1, 1))
    assert warning and "730" in warning and "Volontariat de solidarité internationale" in warning


def test_experiences_are_private_and_most_recent_first(create_user):
    owner, other = create_user(), create_user()
    old = ops.create_experience(owner, mission(title="Old", start_date=date(2019, 1, 1), end_date=date(2019, 6, 1)))
    new = ops.create_experience(owner, mission(title="New", start_date=date(2024, 1, 1), end_date=None))
    foreign = ops.create_experience(other, mission(title="Other's"))
    assert ops.experiences_of(owner) == [new, old]
    assert ops.get_owned_experience(old.id, owner) is old
    assert ops.get_owned_experience(foreign.id, owner) is None
    assert old.can_view(owner) and not old.can_view(other) and not old.can_edit(other)
