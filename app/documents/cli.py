"""``flask dossier render`` (print a document to a file) and ``flask documents worker`` (RQ render worker)."""

from __future__ import annotations

import shutil
import sys

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup

from app.auth.operations import get_user_by_email
from app.documents import codes
from app.documents import operations as ops
from app.documents.context import ContextError, attestation_issuer, vae_frameworks
from app.documents.models import Document, DocumentKind, JobState, Opinion
from app.experiences import operations as experience_ops
from app.experiences.models import ExperienceKind
from app.extensions import db
from app.organisations.operations import get_organisation
from app.printing.dispatch import render_queue
from app.printing.sandbox import RenderFailed, RenderLimits, warm_up
from app.printing.signing import trust_root_fingerprints, trust_roots

dossier_cli = AppGroup("dossier", help="Print signed documents.")
documents_cli = AppGroup("documents", help="Document rendering.")


@dossier_cli.command("render")
@click.option("--user", "email", required=True, help="E-mail address of the holder.")
@click.option("--kind", type=click.Choice(["portfolio", "attestation", "vae", "opinion"]), required=True)
@click.option("--lang", "language", type=click.Choice(["fr", "en", "es"]), default="fr", show_default=True)
@click.option("--out", "output", required=True, type=click.Path(dir_okay=False, writable=True))
@click.option("--experience", "experience_ids", type=int, multiple=True, help="Experience id (repeatable).")
@click.option("--framework", "framework_slug", default="", help="Target RNCP framework (vae).")
@click.option("--org", "org_slug", default="", help="NGO slug (opinion; or limit a portfolio to its validations).")
def render_command(email, kind, language, output, experience_ids, framework_slug, org_slug):
    """Print a document of USER in a language and write the signed PDF to OUT."""
    holder = get_user_by_email(email)
    if holder is None:
        raise click.ClickException(f"no user {email}")
    organisation = get_organisation(org_slug) if org_slug else None
    if org_slug and organisation is None:
        raise click.ClickException(f"no organisation {org_slug}")
    opinion = None
    if kind == "attestation" and not experience_ids:
        missions = [
            e
            for e in experience_ops.experiences_of(holder)
            if e.kind == ExperienceKind.MISSION and attestation_issuer(e) is not None
        ]
        if not missions:
            raise click.ClickException("no mission whose facts an NGO confirmed")
        experience_ids = (missions[0].id,)
    if kind == "vae" and not framework_slug:
        frameworks = vae_frameworks()
        if not frameworks:
            raise click.ClickException("no RNCP framework imported")
        framework_slug = frameworks[0].slug
    if kind == "opinion":
        query = sa.select(Opinion).where(Opinion.volunteer_id == holder.id)
        if organisation is not None:
            query = query.where(Opinion.organisation_id == organisation.id)
        opinion = db.session.scalar(query.order_by(Opinion.updated_at.desc()).limit(1))
        if opinion is None:
            raise click.ClickException("no association's opinion about this user")
    request = ops.PrintRequest(
        DocumentKind(kind),
        language,
        holder,
        tuple(experience_ids),
        framework_slug=framework_slug,
        opinion=opinion,
        organisation=organisation if kind == "portfolio" else None,
    )
    try:
        result = ops.request_document(holder, request)
    except ContextError as error:
        raise click.ClickException(str(ops.CONTEXT_ERRORS.get(error.code, error.code))) from None
    if isinstance(result, Document):
        document = result
        click.echo("unchanged since last print: reusing the issued document", err=True)
    else:
        try:
            job = ops.execute(result.id, commit=False)
        except RenderFailed as failure:  # pragma: no cover - execute records failures
            raise click.ClickException(str(failure)) from None
        if job is None or job.state != JobState.DONE:
            db.session.commit()
            raise click.ClickException(f"render failed: {job.error if job else 'not started'}")
        document = job.document
    db.session.commit()
    shutil.copyfile(ops.document_path(document), output)
    click.echo(
        f"{output}: {document.kind.value} ({document.language}), {document.pages} pages, "
        f"code {codes.formatted(document.code)}, sha256 {document.sha256}"
    )


@documents_cli.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty.")
def worker_command(burst):
    """Run an RQ worker rendering documents (needs REDIS_URL).

    The worker takes its jobs in this process (:class:`rq.SimpleWorker`, no work horse forked per job): each render
    already runs in a child of its own, forked from the warm render pool started here once, so a job pays neither
    an interpreter start nor the loading of the renderer's libraries.
    """
    url = current_app.config.get("REDIS_URL")
    if not url:
        click.echo("REDIS_URL is not set: documents render in the web processes' pool.", err=True)
        sys.exit(1)
    import rq  # optional dependency: only with REDIS_URL

    if RenderLimits.from_config(current_app.config).warm:
        warm_up()
    queue = render_queue(current_app)
    rq.SimpleWorker([queue], connection=queue.connection).work(burst=burst)


signing_cli = AppGroup("signing", help="Document signing: the instance's trust roots.")


@signing_cli.command("trust-root")
@click.option("--out", "output", required=True, type=click.Path(dir_okay=False, writable=True))
def trust_root_command(output):
    """Write the instance's root certificate(s) in PEM to OUT (creates the root CA on first use)."""
    with open(output, "wb") as handle:
        handle.write(b"".join(trust_roots(current_app.config)))
    for subject, fingerprint in trust_root_fingerprints(current_app.config):
        click.echo(f"{subject}  SHA-256 {fingerprint}")
