"""The portfolio keeps what an NGO validated intact and says what a change costs: a file of a validated version
cannot be deleted, the edit form of a validated claim warns of the new version, deleting a claim names the NGO's
records lost with it, dashboard hints never lead to a locked claim. (Upload limits: test_upload_limits.py.)"""

from __future__ import annotations

import html
import re
import types

import pytest
import sqlalchemy as sa

from app.claims import operations as ops
from app.claims.models import Claim, ClaimState, Evidence
from app.core.errors import UserError
from app.extensions import db
from tests.cast import (
    confirm_by_referent,
    create_claims,
    store_evidence,
    submit_claims,
    validate_everything,
)


@pytest.fixture
def validated(db_session, ngo, volunteer, trainer, framework, mission):
    """The shared cast's mission with two claims (C1 with a PDF, C2 with a photo) validated by "Solidarité Monde"."""
    w = types.SimpleNamespace(ngo=ngo, volunteer=volunteer, trainer=trainer, mission=mission)
    w.version, nodes = framework
    w.pdf = store_evidence(w.volunteer, b"%PDF-1.4 final report", title="Final report")
    w.photo = store_evidence(w.volunteer, b"\x89PNG photo", title="Photo of the well", mime="image/png")
    w.claims = create_claims(w.volunteer, w.mission, nodes[:2], evidence=[w.pdf, w.photo])
    w.spare_node = nodes[2]
    validate_everything(submit_claims(w.volunteer, w.mission, w.ngo, w.claims), w.trainer)
    db_session.flush()
    for claim in w.claims:
        db_session.refresh(claim)
    assert [c.state for c in w.claims] == [ClaimState.VALIDATED, ClaimState.VALIDATED]
    return w


@pytest.fixture
def volunteer_client(app, validated, login):
    client = app.test_client()
    login(client, validated.volunteer)
    return client


def text_of(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))


def current_validations(claim):
    from app.claims.validations import ClaimValidation

    return list(
        db.session.scalars(
            sa.select(ClaimValidation).where(
                ClaimValidation.claim_id == claim.id,
                ClaimValidation.revoked_at.is_(None),
                ClaimValidation.superseded_at.is_(None),
            )
        )
    )


# --- 1. Evidence of a validated version ---------------------------------------------------------------------------


def test_a_file_of_a_validated_claim_cannot_be_deleted(validated, volunteer_client):
    url = f"/portfolio/evidence/{validated.pdf.id}/delete"
    page = volunteer_client.get(url)
    assert page.status_code == 200
    text = text_of(page)
    assert "cannot be deleted" in text and "C1" in text and "Solidarité Monde" in text
    assert "button-danger" not in page.get_data(as_text=True)  # no delete button

    refused = volunteer_client.post(url)
    assert refused.status_code == 409
    assert "cannot be deleted" in text_of(refused)
    db.session.expire_all()
    assert db.session.get(Evidence, validated.pdf.id) is not None
    claim = db.session.get(Claim, validated.claims[0].id)
    assert claim.state == ClaimState.VALIDATED and claim.version == 1
    assert [e.id for e in claim.evidence] == [validated.pdf.id]
    assert current_validations(claim)


def test_the_operation_refuses_too(validated):
    with pytest.raises(UserError) as refused:
        ops.delete_evidence(validated.pdf, actor=validated.volunteer)
    assert "C1" in str(refused.value.message)


def test_removing_the_file_from_the_claim_makes_a_new_version_and_the_file_stays(validated, volunteer_client):
    """Editing is the way to drop a file: a new draft version; the validated version keeps its file."""
    claim = validated.claims[0]
    data = ops.ClaimData(
        node_id=claim.node_id, level_rank=claim.level_rank, situation=claim.situation, actions=claim.actions
    )
    ops.update_claim(claim, data, actor=validated.volunteer)
    assert claim.state == ClaimState.DRAFT and claim.version == 2 and claim.evidence == []
    validation = current_validations(claim)[0]
    assert validation.claim_version == 1
    assert [e["id"] for e in validation.snapshot["evidence"]] == [validated.pdf.id]

    # The file no longer supports any claim, but the validated version lists it: it is kept.
    assert ops.evidence_delete_refusal(validated.pdf) is not None
    assert volunteer_client.post(f"/portfolio/evidence/{validated.pdf.id}/delete").status_code == 409


