"""``flask demo seed``: organisations and users of every role, idempotent."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.auth import operations as auth_ops
from app.extensions import db
from app.organisations import operations as org_ops
from app.organisations.models import MembershipRole, OrganisationKind

demo_cli = AppGroup("demo", help="Demonstration data.")

#: Shared by every demo account; printed by ``make run`` and the README. Never use in production.
DEMO_PASSWORD = "solidarite-demo-2026"

DEMO_ORGANISATIONS = [
    (
        "terre-solidaire",
        "Terre Solidaire Volontariat",
        OrganisationKind.SENDING_NGO,
        "FR",
        "Association agréée VSI : missions de 12 à 24 mois en Afrique de l'Ouest et en Amérique latine.",
    ),
    (
        "ponts-du-monde",
        "Ponts du Monde",
        OrganisationKind.SENDING_NGO,
        "FR",
        "Service civique à l'international et Corps européen de solidarité.",
    ),
    (
        "asociacion-manos-unidas-lima",
        "Asociación Manos Unidas Lima",
        OrganisationKind.HOST_PARTNER,
        "PE",
        "Partenaire local : éducation et santé communautaire à Lima.",
    ),
    (
        "mission-locale-lyon",
        "Mission locale de Lyon",
        OrganisationKind.GUIDANCE_SERVICE,
        "FR",
        "Conseil en évolution professionnelle et accompagnement VAE.",
    ),
]

# (email, name, locale, user roles, [(org slug, role)])
DEMO_USERS = [
    ("admin@demo.acquis.example", "Agnès Admin", "fr", {"platform_admin"}, []),
    (
        "benevole@demo.acquis.example",
        "Camille Martin",
        "fr",
        set(),
        [("terre-solidaire", MembershipRole.VOLUNTEER), ("ponts-du-monde", MembershipRole.VOLUNTEER)],
    ),
    ("volunteer2@demo.acquis.example", "Sam Okafor", "en", set(), [("ponts-du-monde", MembershipRole.VOLUNTEER)]),
    ("formatrice@demo.acquis.example", "Fatou Diallo", "fr", set(), [("terre-solidaire", MembershipRole.TRAINER)]),
    ("trainer2@demo.acquis.example", "Lucía Gómez", "es", set(), [("ponts-du-monde", MembershipRole.TRAINER)]),
    ("admin-ong@demo.acquis.example", "Hugo Bernard", "fr", set(), [("terre-solidaire", MembershipRole.ADMIN)]),
    (
        "referent@demo.acquis.example",
        "Rosa Quispe",
        "es",
        set(),
        [("asociacion-manos-unidas-lima", MembershipRole.ADMIN)],
    ),
    (
        "conseillere@demo.acquis.example",
        "Nadia Benali",
        "fr",
        {"adviser"},
        [("mission-locale-lyon", MembershipRole.ADMIN)],
    ),
]


def seed_demo() -> list[tuple[str, str]]:
    """Create what is missing of the demo data; returns (e-mail, description) of the demo accounts."""
    organisations = {}
    for slug, name, kind, country, description in DEMO_ORGANISATIONS:
        organisation = org_ops.get_organisation(slug) or org_ops.create_organisation(
            org_ops.OrganisationData(name=name, kind=kind, country=country, description=description),
            actor=None,
            slug=slug,
        )
        organisations[slug] = organisation
    accounts = []
    for email, name, locale, user_roles, memberships in DEMO_USERS:
        user = auth_ops.get_user_by_email(email) or auth_ops.create_user(
            email,
            name,
            DEMO_PASSWORD,
            locale=locale,
            verified=True,
            is_platform_admin="platform_admin" in user_roles,
            is_adviser="adviser" in user_roles,
        )
        for slug, role in memberships:
            organisation = organisations[slug]
            if organisation.membership_of(user) is None:
                org_ops.add_member(organisation, user, role, actor=None)
        roles = sorted(user_roles) + [f"{role.value}@{slug}" for slug, role in memberships]
        accounts.append((email, ", ".join(roles)))
    return accounts


@demo_cli.command("seed")
def seed_command():
    """Create the demo organisations and accounts (safe to run again)."""
    accounts = seed_demo()
    db.session.commit()
    click.echo(f"Demo accounts (password for all: {DEMO_PASSWORD}):")
    for email, roles in accounts:
        click.echo(f"  {email:<32} {roles}")
    click.echo("The platform admin is asked to set up two-factor authentication at first sign-in.")
