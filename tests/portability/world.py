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
    from app.claims import operations as claim_ops
    from app.experiences import operations as experience_ops
    from app.experiences.models import ExperienceKind
    from app.frameworks.models import Crosswalk, CrosswalkLink, Relation
    from app.validation import operations as validation_ops
    from app.validation.models import ItemDecision
    from tests.validation.conftest import make_framework
    from tests.validation.helpers import store_evidence

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
        w.version, w.nodes = make_framework(db_session, slug="share-fw")
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
    w.mission = experience_ops.create_experience(
        w.volunteer,
        experience_ops.ExperienceData(
            kind=ExperienceKind.MISSION,
            title="Water project coordinator",
            start_date=date(2024, 1, 1),
            end_date=date(2024, 12, 31),
            status_code="VSI",
            host_name="Agua Viva",
            host_country="PE",
            activities="Coordinated the building of wells.",
            sending_organisation_id=w.ngo.id,
        ),
    )
    w.training = experience_ops.create_experience(
        w.volunteer,
        experience_ops.ExperienceData(
            kind=ExperienceKind.TRAINING, title="Pre-departure week", start_date=date(2023, 11, 1), provider="CCFD"
        ),
    )
    w.pdf_bytes = blank_pdf()
    w.pdf = store_evidence(w.volunteer, w.pdf_bytes, title="Final report")
    w.claims = [
        claim_ops.create_claim(
            w.volunteer,
            w.mission,
            claim_ops.ClaimData(
                node_id=node.id,
                level_rank=2,
                situation=f"Situation {node.code}",
                task="Task",
                actions=f"I organised the {node.code} work with the village committee.",
                result="Result",
                reflection="Reflection",
                transfer="Transfer",
                evidence_ids=evidence,
            ),
        )
        for node, evidence in zip(w.nodes[:2], [(w.pdf.id,), ()], strict=True)
    ]
    db_session.flush()
    w.validation = None
    if validate:
        submission = validation_ops.submit_experience(w.volunteer, w.mission, w.ngo, [w.claims[0].id])
        item = submission.current_items[0]
        validation_ops.decide_item(item, w.trainer, validation_ops.Decision(ItemDecision.VALIDATED, level=2))
        db_session.flush()
        w.validation = validation_ops.validations_for_claims([w.claims[0].id])[w.claims[0].id][0]
    return w


def issue_stand_in_document(db_session, world):
    """A document row issued to the volunteer with a stand-in PDF file (no rendering)."""
    import secrets

    from app.documents import codes
    from app.documents import operations as ops
    from app.documents.models import Document, DocumentKind

    volunteer = world.volunteer
    document = Document(
        code=codes.new_code(),
        kind=DocumentKind.PORTFOLIO,
        language="en",
        template_version="test",
        holder_id=volunteer.id,
        holder_name=volunteer.display_name,
        issuer_organisation_id=world.ngo.id,
        issuer_name=world.ngo.name,
        snapshot={"entries": []},
        snapshot_hash="0" * 64,
        cache_key="0" * 64,
        sha256=secrets.token_hex(32),
        size=10,
        storage_key=secrets.token_hex(16),
    )
    db_session.add(document)
    db_session.flush()
    path = ops.document_path(document)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"%PDF-1.7 dossier stand-in")
    world.document = document
    world.document_path = path
    return document
