"""Suggestions on the NGO side: "you may also validate…" on the review page, and learning from decisions."""

from __future__ import annotations

import html
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.frameworks.models import SuggestionObservation
from app.validation import operations as ops
from app.validation.models import ItemDecision
from tests.cast import create_claims, submit_claims
from tests.translated import translated

COMPETENCIES = Path(__file__).resolve().parents[2] / "competencies"
STORY = (
    "Je tenais la caisse de l'antenne et je classais les factures pour le bailleur. Le soir, j'animais une "
    "émission de radio communautaire sur l'hygiène et le lavage des mains."
)


@pytest.fixture
def own_world(world):
    from app.frameworks import operations as fw_ops
    from app.frameworks.importers.yaml_format import parse_files

    frameworks, crosswalks = parse_files([COMPETENCIES / "solidarite-internationale.yaml"])
    fw_ops.import_batch(frameworks, crosswalks)
    version = next(f for f in fw_ops.list_frameworks() if f.slug == "solidarite-internationale").current_version
    nodes = {n.code: n for n in _nodes(version)}
    world.si_version = version
    world.si_claims = create_claims(world.volunteer, world.mission, [nodes["SI.4.5"]], situation=STORY, actions="")
    world.si_submission = submit_claims(world.volunteer, world.mission, world.ngo, world.si_claims)
    return world


def _nodes(version):
    from app.extensions import db
    from app.frameworks.models import FrameworkNode

    return db.session.scalars(sa.select(FrameworkNode).where(FrameworkNode.version_id == version.id)).all()


def test_reviewer_sees_competences_the_story_supports_but_were_not_claimed(own_world, client, login):
    login(client, own_world.trainer)
    response = client.get(f"/validation/submissions/{own_world.si_submission.id}")
    body = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 200
    panel = body.split(translated("fr", "You may also validate…"), 1)[1]
    assert "SI.5.5" in panel and "radio" in panel  # supported by the story, not claimed
    assert "SI.4.5 —" not in panel.split("</section>", 1)[0]  # the claimed competence is not proposed again


def test_trainer_of_another_ngo_sees_nothing(own_world, client, login):
    login(client, own_world.other_trainer)
    response = client.get(f"/validation/submissions/{own_world.si_submission.id}")
    assert response.status_code == 404
    assert translated("fr", "You may also validate…") not in html.unescape(response.get_data(as_text=True))


def _observations():
    from app.extensions import db

    return db.session.scalars(sa.select(SuggestionObservation).order_by(SuggestionObservation.id)).all()


def test_decisions_become_training_data_without_text(own_world):
    item = own_world.si_submission.current_items[0]
    ops.decide_item(item, own_world.trainer, ops.Decision(ItemDecision.VALIDATED, level=3, comment="Level 3 shown"))
    (observation,) = _observations()
    assert observation.code == "SI.4.5" and observation.polarity == 1
    assert observation.level == 3 and observation.claimed_level == 2  # the level changed by the trainer is learnt
    assert observation.user_id == own_world.volunteer.id
    assert observation.terms and not any("caisse" in t or "radio" in t for t in observation.terms)


def test_rejections_are_learnt_and_requests_for_changes_are_not(submitted):
    first, second = submitted.submission.current_items[:2]
    ops.decide_item(first, submitted.trainer, ops.Decision(ItemDecision.CHANGES_REQUESTED, comment="More detail"))
    assert _observations() == []
    ops.decide_item(second, submitted.trainer, ops.Decision(ItemDecision.REJECTED, comment="Not shown"))
    (observation,) = _observations()
    assert observation.polarity == -1 and observation.level is None


def test_erasing_the_volunteer_removes_what_was_learnt_from_them(own_world):
    from app.portability.erasure import erase_user

    item = own_world.si_submission.current_items[0]
    ops.decide_item(item, own_world.trainer, ops.Decision(ItemDecision.VALIDATED))
    assert len(_observations()) == 1
    erase_user(own_world.volunteer)
    assert _observations() == []
