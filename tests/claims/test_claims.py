"""Competence claims on the shipped frameworks: two frameworks on one experience, levels checked against each
framework's scale, duplicates refused, crosswalk neighbours shown both ways, narrative completeness, versions,
retired competences, privacy."""

from __future__ import annotations

import dataclasses
import html as html_module
import re

import pytest
import sqlalchemy as sa

from app.claims import operations as ops
from app.claims.models import Claim, ClaimState
from app.core.errors import UserError
from app.extensions import db

NARRATIVE = {
    "situation": "Dans un district rural des Andes, avec une équipe de 12 personnes.",
    "task": "Organiser la concertation entre la mairie et les comités de l'eau.",
    "actions": "",
    "result": "",
    "reflection": "J'ai appris à écouter avant de proposer.",
    "transfer": "",
}


def claim_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Claim))


def new_claim_url(experience, node) -> str:
    return f"/portfolio/experiences/{experience.id}/claims/new?node={node.id}"


def post_claim(client, experience, node, level="", **narrative):
    data = {"level_rank": level, **{part: "" for part in NARRATIVE}, **narrative}
    return client.post(new_claim_url(experience, node), data=data)


def error_of(html: str, field: str) -> str:
    match = re.search(rf'<p class="error-message" id="{field}-error">(.*?)</p>', html, re.S)
    if not match:
        return ""
    text = re.sub(r'<span class="visually-hidden">.*?</span>', "", match.group(1), flags=re.S)
    return html_module.unescape(re.sub(r"<[^>]+>", "", text)).strip()


def text_of(html: str) -> str:
    """The page's visible text with collapsed whitespace (to search phrases across tags)."""
    return " ".join(html_module.unescape(re.sub(r"<[^>]+>", " ", html)).split())


# --- Choosing a competence ---------------------------------------------------------------------------------------


def test_chooser_lists_competences_grouped_by_framework(signed_in, frameworks, mission):
    html = signed_in.get(f"/portfolio/experiences/{mission.id}/claims/new").get_data(as_text=True)
    for group in ("International solidarity competences", "Key competences for lifelong learning"):
        assert f'<optgroup label="{group}' in html or group in html, group
    si_1_1 = frameworks.node("SI.1.1")
    assert f'value="{si_1_1.id}"' in html and "SI.1.1 — Cultural self-awareness" in html
    assert f'value="{frameworks.node("KC8").id}"' in html
    # Domains are containers, not competences
    assert f'value="{frameworks.node("SI.1").id}"' not in html


def test_chooser_search_links_to_the_claim_form(signed_in, frameworks, mission):
    html = signed_in.get(f"/portfolio/experiences/{mission.id}/claims/new?q=intercultural").get_data(as_text=True)
    assert "claims/new?node=" in html


def test_a_container_node_cannot_be_claimed(signed_in, frameworks, mission):
    domain = frameworks.node("SI.1")
    response = signed_in.get(new_claim_url(mission, domain))
    assert response.status_code == 200 and "Choose a competence" in response.get_data(as_text=True)
    response = post_claim(signed_in, mission, domain, level="2")
    assert claim_count() == 0


# --- Claims across two frameworks --------------------------------------------------------------------------------


