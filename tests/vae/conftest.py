"""A VAE world: an own framework (three-level scale) with C1, C2, C3, an RNCP certification of two blocs linked to it by
crosswalks, a volunteer whose mission claims C1 and C2 (validated by a trainer at level 2) and C3 (draft), an
adviser, and helpers to make a project and move it along."""

from __future__ import annotations

import types
from datetime import date, timedelta

import pytest


def make_certification(db_session, own_nodes):
    """RNCP "rncp-vae-test": bloc B1 (C1 close to own C1, C2 related to own C2, C3 linked to nothing) and bloc B2
    (C1 exact to own C3); required level 2."""
    from app.frameworks.models import (
        Crosswalk,
        CrosswalkLink,
        Framework,
        FrameworkKind,
        FrameworkNode,
        FrameworkVersion,
        NodeKind,
        Relation,
    )

    framework = Framework(slug="rncp-vae-test", kind=FrameworkKind.RNCP)
    version = FrameworkVersion(
        framework=framework,
        version="1",
        title={"fr": "Certification de test", "en": "Test certification", "es": "Certificación de prueba"},
        content_hash="4" * 64,
        certification={"code": "RNCP99998", "required_level": 2, "certifier": "Certificateur fictif"},
    )
    db_session.add_all([framework, version])
    db_session.flush()
    nodes = {}
    for position, bloc_code in enumerate(("B1", "B2"), start=1):
        bloc = FrameworkNode(
            version_id=version.id,
            code=bloc_code,
            kind=NodeKind.BLOC,
            position=position,
            title={"fr": f"Bloc {bloc_code}", "en": f"Bloc {bloc_code}"},
        )
        db_session.add(bloc)
        db_session.flush()
        nodes[bloc_code] = bloc
        for index in range(1, (4 if bloc_code == "B1" else 2)):
            code = f"{bloc_code}.C{index}"
            node = FrameworkNode(
                version_id=version.id,
                code=code,
                kind=NodeKind.COMPETENCE,
                parent_id=bloc.id,
                depth=1,
                position=index,
                title={"fr": f"Compétence {code}", "en": f"Competence {code}"},
            )
            db_session.add(node)
            nodes[code] = node
    db_session.flush()
    if not own_nodes:
        return framework, nodes
    crosswalk = Crosswalk(slug="rncp-vae-test--own", source_version_id=version.id, content_hash="5" * 64)
    db_session.add(crosswalk)
    db_session.flush()
    for source, target, relation in (
        ("B1.C1", own_nodes[0], Relation.CLOSE),
        ("B1.C2", own_nodes[1], Relation.RELATED),
        ("B2.C1", own_nodes[2], Relation.EXACT),
    ):
        db_session.add(
            CrosswalkLink(
                crosswalk_id=crosswalk.id, source_node_id=nodes[source].id, target_node_id=target.id, relation=relation
            )
        )
    db_session.flush()
    return framework, nodes


@pytest.fixture
def vaeworld(db_session, create_user, create_org, add_member):
    from tests import cast as worlds

    w = types.SimpleNamespace()
    w.ngo = create_org("Solidarité Monde")
    w.volunteer = create_user("vaevol@example.org", name="Valentine Vae", locale="en")
    w.trainer = create_user("vaetrainer@example.org", name="Théo Trainer", locale="fr")
    w.adviser = create_user("vaeadviser@example.org", name="Adèle Adviser", adviser=True, locale="fr")
    w.stranger = create_user("vaestranger@example.org", name="Sam Stranger", locale="en")
    add_member(w.ngo, w.volunteer, "volunteer")
    add_member(w.ngo, w.trainer, "trainer")
    w.version, w.nodes = worlds.make_framework(db_session, slug="vae-fw")
    w.framework, w.rncp = make_certification(db_session, w.nodes)
    w.mission = worlds.create_mission(w.volunteer, sending_organisation_id=w.ngo.id)
    w.evidence = worlds.store_evidence(w.volunteer, b"%PDF-1.4 report", title="Final report")
    w.claims = worlds.create_claims(w.volunteer, w.mission, w.nodes[:2], evidence=[w.evidence])
    worlds.validate_everything(worlds.submit_claims(w.volunteer, w.mission, w.ngo, w.claims), w.trainer)
    w.draft_claim = worlds.create_claims(w.volunteer, w.mission, w.nodes[2:3])[0]
    w.other_mission = worlds.create_mission(w.volunteer, title="Logistics in Chad", host_country="TD")
    db_session.flush()
    return w


@pytest.fixture
def make_project(vaeworld):
    from app.vae import operations as ops
    from app.vae.models import VaeRoute

    def factory(owner=None, *, route=VaeRoute.FRANCE_VAE, started_on=None, blocs=()):
        return ops.create_project(
            owner or vaeworld.volunteer,
            ops.ProjectData(
                framework_id=vaeworld.framework.id,
                route=route,
                started_on=started_on or date.today() - timedelta(days=400),
                bloc_codes=tuple(blocs),
            ),
        )

    return factory


def walk(project, actor, *steps):
    """Move ``project`` through ``steps`` = (status, date) pairs."""
    from app.vae import operations as ops

    for status, on in steps:
        ops.advance(project, status, actor=actor, on=on, expected=project.status)
    return project
