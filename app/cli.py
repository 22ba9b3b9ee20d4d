"""The ``acquis`` console script: ``flask`` bound to this package.

An installed deployment has no ``wsgi.py`` or ``.flaskenv`` in its working directory, so ``acquis db upgrade``,
``acquis check`` … find the application by themselves (``flask --app app …`` is the same thing). Settings come from
the environment only (the systemd units and the container read ``deploy/acquis.env``); no ``.env`` file is read.
"""

from __future__ import annotations

import click
from flask.cli import FlaskGroup

from app import create_app
from app.config import ConfigError


def main() -> None:
    """Run the Flask command line for Acquis; a refused configuration is one line on stderr and status 1."""
    group = FlaskGroup(create_app=create_app, load_dotenv=False, help="Acquis operator commands (flask for Acquis).")
    try:
        group(prog_name="acquis")
    except ConfigError as exc:
        click.echo(f"configuration error: {exc}", err=True)
        raise SystemExit(1) from None