def test_claims_in_two_frameworks_on_one_experience(signed_in, frameworks, mission):
    si, kc = frameworks.node("SI.1.1"), frameworks.node("KC8")
    form = signed_in.get(new_claim_url(mission, si)).get_data(as_text=True)
    assert "Cultural self-awareness" in form
    assert "3 — Autonomous" in form  # the SI scale is offered
    for prompt in ("Where were you, when, with whom?", "What did you learn?"):
        assert prompt in form
    response = post_claim(signed_in, mission, si, level="3", **NARRATIVE)
    assert response.status_code == 302, error_of(response.get_data(as_text=True), "level_rank")
    first = db.session.scalars(sa.select(Claim)).one()
    assert response.headers["Location"].endswith(f"/portfolio/claims/{first.id}")
    assert (first.level_rank, first.state, first.version) == (3, ClaimState.DRAFT, 1)
    assert first.narrative_parts_done == 3 and not first.narrative_complete

    kc_form = signed_in.get(new_claim_url(mission, kc)).get_data(as_text=True)
    assert "No scale in this framework" in kc_form
    response = post_claim(signed_in, mission, kc, level="", situation="Fête interculturelle du quartier.")
    assert response.status_code == 302
    second = db.session.scalars(sa.select(Claim).where(Claim.node_id == kc.id)).one()
    assert second.level_rank is None

    panel = signed_in.get(f"/experiences/{mission.id}").get_data(as_text=True)
    assert "SI.1.1 — Cultural self-awareness" in panel and "KC8 — Cultural awareness and expression" in panel
    assert "International solidarity competences" in panel and "Key competences" in panel
    panel_text = text_of(panel)
    assert "3 of 6 parts" in panel_text and "1 of 6 parts" in panel_text


def test_claim_on_the_rncp_example(signed_in, frameworks, mission):
    node = frameworks.node("RNCP00000BC01.C1")
    response = post_claim(signed_in, mission, node, level="", task="Diagnostic de territoire")
    assert response.status_code == 302
    page = signed_in.get(response.headers["Location"]).get_data(as_text=True)
    # The crosswalk goes from the RNCP example to SI: SI.2.1 is "close", SI.1.3 "narrower"
    assert "SI.2.1" in page and "SI.1.3" in page


def test_level_outside_the_scale_is_refused(signed_in, frameworks, mission):
    response = post_claim(signed_in, mission, frameworks.node("SI.1.1"), level="9")
    assert response.status_code == 422
    assert error_of(response.get_data(as_text=True), "level_rank") == "Please choose a level of this framework's scale."
    assert claim_count() == 0


def test_level_is_required_when_the_framework_has_a_scale(signed_in, frameworks, mission):
    response = post_claim(signed_in, mission, frameworks.node("SI.1.1"), level="", situation="Gardé")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert error_of(html, "level_rank") == "Please choose a level."
    assert "Gardé" in html  # what was typed stays
    assert claim_count() == 0


def test_framework_without_levels_takes_no_level(signed_in, frameworks, mission):
    response = post_claim(signed_in, mission, frameworks.node("KC5"), level="2")
    assert response.status_code == 422
    assert error_of(response.get_data(as_text=True), "level_rank") == "Please choose a level of this framework's scale."
    assert claim_count() == 0


def test_operation_checks_the_level_too(volunteer, frameworks, mission):
    with pytest.raises(UserError) as refused:
        ops.create_claim(volunteer, mission, ops.ClaimData(node_id=frameworks.node("SI.1.1").id, level_rank=5))
    assert refused.value.field == "level_rank"
    with pytest.raises(UserError) as refused:
        ops.create_claim(volunteer, mission, ops.ClaimData(node_id=frameworks.node("KC1").id, level_rank=1))
    assert refused.value.field == "level_rank"
    with pytest.raises(UserError) as refused:
        ops.create_claim(volunteer, mission, ops.ClaimData(node_id=987654))
    assert refused.value.field == "node_id"
    assert claim_count() == 0


def test_duplicate_claim_is_refused(signed_in, frameworks, mission, volunteer, make_experience):
    node = frameworks.node("SI.2.3")
    assert post_claim(signed_in, mission, node, level="2").status_code == 302
    response = post_claim(signed_in, mission, node, level="3")
    assert response.status_code == 422
    assert "This experience already has a claim for this competence." in response.get_data(as_text=True)
    assert claim_count() == 1
    # The same competence on another experience is fine (it counts once in the coverage)
    training = make_experience(volunteer, "Formation gestion de projet", kind="training", provider="F3E")
    assert post_claim(signed_in, training, node, level="1").status_code == 302
    assert claim_count() == 2
    # The database refuses a duplicate as well
    with pytest.raises(sa.exc.IntegrityError), db.session.begin_nested():
        db.session.add(Claim(owner_id=volunteer.id, experience_id=mission.id, node_id=node.id, level_rank=1))
        db.session.flush()


