"""``flask orgs create`` and ``flask orgs list``: organisations without the web admin (which needs two-factor set-up).

The name, country and description go through :class:`OrganisationForm`, the validators of the admin page, so the
command line accepts nothing the page would refuse. Messages are in English, the operators' language.
"""

from __future__ import annotations

import re

import click
import sqlalchemy as sa
from flask.cli import AppGroup
from werkzeug.datastructures import MultiDict

from app.core.i18n import force_locale
from app.extensions import db
from app.organisations import operations as ops
from app.organisations.forms import OrganisationForm
from app.organisations.models import Membership, MembershipState, Organisation, OrganisationKind

orgs_cli = AppGroup("orgs", help="Create and list organisations.")

KINDS = {
    "sending": OrganisationKind.SENDING_NGO,
    "host": OrganisationKind.HOST_PARTNER,
    "guidance": OrganisationKind.GUIDANCE_SERVICE,
}
SLUG_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
SLUG_MAX_LENGTH = 60


def _validated_data(name: str, kind: OrganisationKind, country: str, description: str) -> ops.OrganisationData:
    """The admin page's validation of these values; raises :class:`click.BadParameter` naming the option."""
    formdata = MultiDict({"name": name, "kind": kind.value, "country": country.upper(), "description": description})
    with force_locale("en"):
        form = OrganisationForm(formdata=formdata, meta={"csrf": False})
        if not form.validate():
            field, errors = next(iter(form.errors.items()))
            hint = "NAME" if field == "name" else f"--{field}"
            raise click.BadParameter(" ".join(str(error) for error in errors), param_hint=hint)
    return ops.OrganisationData(
        name=form.name.data, kind=kind, country=form.country.data, description=form.description.data or ""
    )


def _check_slug(slug: str) -> None:
    if len(slug) > SLUG_MAX_LENGTH or not SLUG_PATTERN.fullmatch(slug):
        raise click.BadParameter(
            f"use lower-case letters, digits and single hyphens, at most {SLUG_MAX_LENGTH} characters",
            param_hint="--slug",
        )
    if ops.get_organisation(slug) is not None:
        raise click.BadParameter(f"an organisation already uses the slug {slug!r}", param_hint="--slug")


@orgs_cli.command("create")
@click.argument("name")
@click.option("--kind", required=True, type=click.Choice(list(KINDS)), help="Sending NGO, host partner or guidance.")
@click.option("--slug", help="Identifier in addresses (default: made from the name, made unique).")
@click.option("--country", default="FR", show_default=True, help="ISO 3166 two-letter country code.")
@click.option("--description", default="", help="Shown in the directory.")
def create_org_command(name, kind, slug, country, description):
    """Create the organisation NAME and print its slug (for ``flask users create --org``)."""
    data = _validated_data(name, KINDS[kind], country, description)
    if slug is not None:
        _check_slug(slug)
    organisation = ops.create_organisation(data, actor=None, slug=slug)
    db.session.commit()
    click.echo(f"created {organisation.slug}")


@orgs_cli.command("list")
def list_orgs_command():
    """One line per organisation: slug, kind, country, active members, name."""
    members = (
        sa.select(sa.func.count(Membership.id))
        .where(Membership.organisation_id == Organisation.id, Membership.state == MembershipState.ACTIVE)
        .scalar_subquery()
    )
    rows = db.session.execute(sa.select(Organisation, members).order_by(Organisation.slug))
    short_kind = {value: key for key, value in KINDS.items()}
    for organisation, count in rows:
        click.echo(
            f"{organisation.slug}\t{short_kind[organisation.kind]}\t{organisation.country}\t"
            f"members={count}\t{organisation.name}"
        )
