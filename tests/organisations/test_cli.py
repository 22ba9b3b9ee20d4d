"""``flask orgs create`` and ``flask orgs list``."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.core.audit import AuditEvent
from app.organisations.models import Organisation, OrganisationKind


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def _org(db_session, slug) -> Organisation | None:
    return db_session.scalar(sa.select(Organisation).where(Organisation.slug == slug))


def _count(db_session) -> int:
    return db_session.scalar(sa.select(sa.func.count(Organisation.id)))


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("sending", OrganisationKind.SENDING_NGO),
        ("host", OrganisationKind.HOST_PARTNER),
        ("guidance", OrganisationKind.GUIDANCE_SERVICE),
    ],
)
def test_create_each_kind_with_a_slug_made_from_the_name(runner, db_session, kind, expected):
    result = runner.invoke(args=["orgs", "create", "Élan Solidaire", "--kind", kind, "--country", "pe"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "created elan-solidaire"
    organisation = _org(db_session, "elan-solidaire")
    assert (organisation.name, organisation.kind, organisation.country) == ("Élan Solidaire", expected, "PE")
    audit = db_session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "organisation.created"))
    assert audit.organisation_id == organisation.id


def test_create_with_an_explicit_slug_and_the_default_country(runner, db_session):
    result = runner.invoke(args=["orgs", "create", "Ponts du Monde", "--kind", "sending", "--slug", "pdm"])
    assert result.exit_code == 0, result.output
    organisation = _org(db_session, "pdm")
    assert organisation.name == "Ponts du Monde"
    assert organisation.country == "FR"


def test_generated_slugs_stay_unique(runner, db_session, create_org):
    create_org("Terre Solidaire", slug="terre-solidaire")
    result = runner.invoke(args=["orgs", "create", "Terre solidaire", "--kind", "host"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "created terre-solidaire-2"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Acme", "--kind", "sponsor"], "Invalid value for '--kind'"),
        (["Acme"], "Missing option '--kind'"),
        (["Acme", "--kind", "host", "--country", "ZZ"], "Please choose a country from the list."),
        (["Acme", "--kind", "host", "--slug", "Not A Slug"], "lower-case letters, digits and single hyphens"),
        (["Acme", "--kind", "host", "--slug", "taken"], "already uses the slug 'taken'"),
        (["", "--kind", "host"], "Please enter the organisation's name."),
        (["<b>Acme</b>", "--kind", "host"], "NAME"),
        (["x" * 201, "--kind", "host"], "NAME"),
    ],
    ids=["bad-kind", "no-kind", "bad-country", "bad-slug", "slug-taken", "empty-name", "markup", "too-long"],
)
def test_create_refuses_bad_input(runner, db_session, create_org, args, message):
    create_org("Taken", slug="taken")
    before = _count(db_session)
    result = runner.invoke(args=["orgs", "create", *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert _count(db_session) == before


def test_list_prints_one_line_per_organisation(runner, db_session, create_org, create_user, add_member):
    ngo = create_org("Terre Solidaire", slug="terre-solidaire")
    create_org("Casa Lima", slug="casa-lima", kind=OrganisationKind.HOST_PARTNER, country="PE")
    add_member(ngo, create_user("a@example.org"), "volunteer")
    add_member(ngo, create_user("b@example.org"), "trainer")
    result = runner.invoke(args=["orgs", "list"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "casa-lima\thost\tPE\tmembers=0\tCasa Lima",
        "terre-solidaire\tsending\tFR\tmembers=2\tTerre Solidaire",
    ]