def test_a_file_of_a_revoked_validation_can_be_deleted(validated, ngo_admin, login, app):
    from app.validation import operations as validation_ops

    validation_ops.revoke_validation(current_validations(validated.claims[0])[0], ngo_admin, "Wrong claim")
    db.session.flush()
    assert ops.evidence_delete_refusal(validated.pdf) is None
    client = app.test_client()
    login(client, validated.volunteer)
    assert client.post(f"/portfolio/evidence/{validated.pdf.id}/delete").status_code == 302
    assert db.session.get(Evidence, validated.pdf.id) is None


def test_a_draft_claims_file_can_still_be_deleted(validated, volunteer_client):
    loose = store_evidence(validated.volunteer, b"%PDF-1.4 draft notes", title="Notes")
    create_claims(validated.volunteer, validated.mission, [validated.spare_node], evidence=[loose])
    page = volunteer_client.get(f"/portfolio/evidence/{loose.id}/delete")
    assert "cannot be deleted" not in text_of(page)
    assert volunteer_client.post(f"/portfolio/evidence/{loose.id}/delete").status_code == 302


# --- 2. Deleting a claim or an experience: the NGO's records ----------------------------------------------------


def test_deleting_a_validated_claim_names_what_is_lost(validated, volunteer_client):
    confirm_by_referent(validated.volunteer, validated.mission, validated.claims[:1])
    text = text_of(volunteer_client.get(f"/portfolio/claims/{validated.claims[0].id}/delete"))
    assert "the validation of C1 by Solidarité Monde" in text
    assert "the confirmation given by your host referent Rosa Quispe" in text
    assert "the history of the review by Solidarité Monde" in text


def test_deleting_a_draft_claim_warns_of_nothing(validated, volunteer_client):
    (draft,) = create_claims(validated.volunteer, validated.mission, [validated.spare_node])
    page = volunteer_client.get(f"/portfolio/claims/{draft.id}/delete")
    assert page.status_code == 200
    assert 'id="records-warning"' not in page.get_data(as_text=True)


# --- 3. Dashboard hints -----------------------------------------------------------------------------------------


def test_hints_leave_out_claims_under_review(db_session, ngo, volunteer, framework, mission, login, app):
    _version, nodes = framework
    submitted, draft = create_claims(volunteer, mission, nodes[:2], situation="", actions="")
    submit_claims(volunteer, mission, ngo, [submitted])
    db_session.flush()
    db_session.refresh(submitted)
    assert submitted.state == ClaimState.SUBMITTED
    client = app.test_client()
    login(client, volunteer)
    body = client.get("/portfolio/").get_data(as_text=True)
    links = set(re.findall(r'href="(/portfolio/claims/\d+/edit)"', body))
    assert links == {f"/portfolio/claims/{draft.id}/edit"}
    for link in links:
        assert client.get(link).status_code == 200


# --- 4. Editing a validated claim -------------------------------------------------------------------------------


def test_the_edit_form_of_a_validated_claim_warns_of_a_new_version(validated, volunteer_client):
    page = volunteer_client.get(f"/portfolio/claims/{validated.claims[0].id}/edit")
    assert page.status_code == 200
    text = text_of(page)
    assert "This claim was validated by Solidarité Monde" in text
    assert "Saving changes creates a new version" in text


def test_the_edit_form_of_a_draft_claim_has_no_such_warning(validated, volunteer_client):
    (draft,) = create_claims(validated.volunteer, validated.mission, [validated.spare_node])
    page = volunteer_client.get(f"/portfolio/claims/{draft.id}/edit")
    assert page.status_code == 200
    assert 'id="new-version-notice"' not in page.get_data(as_text=True)
