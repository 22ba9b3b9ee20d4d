"""A small world for the validation tests: an NGO with two trainers and an admin, a volunteer with a mission and
three claims (one with an image, one with a PDF), and a framework with a three-level scale."""

from __future__ import annotations

import types

import pytest

from tests.fixtures.worlds import create_claims, create_mission, make_framework, store_evidence, submit_claims
from tests.validation.helpers import tiny_png

PNG = tiny_png()


@pytest.fixture
def world(db_session, create_user, create_org, add_member):
    from app.organisations.models import OrganisationKind

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
    w.mission = create_mission(w.volunteer)
    w.image = store_evidence(w.volunteer, PNG, title="Photo of the well", mime="image/png")
    w.pdf = store_evidence(w.volunteer, b"%PDF-1.4 report", title="Final report")
    w.claims = create_claims(w.volunteer, w.mission, w.nodes, evidence=[w.image, w.pdf])
    db_session.flush()
    return w


@pytest.fixture
def submitted(world):
    """The mission submitted to world.ngo with its three claims."""
    world.submission = submit_claims(world.volunteer, world.mission, world.ngo, world.claims)
    world.items = list(world.submission.items)
    return world
