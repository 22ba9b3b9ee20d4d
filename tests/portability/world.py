"""A volunteer's portfolio with a validated claim, shared by the sharing and portability tests."""

from __future__ import annotations

import types
from datetime import date


def blank_pdf() -> bytes:
    """A real one-page PDF (imports inspect files like uploads)."""
    import io

    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=200, height=200)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def build_portfolio(db_session, create_user, create_org, add_member, *, validate=True, framework=None):
    """An NGO (trainer, admin), a volunteer with a mission, two claims (one with a PDF), an ESCO crosswalk link on
    the first competence, and — when ``validate`` — the first claim validated by the trainer.

    ``framework`` is an optional ``(version, nodes)`` to use instead of the stand-in "share-fw" (and its crosswalk)."""
    from app.experiences import operations as experience_ops
    from app.experiences.models import ExperienceKind
    from app.frameworks.models import Crosswalk, CrosswalkLink, Relation
    from app.validation import operations as validation_ops
    from tests import cast

    w = types.SimpleNamespace()
    w.ngo = create_org("Solidarité Monde")
    w.volunteer = create_user("vol@example.org", name="Valentine Volunteer", locale="en")
    w.trainer = create_user("trainer@example.org", name="Théo Trainer", locale="fr")
    w.admin = create_user("admin@example.org", name="Ada Admin", locale="fr")
    w.adviser = create_user("adviser@example.org", name="Adèle Adviser", adviser=True, locale="en")
    w.stranger = create_user("stranger@example.org", name="Stan Stranger", locale="en")
    add_member(w.ngo, w.volunteer, "volunteer")
    add_member(w.ngo, w.trainer, "trainer")
    add_member(w.ngo, w.admin, "admin")
    w.esco_uri = "http://data.europa.eu/esco/skill/0a1b2c3d-0000-4000-8000-000000000001"
    if framework is not None:
        w.version, w.nodes = framework
    else:
        w.version, w.nodes = cast.make_framework(db_session, slug="share-fw")
        w.nodes[0].uri = None
        crosswalk = Crosswalk(
            slug="share-fw--esco", source_version_id=w.version.id, target_scheme="esco", content_hash="2" * 64
        )
        db_session.add(crosswalk)
        db_session.flush()
        db_session.add(
            CrosswalkLink(
                crosswalk_id=crosswalk.id, source_node_id=w.nodes[0].id, target_uri=w.esco_uri, relation=Relation.CLOSE
            )
        )
    w.mission = cast.create_mission(
        w.volunteer, activities="Coordinated the building of wells.", sending_organisation_id=w.ngo.id
    )
    w.training = experience_ops.create_experience(
        w.volunteer,
        experience_ops.ExperienceData(
            kind=ExperienceKind.TRAINING, title="Pre-departure week", start_date=date(2023, 11, 1), provider="CCFD"
        ),
    )
    w.pdf_bytes = blank_pdf()
    w.pdf = cast.store_evidence(w.volunteer, w.pdf_bytes, title="Final report")
    w.claims = cast.create_claims(
        w.volunteer,
        w.mission,
        w.nodes[:2],
        evidence=[w.pdf],
        task="Task",
        result="Result",
        reflection="Reflection",
        transfer="Transfer",
    )
    db_session.flush()
    w.validation = None
    if validate:
        submission = cast.submit_claims(w.volunteer, w.mission, w.ngo, w.claims[:1])
        cast.validate_everything(submission, w.trainer, confirm_facts=False, level=2)
        db_session.flush()
        w.validation = validation_ops.validations_for_claims([w.claims[0].id])[w.claims[0].id][0]
    return w


def issue_stand_in_document(db_session, world):
    """A document row issued to the volunteer with a stand-in PDF file (no rendering)."""
    from app.documents import operations as ops
    from tests.cast import store_document_stand_in

    world.document = store_document_stand_in(world.volunteer, world.ngo)
    world.document_path = ops.document_path(world.document)
    return world.document
