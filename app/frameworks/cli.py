"""``flask frameworks import|import-esco|import-rncp|list|suggest``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from app.config import resource_path
from app.extensions import db
from app.frameworks import operations as ops
from app.frameworks.importers import FrameworkImportError
from app.frameworks.importers.esco_csv import esco_directory, parse_esco, version_from_name
from app.frameworks.importers.rncp_csv import parse_rncp
from app.frameworks.importers.yaml_format import parse_files
from app.frameworks.models import Framework
from app.frameworks.suggest import suggest

frameworks_cli = AppGroup("frameworks", help="Import, list and suggest competency frameworks.")


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


def _version_for(slug: str, version: str | None):
    framework = db.session.scalar(sa.select(Framework).where(Framework.slug == slug))
    if framework is None:
        raise click.UsageError(f"no framework {slug!r} (see `flask frameworks list`)")
    chosen = (
        framework.current_version
        if version is None
        else next((v for v in framework.versions if v.version == version), None)
    )
    if chosen is None:
        raise click.UsageError(f"framework {slug!r} has no version {version!r}")
    return chosen


def _as_json(result) -> dict:
    return {
        "language": result.language,
        "status": result.status,
        "truncated": result.truncated,
        "suggestions": [
            {
                "code": s.code,
                "title": s.title,
                "score": s.score,
                "matched": list(s.matched),
                "words": list(s.words),
                "level": s.level,
                "learnt": s.learnt,
            }
            for s in result.suggestions
        ],
    }


@frameworks_cli.command("suggest")
@click.option("--framework", "slug", required=True, help="Framework id (slug), e.g. solidarite-internationale.")
@click.option("--version", "version", help="Framework version (default: the current one).")
@click.option("--lang", "language", required=True, type=click.Choice(["fr", "en", "es"]), help="Language of the text.")
@click.option("--top", "top_n", default=5, show_default=True, type=click.IntRange(1, 50))
@click.option("--each-line", is_flag=True, help="Each input line is one text; one output line of codes per text.")
@click.option("--json", "as_json", is_flag=True, help="Print scores and explanations as JSON.")
def suggest_command(slug, version, language, top_n, each_line, as_json):
    """Suggest competences for the text on standard input: one code per line, best first."""
    chosen = _version_for(slug, version)
    raw = sys.stdin.buffer.read().decode("utf-8", errors="replace")
    texts = raw.splitlines() if each_line else [raw]
    results = [suggest(text, chosen, language, top_n) for text in texts]
    if as_json:
        payload = [_as_json(r) for r in results] if each_line else _as_json(results[0])
        click.echo(json.dumps(payload, ensure_ascii=False, indent=None if each_line else 2))
    elif each_line:
        for result in results:
            click.echo(" ".join(s.code for s in result.suggestions))
    else:
        for item in results[0].suggestions:
            click.echo(item.code)
