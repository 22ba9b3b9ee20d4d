"""A small world for the validation tests: an NGO with two trainers and an admin, a volunteer with a mission and
three claims (one with an image, one with a PDF), and a framework with a three-level scale."""

from __future__ import annotations

import types
from datetime import date

import pytest

from tests.validation.helpers import tiny_png

PNG = tiny_png()


def make_framework(db_session, slug="val-fw"):
    from app.frameworks.models import Framework, FrameworkKind, FrameworkNode, FrameworkVersion, NodeKind

    framework = Framework(slug=slug, kind=FrameworkKind.OWN)
    version = FrameworkVersion(
        framework=framework,
        version="2026",
        title={"fr": "Référentiel", "en": "Framework", "es": "Marco"},
        content_hash="1" * 64,
        levels=[
            {"rank": 1, "label": {"fr": "Découverte", "en": "Discovery"}},
            {"rank": 2, "label": {"fr": "Pratique", "en": "Practice"}},
            {"rank": 3, "label": {"fr": "Maîtrise", "en": "Mastery"}},
        ],
    )
    db_session.add_all([framework, version])
    db_session.flush()
    nodes = []
    for index, code in enumerate(("C1", "C2", "C3"), start=1):
        node = FrameworkNode(
            version_id=version.id,
            code=code,
            kind=NodeKind.COMPETENCE,
            position=index,
            title={"fr": f"Compétence {code}", "en": f"Competence {code}"},
        )
        db_session.add(node)
        nodes.append(node)
    db_session.flush()
    return version, nodes


@pytest.fixture
def world(db_session, create_user, create_org, add_member):
    from app.claims import operations as claim_ops
    from app.experiences import operations as experience_ops
    from app.experiences.models import ExperienceKind
    from app.organisations.models import OrganisationKind
    from tests.validation.helpers import store_evidence

    w = types.SimpleNamespace()
    w.ngo = create_org("Solidarité Monde")
    w.other_ngo = create_org("Autre ONG")
    w.host = create_org("Host partner", kind=OrganisationKind.HOST_PARTNER)
    w.volunteer = create_user("vol@example.org", name="Valentine", locale="en")
    w.trainer = create_user("trainer@example.org", name="Théo Trainer", locale="fr")
    w.trainer2 = create_user("trainer2@example.org", name="Tess Trainer", locale="es")
    w.admin = create_user("admin@example.org", name="Ada Admin", locale="fr")
    w.other_trainer = create_user("other@example.org", name="Otto Other")
    add_member(w.ngo, w.volunteer, "volunteer")
    add_member(w.ngo, w.trainer, "trainer")
    add_member(w.ngo, w.trainer2, "trainer")
    add_member(w.ngo, w.admin, "admin")
    add_member(w.other_ngo, w.other_trainer, "trainer")
    add_member(w.other_ngo, w.volunteer, "volunteer")
    add_member(w.host, w.volunteer, "volunteer")
    w.version, w.nodes = make_framework(db_session)
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
        ),
    )
    w.image = store_evidence(w.volunteer, PNG, title="Photo of the well", mime="image/png")
    w.pdf = store_evidence(w.volunteer, b"%PDF-1.4 report", title="Final report")
    w.claims = [
        claim_ops.create_claim(
            w.volunteer,
            w.mission,
            claim_ops.ClaimData(
                node_id=node.id,
                level_rank=2,
                situation=f"Situation {node.code}",
                actions=f"I organised the {node.code} work with the village committee.",
                evidence_ids=evidence,
            ),
        )
        for node, evidence in zip(w.nodes, [(w.image.id,), (w.pdf.id,), ()], strict=True)
    ]
    db_session.flush()
    return w


@pytest.fixture
def submitted(world):
    """The mission submitted to world.ngo with its three claims."""
    from app.validation import operations as ops

    world.submission = ops.submit_experience(world.volunteer, world.mission, world.ngo, [c.id for c in world.claims])
    world.items = list(world.submission.items)
    return world