def test_evidence_of_someone_else_cannot_be_attached(volunteer, create_user, frameworks, mission):
    from app.claims.models import Evidence

    stranger = create_user()
    theirs = Evidence(
        owner_id=stranger.id, title="Not yours", storage_key="b" * 32, sha256="0" * 64, size=1, mime="application/pdf"
    )
    db.session.add(theirs)
    db.session.flush()
    with pytest.raises(UserError) as refused:
        ops.create_claim(
            volunteer, mission, ops.ClaimData(node_id=frameworks.node("KC1").id, evidence_ids=(theirs.id,))
        )
    assert refused.value.field == "evidence_ids"


# --- Claim page: related competences, narrative, versions ------------------------------------------------------


def test_claim_page_shows_related_competences_both_ways(signed_in, frameworks, mission):
    si = frameworks.node("SI.1.1")
    post_claim(signed_in, mission, si, level="2")
    post_claim(signed_in, mission, frameworks.node("KC8"))
    si_claim, kc_claim = db.session.scalars(sa.select(Claim).order_by(Claim.id)).all()

    si_page = text_of(signed_in.get(f"/portfolio/claims/{si_claim.id}").get_data(as_text=True))
    # SI.1.1 → KC8 (broader) and KC5 (related), from the SI → key competences crosswalk
    assert "KC8 — Cultural awareness and expression competence" in si_page
    assert "KC5 —" in si_page
    assert "Related competences in other frameworks" in si_page

    kc_page = text_of(signed_in.get(f"/portfolio/claims/{kc_claim.id}").get_data(as_text=True))
    # Read from the other end: KC8 sees SI.1.1 (and the other SI competences linked to it)
    assert "SI.1.1 — Cultural self-awareness" in kc_page and "SI.1.2 —" in kc_page
    assert "Key competences" in kc_page


def test_claim_page_shows_how_complete_the_narrative_is(signed_in, frameworks, mission):
    post_claim(signed_in, mission, frameworks.node("SI.3.1"), level="1", **NARRATIVE)
    claim = db.session.scalars(sa.select(Claim)).one()
    page = signed_in.get(f"/portfolio/claims/{claim.id}").get_data(as_text=True)
    assert "3 of 6 parts written" in text_of(page)
    assert page.count("Not written yet.") == 3
    assert NARRATIVE["reflection"].replace("'", "&#39;") in page
    assert "1 — Awareness" in text_of(page)


def test_narrative_markup_is_stored_literally_and_escaped(signed_in, frameworks, mission):
    hostile = "<script>alert('x')</script> <b>fort</b>"
    post_claim(signed_in, mission, frameworks.node("SI.3.2"), level="1", actions=hostile)
    claim = db.session.scalars(sa.select(Claim)).one()
    assert claim.actions == hostile
    page = signed_in.get(f"/portfolio/claims/{claim.id}").get_data(as_text=True)
    assert "<script>alert('x')" not in page and "<b>fort</b>" not in page
    assert "&lt;script&gt;" in page


