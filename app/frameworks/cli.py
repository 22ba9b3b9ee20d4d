"""``flask frameworks import|import-esco|import-rncp|list``."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from app.config import resource_path
from app.extensions import db
from app.frameworks import operations as ops
from app.frameworks.importers import FrameworkImportError
from app.frameworks.importers.esco_csv import esco_directory, parse_esco, version_from_name
from app.frameworks.importers.rncp_csv import parse_rncp
from app.frameworks.importers.yaml_format import parse_files

frameworks_cli = AppGroup("frameworks", help="Import and list competency frameworks.")


def _run(build):
    """Parse and import, commit once; on bad input print every problem and exit with status 1 (nothing saved)."""
    try:
        results = build()
    except FrameworkImportError as exc:
        db.session.rollback()
        click.echo("Import failed, nothing was imported:", err=True)
        for problem in exc.problems:
            click.echo(f"  {problem.english()}", err=True)
        sys.exit(1)
    db.session.commit()
    for result in results:
        if result.is_crosswalk:
            click.echo(f"{result.status:9} crosswalk {result.label} ({result.links} links)")
        else:
            note = "" if result.current else ", stored as an earlier version: not current"
            click.echo(f"{result.status:9} {result.label} ({result.nodes} nodes, {result.retired} retired{note})")


make_current_option = click.option(
    "--make-current",
    is_flag=True,
    help="Make the imported versions current even when their version string is not newer than the current one's.",
)


@frameworks_cli.command("import")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@make_current_option
def import_command(paths, make_current):
    """Import framework and crosswalk YAML files (directories: every *.yaml inside, frameworks first).

    Without PATHS, the frameworks shipped with Acquis (``competencies/``, inside the package once installed).
    """
    paths = paths or (resource_path("competencies"),)

    def build():
        frameworks, crosswalks = parse_files(paths)
        return ops.import_batch(frameworks, crosswalks, make_current=make_current)

    _run(build)


@frameworks_cli.command("import-esco")
@click.argument("source", type=click.Path(exists=True, path_type=Path))
@click.option("--version", "version", help="ESCO version (default: from the file name, else 1.2.0).")
@click.option("--languages", help="Comma-separated languages, e.g. fr,en (default: every skills_<lang>.csv).")
@make_current_option
def import_esco_command(source, version, languages, make_current):
    """Import the official ESCO CSV package from a directory or a zip file."""
    langs = [lang.strip() for lang in languages.split(",") if lang.strip()] if languages else None

    def build():
        with esco_directory(source) as directory:
            parsed = parse_esco(directory, version=version or version_from_name(source.name), languages=langs)
        return ops.import_batch([parsed], make_current=make_current)

    _run(build)


@frameworks_cli.command("import-rncp")
@click.option("--standard", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--blocs", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--fiche", required=True, help="RNCP number, e.g. RNCP35658.")
@make_current_option
def import_rncp_command(standard, blocs, fiche, make_current):
    """Import one RNCP certification (France Compétences open data: Standard and Blocs tables)."""
    _run(lambda: ops.import_batch([parse_rncp(standard, blocs, fiche)], make_current=make_current))


@frameworks_cli.command("list")
def list_command():
    """One line per framework version: slug, version, kind, node count, retired count."""
    retired = ops.retired_counts()
    frameworks = ops.list_frameworks()
    if not frameworks:
        click.echo("No framework imported yet.")
    for framework in frameworks:
        for version in framework.versions:
            current = "current" if version.is_current else ""
            click.echo(
                f"{framework.slug}\t{version.version}\t{framework.kind.value}\t{version.node_count} nodes\t"
                f"{retired.get(version.id, 0)} retired\t{current}".rstrip()
            )
