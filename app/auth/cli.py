"""``flask users create`` and ``flask users list``."""

from __future__ import annotations

import secrets

import click
import sqlalchemy as sa
from flask.cli import AppGroup
from sqlalchemy.orm import selectinload

from app.auth import operations as ops
from app.auth.models import User
from app.auth.passwords import password_problems
from app.extensions import db
from app.organisations import operations as org_ops
from app.organisations.models import Membership, MembershipRole

users_cli = AppGroup("users", help="Manage user accounts.")

ORG_ROLES = {
    "volunteer": MembershipRole.VOLUNTEER,
    "trainer": MembershipRole.TRAINER,
    "org_admin": MembershipRole.ADMIN,
}
USER_ROLES = ("platform_admin", "adviser")


@users_cli.command("create")
@click.argument("email")
@click.option(
    "--role",
    "roles",
    multiple=True,
    required=True,
    type=click.Choice([*ORG_ROLES, *USER_ROLES]),
    help="volunteer, trainer or org_admin (need --org); adviser or platform_admin. Repeatable.",
)
@click.option("--org", "org_slug", help="Organisation slug for organisation roles.")
@click.option("--name", "display_name", help="Display name (defaults to the part of the e-mail before @).")
@click.option(
    "--password",
    envvar="ACQUIS_NEW_PASSWORD",
    help="Password (or ACQUIS_NEW_PASSWORD); a random one is generated and printed when omitted.",
)
@click.option("--locale", default="fr", type=click.Choice(["fr", "en", "es"]))
def create_user_command(email, roles, org_slug, display_name, password, locale):
    """Create a verified account EMAIL with the given roles."""
    org_roles = [ORG_ROLES[r] for r in roles if r in ORG_ROLES]
    organisation = None
    if org_roles:
        if not org_slug:
            raise click.UsageError("--org is required for volunteer, trainer and org_admin.")
        organisation = org_ops.get_organisation(org_slug)
        if organisation is None:
            raise click.BadParameter(f"no organisation with slug {org_slug!r}", param_hint="--org")
    generated = password is None
    password = password or secrets.token_urlsafe(15)
    problems = password_problems(password, [email, display_name or ""])
    if problems:
        raise click.BadParameter(" ".join(problems), param_hint="--password")
    try:
        user = ops.create_user(
            email,
            display_name or email.split("@")[0],
            password,
            locale=locale,
            verified=True,
            is_platform_admin="platform_admin" in roles,
            is_adviser="adviser" in roles,
        )
    except ops.EmailTakenError:
        raise click.ClickException(f"an account already uses {email}") from None
    for role in org_roles:
        org_ops.add_member(organisation, user, role, actor=None)
    db.session.commit()
    click.echo(f"created {user.email}")
    if generated:
        click.echo(f"password: {password}")


@users_cli.command("list")
def list_users_command():
    """One line per user: e-mail, roles, organisations."""
    users = db.session.scalars(
        sa.select(User)
        .order_by(User.email)
        .options(selectinload(User.memberships).selectinload(Membership.organisation))
    )
    for user in users:
        roles = [name for name, on in (("platform_admin", user.is_platform_admin), ("adviser", user.is_adviser)) if on]
        orgs = [f"{m.organisation.slug}:{m.role.value}{'' if m.is_active else '(pending)'}" for m in user.memberships]
        roles.extend(sorted({m.role.value for m in user.memberships if m.is_active}))
        flags = " disabled" if user.disabled_at else ""
        click.echo(f"{user.email}\troles={','.join(roles) or '-'}\torgs={','.join(orgs) or '-'}{flags}")
