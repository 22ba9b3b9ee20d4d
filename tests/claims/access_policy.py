"""Access policy of the ``claims`` blueprint (portfolio): claims and evidence are private to their owner."""

from tests.access import USER, expect, rule

OWNER_ONLY = expect(404, guest="login", volunteer="ok")


def build(world):
    """A claim with one evidence file on world.mission (built by tests/experiences/access_policy.py)."""
    from app.claims.models import Claim, Evidence
    from app.extensions import db
    from app.frameworks.models import Framework, FrameworkKind, FrameworkNode, FrameworkVersion, NodeKind

    if not hasattr(world, "mission"):
        from tests.experiences.access_policy import build as build_experiences

        build_experiences(world)
    framework = Framework(slug="access-fw", kind=FrameworkKind.OWN)
    version = FrameworkVersion(
        framework=framework,
        version="1",
        title={"fr": "Réf", "en": "Fw"},
        content_hash="0" * 64,
        levels=[{"rank": 1, "label": {"fr": "Un", "en": "One"}}],
    )
    db.session.add_all([framework, version])
    db.session.flush()
    world.claim_node = FrameworkNode(
        version_id=version.id, code="C1", kind=NodeKind.COMPETENCE, title={"fr": "Compétence", "en": "Competence"}
    )
    db.session.add(world.claim_node)
    db.session.flush()
    world.evidence = Evidence(
        owner_id=world.users["volunteer"].id,
        title="Attestation",
        storage_key="a" * 32,
        sha256="0" * 64,
        size=10,
        mime="application/pdf",
        pages=1,
    )
    world.claim = Claim(
        owner_id=world.users["volunteer"].id,
        experience_id=world.mission.id,
        node_id=world.claim_node.id,
        level_rank=1,
        evidence=[world.evidence],
    )
    db.session.add_all([world.evidence, world.claim])
    db.session.flush()
    from app.core.storage import path_for

    path = path_for(world.evidence.storage_key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"%PDF-1.4 access-matrix stand-in")


POLICY = {
    "claims.dashboard": rule(USER),
    "claims.evidence": rule(USER, methods=("GET", "POST")),
    "claims.new": rule(OWNER_ONLY, url=lambda w: {"experience_id": w.mission.id}, methods=("GET", "POST")),
    "claims.detail": rule(OWNER_ONLY, url=lambda w: {"claim_id": w.claim.id}),
    "claims.edit": rule(OWNER_ONLY, url=lambda w: {"claim_id": w.claim.id}, methods=("GET", "POST")),
    "claims.delete": rule(OWNER_ONLY, url=lambda w: {"claim_id": w.claim.id}, methods=("GET", "POST")),
    "claims.evidence_file": rule(OWNER_ONLY, url=lambda w: {"evidence_id": w.evidence.id}),
    "claims.evidence_delete": rule(OWNER_ONLY, url=lambda w: {"evidence_id": w.evidence.id}, methods=("GET", "POST")),
    # Competence suggestions: only for the volunteer's own experiences.
    "claims.suggestions": rule(OWNER_ONLY, url=lambda w: {"experience_id": w.mission.id}),
    "claims.suggest_preview": rule(
        OWNER_ONLY,
        url=lambda w: {"experience_id": w.mission.id},
        methods=("POST",),
        data=lambda w: {"actions": "I managed the budget", "node": str(w.claim_node.id)},
    ),
}
