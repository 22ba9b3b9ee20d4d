"""``flask portability …``: export a person's data to a zip, erase an account (for data-protection requests)."""

from __future__ import annotations

from pathlib import Path

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from app.auth.models import User
from app.extensions import db
from app.portability.erasure import erase_user
from app.portability.export import export_zip

portability_cli = AppGroup("portability", help="Export and erase a person's data.")


def _user(email: str):
    user = db.session.scalar(sa.select(User).where(sa.func.lower(User.email) == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"no account with the address {email}")
    return user


@portability_cli.command("export")
@click.option("--user", "email", required=True, help="E-mail address of the account.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
def export_command(email: str, out: Path) -> None:
    """Write the acquis-export/1 zip of an account to OUT."""
    out.write_bytes(export_zip(_user(email)))
    click.echo(f"written {out}")


@portability_cli.command("erase")
@click.option("--user", "email", required=True, help="E-mail address of the account.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def erase_command(email: str, yes: bool) -> None:
    """Erase an account and everything that is theirs (cannot be undone)."""
    user = _user(email)
    if not yes:
        click.confirm(f"Erase {user.email} and all their data?", abort=True)
    try:
        erase_user(user)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    click.echo("erased")