def test_editing_bumps_the_version_only_when_content_changes(signed_in, frameworks, mission):
    post_claim(signed_in, mission, frameworks.node("SI.4.1"), level="2", **NARRATIVE)
    claim = db.session.scalars(sa.select(Claim)).one()
    edit_url = f"/portfolio/claims/{claim.id}/edit"
    form = signed_in.get(edit_url).get_data(as_text=True)
    assert NARRATIVE["situation"].replace("'", "&#39;") in form
    assert re.search(r'<option selected value="2">|<option value="2" selected', form)

    same = {"level_rank": "2", **NARRATIVE}
    assert signed_in.post(edit_url, data=same).status_code == 302
    db.session.expire_all()
    assert claim.version == 1

    assert signed_in.post(edit_url, data={**same, "actions": "J'ai animé 6 réunions."}).status_code == 302
    db.session.expire_all()
    assert claim.version == 2 and claim.narrative_parts_done == 4

    assert (
        signed_in.post(edit_url, data={**same, "actions": "J'ai animé 6 réunions.", "level_rank": "3"}).status_code
        == 302
    )
    db.session.expire_all()
    assert claim.version == 3 and claim.level_rank == 3
    assert "version 3" in signed_in.get(f"/portfolio/claims/{claim.id}").get_data(as_text=True)

    response = signed_in.post(edit_url, data={**same, "level_rank": "7"})
    assert response.status_code == 422
    db.session.expire_all()
    assert claim.version == 3 and claim.level_rank == 3


def test_claims_of_a_retired_competence_still_display(signed_in, frameworks, mission, shipped_framework_files):
    """A new version of the key competences without KC8 retires it; the claim keeps pointing at 2018's KC8."""
    from app.frameworks import operations as framework_ops

    kc8 = frameworks.node("KC8")
    post_claim(signed_in, mission, kc8, situation="Festival")
    claim = db.session.scalars(sa.select(Claim)).one()

    key_competences = next(f for f in shipped_framework_files[0] if f.slug == "eu-key-competences-2018")
    newer = dataclasses.replace(
        key_competences, version="2030", nodes=[n for n in key_competences.nodes if n.code != "KC8"]
    )
    (result,) = framework_ops.import_batch([newer])
    assert result.retired == 1
    db.session.expire_all()

    page = signed_in.get(f"/portfolio/claims/{claim.id}").get_data(as_text=True)
    assert "KC8 — Cultural awareness and expression competence" in page
    assert "this competence was removed from newer versions" in page
    assert "version 2018" in text_of(page)
    assert "KC8" in signed_in.get(f"/experiences/{mission.id}").get_data(as_text=True)
    assert "KC8" in signed_in.get("/portfolio/").get_data(as_text=True)
    # It can still be edited, but nobody can start a new claim on it
    response = signed_in.post(f"/portfolio/claims/{claim.id}/edit", data={"level_rank": "", "situation": "Festival 2"})
    assert response.status_code == 302, text_of(response.get_data(as_text=True))[-1500:]
    with pytest.raises(UserError) as refused:
        ops.create_claim(claim.owner, mission, ops.ClaimData(node_id=kc8.id))
    assert "removed" in str(refused.value.message)


def test_delete_claim_asks_for_confirmation(signed_in, frameworks, mission):
    post_claim(signed_in, mission, frameworks.node("SI.5.1"), level="1")
    claim = db.session.scalars(sa.select(Claim)).one()
    confirm = signed_in.get(f"/portfolio/claims/{claim.id}/delete")
    assert confirm.status_code == 200 and "Do you really want to delete your claim for SI.5.1" in confirm.get_data(
        as_text=True
    )
    assert claim_count() == 1
    response = signed_in.post(f"/portfolio/claims/{claim.id}/delete")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/experiences/{mission.id}")
    assert claim_count() == 0


def test_deleting_an_experience_deletes_its_claims(signed_in, frameworks, mission):
    post_claim(signed_in, mission, frameworks.node("SI.5.2"), level="1")
    assert claim_count() == 1
    assert signed_in.post(f"/experiences/{mission.id}/delete").status_code == 302
    assert claim_count() == 0


# --- Privacy ---------------------------------------------------------------------------------------------------


