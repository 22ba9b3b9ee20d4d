"""A small world for the validation tests: an NGO with two trainers and an admin, a volunteer with a mission and
three claims (one with an image, one with a PDF), and a framework with a three-level scale."""

from __future__ import annotations

import types

import pytest

from tests import cast
from tests.validation.helpers import tiny_png

PNG = tiny_png()


@pytest.fixture
def world(db_session, add_member, ngo, volunteer, trainer, ngo_admin, framework, mission):
    """The shared cast (tests/cast.py) plus a second trainer, another NGO with a trainer, a host partner the
    volunteer belongs to, and the mission's three claims (C1 with a photo, C2 with a PDF)."""
    from app.organisations.models import OrganisationKind

    w = types.SimpleNamespace(ngo=ngo, volunteer=volunteer, trainer=trainer, admin=ngo_admin, mission=mission)
    w.other_ngo = cast.make_ngo("Autre ONG")
    w.host = cast.make_ngo("Host partner", kind=OrganisationKind.HOST_PARTNER)
    w.trainer2 = cast.make_person(
        member_of=ngo, role="trainer", email="trainer2@example.org", name="Tess Trainer", locale="es"
    )
    w.other_trainer = cast.make_person(
        member_of=w.other_ngo, role="trainer", email="other@example.org", name="Otto Other"
    )
    add_member(w.other_ngo, volunteer, "volunteer")
    add_member(w.host, volunteer, "volunteer")
    w.version, w.nodes = framework
    w.image = cast.store_evidence(volunteer, PNG, title="Photo of the well", mime="image/png")
    w.pdf = cast.store_evidence(volunteer, b"%PDF-1.4 report", title="Final report")
    w.claims = cast.create_claims(volunteer, mission, w.nodes, evidence=[w.image, w.pdf])
    db_session.flush()
    return w


@pytest.fixture
def submitted(world):
    """The mission submitted to world.ngo with its three claims."""
    world.submission = cast.submit_claims(world.volunteer, world.mission, world.ngo, world.claims)
    world.items = list(world.submission.items)
    return world
