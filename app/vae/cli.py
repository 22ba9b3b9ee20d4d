"""``flask vae remind``: e-mail the VAE deadlines coming up (run daily by cron)."""

from __future__ import annotations

from datetime import date

import click
from flask.cli import AppGroup

from app.extensions import db
from app.vae.operations import send_reminders

vae_cli = AppGroup("vae", help="VAE path maintenance.")


@vae_cli.command("remind")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="Run as if on this day.")
def remind_command(today) -> None:
    """Send each reminder due (30 and 7 days before a deadline), once."""
    sent = send_reminders(today.date() if today else date.today())
    db.session.commit()
    click.echo(f"sent {sent} reminders")
