"""Suggestions in the portfolio: the experience's page, the claim form (script and no script), access, bad input."""

from __future__ import annotations

import html

import pytest
import sqlalchemy as sa

from app.claims.models import Claim
from app.extensions import db

ACTIVITIES = (
    "Je tenais la caisse de l'antenne, je classais les factures et je préparais le rapport financier pour le "
    "bailleur. J'ai aussi animé des émissions de radio communautaire sur l'hygiène."
)


@pytest.fixture
def busy_mission(mission):
    mission.activities = ACTIVITIES
    mission.results = "Les comptes ont été acceptés sans réserve."
    db.session.flush()
    return mission


def page(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_experience_page_offers_suggest_competences(signed_in, frameworks, busy_mission):
    body = page(signed_in.get(f"/experiences/{busy_mission.id}"))
    assert f"/portfolio/experiences/{busy_mission.id}/suggestions" in body


def test_suggestions_page_shows_competences_with_explanations_and_claim_links(signed_in, frameworks, busy_mission):
    response = signed_in.get(f"/portfolio/experiences/{busy_mission.id}/suggestions")
    assert response.status_code == 200
    body = page(response)
    assert "SI.4.5" in body and "SI.5.5" in body
    assert "Why:" in body and "“caisse”" not in body  # explanations are the competence's own words, quoted
    assert "<q>radio communautaire</q>" in body or "<q>radio</q>" in body
    node = frameworks.node("SI.4.5")
    assert f"/portfolio/experiences/{busy_mission.id}/claims/new?node={node.id}" in body


def test_a_claim_started_from_a_suggestion_is_prefilled(signed_in, frameworks, busy_mission):
    node = frameworks.node("SI.4.5")
    response = signed_in.get(
        f"/portfolio/experiences/{busy_mission.id}/claims/new?node={node.id}&level=3&from=suggestion"
    )
    body = page(response)
    assert response.status_code == 200
    assert '<option selected value="3">' in body or '<option value="3" selected>' in body
    assert "Je tenais la caisse" in body  # the activities as a first draft of the actions


def test_experience_without_activities_gets_a_clear_message(signed_in, frameworks, mission):
    body = page(signed_in.get(f"/portfolio/experiences/{mission.id}/suggestions"))
    assert "Write a few sentences about what you did" in body


def test_someone_elses_experience_gets_no_suggestions(client, login, create_user, frameworks, busy_mission):
    login(client, create_user())
    assert client.get(f"/portfolio/experiences/{busy_mission.id}/suggestions").status_code == 404
    assert (
        client.post(f"/portfolio/experiences/{busy_mission.id}/suggestions/preview", data={"actions": "x"}).status_code
        == 404
    )


def test_live_preview_returns_suggestions_as_json(signed_in, frameworks, busy_mission):
    node = frameworks.node("SI.4.5")
    response = signed_in.post(
        f"/portfolio/experiences/{busy_mission.id}/suggestions/preview",
        data={"actions": "I kept the petty cash and the receipts for the donor's financial report.", "node": node.id},
    )
    assert response.status_code == 200
    data = response.get_json()
    first = data["suggestions"][0]
    assert first["code"] == "SI.4.5" and first["current"] is True
    assert first["matched"] and all(isinstance(m, str) for m in first["matched"])
    assert all(
        s["url"].startswith(f"/portfolio/experiences/{busy_mission.id}/claims/new?") for s in data["suggestions"]
    )


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ("", "Write a few sentences"),
        ("I kept the budget and the receipts. " * 3000, "Only the beginning"),
        ("<script>alert(1)</script> {{ 7*7 }} ' OR 1=1 --", None),
        ("\u202eevil\u202c budget", None),
    ],
)
def test_live_preview_answers_empty_huge_and_hostile_text_without_error(
    signed_in, frameworks, busy_mission, text, expect
):
    response = signed_in.post(f"/portfolio/experiences/{busy_mission.id}/suggestions/preview", data={"actions": text})
    assert response.status_code in (200, 400)
    data = response.get_json()
    assert data is not None
    if response.status_code == 200:
        message = data["message"] or ("Only the beginning" if data.get("truncated") else "")
        if expect:
            assert expect in message or (expect == "Only the beginning" and data["truncated"])
        assert "<script>" not in response.get_data(as_text=True)
    else:
        assert data["error"]


def test_live_preview_needs_the_csrf_token(signed_in, frameworks, busy_mission, csrf_enabled):
    response = signed_in.post(
        f"/portfolio/experiences/{busy_mission.id}/suggestions/preview", data={"actions": "budget"}
    )
    assert response.status_code == 400


def test_claim_form_button_suggests_without_script_and_saves_nothing(signed_in, frameworks, busy_mission):
    node = frameworks.node("SI.5.2")
    url = f"/portfolio/experiences/{busy_mission.id}/claims/new?node={node.id}"
    form = page(signed_in.get(url))
    assert 'name="suggest"' in form and "js/suggestions.js" in form
    response = signed_in.post(
        url,
        data={
            "suggest": "1",
            "level_rank": "",
            "actions": "Je faisais l'interprète entre le médecin et les familles, et je traduisais les affiches.",
        },
    )
    body = page(response)
    assert response.status_code == 200
    assert "SI.7.4" in body and "Why:" in body
    assert "faisais l'interprète" in body  # the story typed so far is kept
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Claim)) == 0


def test_edit_form_button_suggests_too(signed_in, frameworks, busy_mission):
    from app.claims import operations as ops

    claim = ops.create_claim(
        busy_mission.owner,
        busy_mission,
        ops.ClaimData(node_id=frameworks.node("SI.4.5").id, level_rank=2, actions="Je tenais la caisse."),
    )
    response = signed_in.post(
        f"/portfolio/claims/{claim.id}/edit", data={"suggest": "1", "level_rank": "2", "actions": "caisse"}
    )
    assert response.status_code == 200
    assert "This claim\u2019s competence" in page(response)