def test_another_persons_claims_are_404(app, signed_in, frameworks, mission, create_user, login):
    post_claim(signed_in, mission, frameworks.node("SI.6.1"), level="2", situation="Secret")
    claim = db.session.scalars(sa.select(Claim)).one()
    intruder = app.test_client()
    login(intruder, create_user(locale="en"))
    for url in (
        f"/portfolio/claims/{claim.id}",
        f"/portfolio/claims/{claim.id}/edit",
        f"/portfolio/claims/{claim.id}/delete",
        f"/portfolio/experiences/{mission.id}/claims/new",
        new_claim_url(mission, frameworks.node("SI.6.2")),
    ):
        assert intruder.get(url).status_code == 404, url
    assert intruder.post(f"/portfolio/claims/{claim.id}/delete").status_code == 404
    assert intruder.post(f"/portfolio/claims/{claim.id}/edit", data={"level_rank": "1"}).status_code == 404
    assert post_claim(intruder, mission, frameworks.node("SI.6.2"), level="1").status_code == 404
    assert "SI.6.1" not in intruder.get("/portfolio/").get_data(as_text=True)
    assert claim_count() == 1


# --- Dashboard -------------------------------------------------------------------------------------------------


def test_dashboard_coverage_chart_table_and_hints(signed_in, volunteer, frameworks, mission, make_experience):
    import base64

    make_experience(volunteer, "Mission sans compétence", start_date=mission.start_date, end_date=None)
    post_claim(signed_in, mission, frameworks.node("SI.1.1"), level="2", **NARRATIVE)
    post_claim(signed_in, mission, frameworks.node("SI.1.2"), level="3")
    post_claim(signed_in, mission, frameworks.node("KC8"))
    html = signed_in.get("/portfolio/").get_data(as_text=True)
    text = text_of(html)
    # Chart: an SVG data URI (no script), with the same figures in a table
    match = re.search(r'<img src="data:image/svg\+xml;base64,([^"]+)" alt="([^"]+)"', html)
    assert match, "coverage chart missing"
    svg = base64.b64decode(match.group(1)).decode()
    assert "<svg" in svg  # shown as an image: the browser runs none of pygal's scripts
    assert "Competences claimed per framework" in text
    assert "2 of 40" in text and "1 of 8" in text
    assert "level 2: 1, level 3: 1" in text and "no level: 1" in text
    # Hints: the mission without claims, claims without evidence and without narrative
    assert "The mission “Mission sans compétence” has no competence yet." in text
    assert "Your claim SI.1.2 has no narrative." in text and "Your claim SI.1.1 has no narrative." not in text
    assert "Your claim KC8 has no evidence." in text
    # Timeline
    assert "Chargée de projet" in text and "Mission sans compétence" in text


def test_empty_dashboard(signed_in):
    html = signed_in.get("/portfolio/").get_data(as_text=True)
    assert "Claim competences on your experiences" in html
    assert "data:image/svg+xml" not in html


def test_titles_in_another_language_than_the_page_are_marked_with_it(signed_in, frameworks, mission, db_session):
    """A competence without an English title shows its French one, tagged lang="fr" for screen readers: in the
    chooser's list, in the search results and in the experience's panel (WCAG 3.1.2)."""
    node = frameworks.node("SI.1.1")
    french = node.title["fr"]
    node.title = {"fr": french}
    db_session.flush()
    chooser = signed_in.get(f"/portfolio/experiences/{mission.id}/claims/new").get_data(as_text=True)
    assert re.search(rf'<option lang="fr"[^>]* value="{node.id}">', chooser)
    word = french.split()[-1]
    found = signed_in.get(f"/portfolio/experiences/{mission.id}/claims/new?q={word}").get_data(as_text=True)
    assert f'<span lang="fr">{html_module.escape(french, quote=False)}</span>' in found
    assert post_claim(signed_in, mission, node, level="2").status_code == 302
    panel = signed_in.get(f"/experiences/{mission.id}").get_data(as_text=True)
    assert f'SI.1.1 — <span lang="fr">{html_module.escape(french, quote=False)}</span>' in panel
