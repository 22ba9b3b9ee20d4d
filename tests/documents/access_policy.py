"""Access policy of the ``documents`` blueprint.

Printing is for signed-in users (each prints their own documents; forms posted empty here, so nothing renders).
A document page and its download are for the holder, the trainers/admins of the NGO that issued it and an adviser
the holder shared documents with (404 for everyone else); a job page and its JSON status for whoever requested
it. Opinions are
written by trainers and admins of the NGO that validated the volunteer's entries; the volunteer may print an
opinion about them. Verification is public.
"""

from tests.access import ORG_ADMIN, PUBLIC, USER, expect, rule

HOLDER_AND_NGO = expect(404, guest="login", volunteer="ok", trainer="ok", org_admin="ok")
#: ... and an adviser with whom the holder shared their documents (never to print in the NGO's name).
HOLDER_NGO_AND_SHARED = {**HOLDER_AND_NGO, "shared_adviser": "ok"}
REQUESTER = expect(404, guest="login", volunteer="ok")
NGO_REVIEWERS = expect(404, guest="login", trainer="ok", org_admin="ok", other_trainer="ok")
NGO_OF_VOLUNTEER = expect(404, guest="login", trainer="ok", org_admin="ok")
OPINION_PRINTERS = expect(404, guest="login", volunteer="ok", trainer="ok", org_admin="ok")


def build(world):
    """A validated claim of world.volunteer at world.ngo (validation policy), an issued document (row and a
    stand-in file, no render), a job and an opinion."""
    from app.documents import operations as ops
    from app.documents.models import DocumentKind, JobState, RenderJob
    from app.extensions import db
    from tests.cast import store_document_stand_in

    if not hasattr(world, "validation"):
        from tests.validation.access_policy import build as build_validation

        build_validation(world)
    volunteer = world.users["volunteer"]
    world.document = store_document_stand_in(
        volunteer, world.ngo, kind=DocumentKind.ATTESTATION, contents=b"%PDF-1.7 access-matrix stand-in"
    )
    world.job = RenderJob(
        requested_by_id=volunteer.id,
        holder_id=volunteer.id,
        kind=DocumentKind.PORTFOLIO,
        language="en",
        state=JobState.FAILED,
        error="timeout",
        payload={},
        cache_key="1" * 64,
    )
    db.session.add(world.job)
    db.session.flush()
    world.opinion = ops.save_opinion(
        world.users["org_admin"], world.ngo, volunteer, ops.OpinionData(opinion="Favourable.")
    )


POLICY = {
    "documents.index": rule(USER),
    "documents.print": rule(USER, methods=("POST",), notes="empty form: 422 redisplay, nothing rendered"),
    "documents.job": rule(REQUESTER, url=lambda w: {"job_id": w.job.id}),
    "documents.retry_job": rule(
        REQUESTER, url=lambda w: {"job_id": w.job.id}, methods=("POST",), notes="no snapshot: nothing rendered"
    ),
    "documents.job_status": rule(REQUESTER, url=lambda w: {"job_id": w.job.id}),
    "documents.document": rule(HOLDER_NGO_AND_SHARED, url=lambda w: {"document_id": w.document.id}),
    "documents.download": rule(HOLDER_NGO_AND_SHARED, url=lambda w: {"document_id": w.document.id}),
    "documents.opinions": rule(NGO_REVIEWERS),
    "documents.opinion_edit": rule(
        NGO_OF_VOLUNTEER,
        url=lambda w: {"organisation_id": w.ngo.id, "volunteer_id": w.users["volunteer"].id},
        methods=("GET", "POST"),
    ),
    "documents.opinion_print": rule(
        OPINION_PRINTERS,
        url=lambda w: {"opinion_id": w.opinion.id},
        methods=("POST",),
        notes="no language: nothing rendered",
    ),
    "documents.print_for": rule(
        NGO_OF_VOLUNTEER,
        url=lambda w: {"organisation_id": w.ngo.id, "volunteer_id": w.users["volunteer"].id},
        methods=("POST",),
        notes="no language: nothing rendered",
    ),
    "documents.signing": rule(
        ORG_ADMIN,
        url=lambda w: {"organisation_id": w.ngo.id},
        methods=("GET", "POST"),
        notes="empty upload: 422 redisplay, nothing stored",
    ),
    "documents.signing_reset": rule(
        ORG_ADMIN,
        url=lambda w: {"organisation_id": w.ngo.id},
        methods=("POST",),
        notes="issues a certificate from the instance root CA, redirect",
    ),
    "documents.verify_home": rule(PUBLIC, methods=("GET", "POST")),
    "documents.trust_root": rule(PUBLIC),
    "documents.verify": rule(PUBLIC, url=lambda w: {"code": codes_of(w)}),
}


def codes_of(world) -> str:
    from app.documents import codes

    return codes.formatted(world.document.code)
