"""``flask backup create DIR`` · ``flask backup verify DIR`` · ``flask backup restore DIR`` (see app.core.backup)."""

from __future__ import annotations

from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup

from app.core import backup
from app.extensions import db

backup_cli = AppGroup("backup", help="Back up and restore the database, stored files and keys.")


def _refused(error: backup.BackupError, verb: str) -> click.ClickException:
    lines = "\n".join(f"  - {problem}" for problem in error.problems[: backup.MAX_PROBLEMS])
    more = len(error.problems) - backup.MAX_PROBLEMS
    if more > 0:
        lines += f"\n  … and {more} more"
    return click.ClickException(f"{verb} refused:\n{lines}")


def _summary(manifest: dict) -> str:
    database = manifest["database"]
    files = [e for e in manifest["files"] if e["path"] != database["file"]]
    size = sum(e["size"] for e in files)
    revisions = ", ".join(database.get("revisions") or ["none"])
    return (
        f"{database['dialect']} database (revision {revisions}), {len(files)} files ({size:,} bytes), "
        f"secret key: {manifest['secret_key']}"
    )


@backup_cli.command("create")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def create_command(directory: Path):
    """Back up the instance into DIRECTORY (new or empty; readable by its owner only)."""
    try:
        manifest = backup.create_backup(current_app.config, db.engine, directory)
    except backup.BackupError as error:
        raise _refused(error, "Backup") from None
    except sa.exc.OperationalError as error:
        raise _refused(backup.BackupError([f"cannot read the database: {error.orig}"]), "Backup") from None
    click.echo(f"Backed up {_summary(manifest)} to {directory}")
    if manifest["secret_key"] == "environment":  # noqa: S105 - where the key comes from, not a key
        click.echo("SECRET_KEY comes from the environment: keep it with the backup, it is not in it.")


@backup_cli.command("verify")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
def verify_command(directory: Path):
    """Check the backup in DIRECTORY against its manifest (every file present and unchanged)."""
    try:
        manifest = backup.verify_backup(directory)
    except backup.BackupError as error:
        raise _refused(error, "Verification") from None
    click.echo(f"Backup of {manifest['created_at']} is complete: {_summary(manifest)}")


@backup_cli.command("restore")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
def restore_command(directory: Path):
    """Restore the backup in DIRECTORY into this empty instance (DATABASE_URL, STORAGE_DIR, instance dir)."""
    try:
        manifest = backup.restore_backup(current_app.config, db.engine, directory)
    except backup.BackupError as error:
        raise _refused(error, "Restore") from None
    except sa.exc.OperationalError as error:
        message = f"cannot reach the database (create it empty first): {error.orig}"
        raise _refused(backup.BackupError([message]), "Restore") from None
    click.echo(f"Restored {_summary(manifest)} from {directory}")
    click.echo("Run `flask db upgrade` if this version of Acquis is newer than the backup's.")
