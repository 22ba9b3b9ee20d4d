"""``flask users create`` and ``flask users list``: accounts with their organisation roles, so at the organisations
floor (it uses both ``auth`` and ``organisations``; in ``auth`` it made a cycle)."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import click
import sqlalchemy as sa
from flask.cli import AppGroup
from sqlalchemy.orm import selectinload

from app.auth import operations as ops
from app.auth.models import User
from app.auth.passwords import password_problems
from app.core.forms import text_problem
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
    "--password-file",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Generate a password and write it to this new file (mode 0600) instead of e-mailing an invitation.",
)
@click.option(
    "--password",
    envvar="ACQUIS_NEW_PASSWORD",
    help="Set this password instead of e-mailing an invitation (prefer the ACQUIS_NEW_PASSWORD variable: "
    "a command line is visible to other users and kept in shell history).",
)
@click.option("--locale", default="fr", type=click.Choice(["fr", "en", "es"]))
def create_user_command(email, roles, org_slug, display_name, password_file, password, locale):
    """Create the account EMAIL with the given roles.

    By default its owner receives an e-mail with a link to choose a password (valid INVITATION_DAYS); the address
    counts as verified once the link is used. With --password-file or --password the account is ready at once.
    A password is never printed.
    """
    if password_file is not None and password is not None:
        raise click.UsageError("use either --password-file or --password (ACQUIS_NEW_PASSWORD), not both.")
    organisation = _organisation_for(roles, org_slug)
    # The same text rule as the forms: no control, bidi or invisible formatting characters in a name.
    name_problem = text_problem(display_name, multiline=False) if display_name else None
    if name_problem:
        raise click.BadParameter(name_problem, param_hint="--name")
    if password_file is not None:
        if password_file.exists():
            raise click.BadParameter(f"{password_file} already exists; name a new file", param_hint="--password-file")
        password = secrets.token_urlsafe(15)
    invited = password is None
    if not invited:
        problems = password_problems(password, [email, display_name or ""])
        if problems:
            raise click.BadParameter(" ".join(problems), param_hint="--password")
    try:
        user = ops.create_user(
            email,
            display_name or email.split("@")[0],
            password or secrets.token_urlsafe(32),  # invited: a password nobody knows until the link sets one
            locale=locale,
            verified=not invited,
            is_platform_admin="platform_admin" in roles,
            is_adviser="adviser" in roles,
        )
    except ops.EmailTakenError:
        raise click.ClickException(f"an account already uses {email}") from None
    for role in (ORG_ROLES[r] for r in roles if r in ORG_ROLES):
        org_ops.add_member(organisation, user, role, actor=None)
    if invited:
        ops.send_account_invitation(user)
    if password_file is not None:
        _write_secret(password_file, password)  # before the commit: no account whose password was lost
    db.session.commit()
    click.echo(f"created {user.email}")
    if invited:
        click.echo(f"invitation with a set-password link e-mailed to {user.email}")
    elif password_file is not None:
        click.echo(f"password written to {password_file}")


def _organisation_for(roles, org_slug):
    """The organisation named by --org when an organisation role is asked for (else ``None``)."""
    if not any(role in ORG_ROLES for role in roles):
        return None
    if not org_slug:
        raise click.UsageError("--org is required for volunteer, trainer and org_admin.")
    organisation = org_ops.get_organisation(org_slug)
    if organisation is None:
        raise click.BadParameter(f"no organisation with slug {org_slug!r}", param_hint="--org")
    return organisation


def _write_secret(path: Path, secret: str) -> None:
    """Create ``path`` readable by its owner only (never an existing file, never through a symlink)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except OSError as exc:
        raise click.ClickException(f"cannot create {path}: {exc.strerror}") from None
    with os.fdopen(fd, "w") as handle:
        handle.write(secret + "\n")


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
