"""Deleting an experience deletes the review history and the host referent's confirmations, and withdraws the NGO's
validations (kept as the NGO's records, issue 20): the confirmation page names them in plain words first."""

from __future__ import annotations

import html
import re

import sqlalchemy as sa

from app.extensions import db
from tests.cast import (
    confirm_by_referent,
    create_claims,
    submit_claims,
    validate_everything,
)


def text_of(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))))


def test_the_delete_page_of_a_validated_mission_names_the_records_lost(
    db_session, ngo, volunteer, trainer, framework, mission, app, login
):
    _version, nodes = framework
    claims = create_claims(volunteer, mission, nodes[:2])
    validate_everything(submit_claims(volunteer, mission, ngo, claims), trainer)
    confirm_by_referent(volunteer, mission, claims[:1])
    db_session.flush()
    client = app.test_client()
    login(client, volunteer)

    page = client.get(f"/experiences/{mission.id}/delete")
    assert page.status_code == 200
    text = text_of(page)
    assert "the validation of C1 by Solidarité Monde" in text
    assert "the validation of C2 by Solidarité Monde" in text
    assert "the confirmation given by your host referent Rosa Quispe" in text
    assert "the history of the review by Solidarité Monde" in text

    assert "Solidarité Monde keeps its record" in text

    # The warning is what happens: the validations leave the portfolio, the NGO's records stay, withdrawn (issue 20).
    from app.claims.validations import ClaimValidation

    assert client.post(f"/experiences/{mission.id}/delete").status_code == 302
    kept = list(db.session.scalars(sa.select(ClaimValidation)))
    assert len(kept) == 2
    assert all(v.claim_id is None and v.withdrawn_at is not None and v.holder_id == volunteer.id for v in kept)


def test_the_delete_page_of_a_plain_mission_has_no_warning(volunteer, framework, mission, app, login):
    _version, nodes = framework
    create_claims(volunteer, mission, nodes[:1])
    client = app.test_client()
    login(client, volunteer)
    page = client.get(f"/experiences/{mission.id}/delete")
    assert page.status_code == 200
    assert 'id="records-warning"' not in page.get_data(as_text=True)
