"""``flask survey release``: publish the pending survey answers in batches (run by cron or a worker loop)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.core.dbfiles import forget_log
from app.extensions import db
from app.survey.release import release_pending

survey_cli = AppGroup("survey", help="Impact survey maintenance.")


@survey_cli.command("release")
def release_command() -> None:
    """Move ready batches of pending answers into the reports and publish new noisy counts.

    Then truncates the SQLite write-ahead log, so no copy of it links answers to the order they came in.
    """
    summary = release_pending()
    db.session.commit()
    forget_log()
    click.echo(f"released {summary.answers} answers in {summary.batches} batches")
    for held in summary.held:
        click.echo(f"held back (privacy budget spent): {held}")
