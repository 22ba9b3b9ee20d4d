"""The VAE pages run the same number of SQL statements with 1 and with 6 missions and claims, comments, draft
revisions, companions, timeline events and accompanied candidates (no N+1 queries)."""

from __future__ import annotations

import types
from datetime import date, timedelta

import pytest

from tests.fixtures.statements import statements_for

SMALL, LARGE = 1, 6


@pytest.fixture
def data(db_session, fast_hashing, create_user, create_org, add_member):
    from app.vae import operations as ops
    from app.vae.models import VaeRoute
    from tests import cast as worlds
    from tests.vae.conftest import make_certification

    d = types.SimpleNamespace(missions=0, comments=0, companions=[], candidates=[])
    d.ngo = create_org("Solidarité Monde")
    d.trainer = create_user("vae-count-trainer@example.org", name="Théo Trainer", locale="en")
    d.volunteer = create_user("vae-count-vol@example.org", name="Valentine Volunteer", locale="en")
    d.adviser = create_user("vae-count-adviser@example.org", name="Adèle Adviser", adviser=True, locale="en")
    add_member(d.ngo, d.trainer, "trainer")
    add_member(d.ngo, d.volunteer, "volunteer")
    d.version, d.nodes = worlds.make_framework(db_session, slug="vae-count-fw")
    framework, _nodes = make_certification(db_session, d.nodes)

    def project_of(owner):
        return ops.create_project(
            owner, ops.ProjectData(framework.id, VaeRoute.FRANCE_VAE, date.today() - timedelta(days=100))
        )

    d.project = project_of(d.volunteer)
    ops.invite_companion(d.project, actor=d.volunteer, email=d.adviser.email)

    def grow(n):
        while d.missions < n:
            mission = worlds.create_mission(
                d.volunteer,
                title=f"Mission {d.missions}",
                start_date=date(2010 + d.missions, 1, 1),
                end_date=date(2010 + d.missions, 6, 30),
                sending_organisation_id=d.ngo.id,
            )
            claims = worlds.create_claims(d.volunteer, mission, d.nodes[: 1 + d.missions % 3])
            worlds.validate_everything(worlds.submit_claims(d.volunteer, mission, d.ngo, claims), d.trainer)
            ops.save_draft(
                d.project,
                "B1",
                ops.DraftData(
                    fields={"context": f"Contexte {d.missions}"},
                    claim_ids=tuple(c.id for c in claims),
                    evidence_ids=(worlds.store_evidence(d.volunteer, b"%PDF-1.4").id,),
                ),
                actor=d.volunteer,
            )
            d.missions += 1
        while d.comments < n:
            thread = ops.add_comment(d.project, actor=d.adviser, body=f"Question {d.comments}", bloc_code="B1")
            ops.add_comment(d.project, actor=d.volunteer, body="Réponse", parent=thread)
            d.comments += 1
        while len(d.companions) < n:
            other = create_user(f"vae-count-companion{len(d.companions)}@example.org", name="Another Adviser")
            d.companions.append(ops.invite_companion(d.project, actor=d.volunteer, email=other.email))
        while len(d.candidates) < n:
            candidate = create_user(f"vae-count-candidate{len(d.candidates)}@example.org", name="Candidate")
            project = project_of(candidate)
            ops.invite_companion(project, actor=candidate, email=d.adviser.email)
            d.candidates.append(project)

    d.grow = grow
    return d


PAGES = {
    "index": ("volunteer", lambda d: "/vae/"),
    "project-owner": ("volunteer", lambda d: f"/vae/{d.project.id}"),
    "project-companion": ("adviser", lambda d: f"/vae/{d.project.id}"),
    "bloc-owner": ("volunteer", lambda d: f"/vae/{d.project.id}/blocs/B1"),
    "bloc-companion": ("adviser", lambda d: f"/vae/{d.project.id}/blocs/B1"),
    "companion-list": ("adviser", lambda d: "/vae/companion"),
}


@pytest.mark.parametrize("page", sorted(PAGES))
def test_page_statement_count_does_not_grow(app, login, data, page):
    actor, url_for_page = PAGES[page]
    client = app.test_client()
    data.grow(SMALL)
    login(client, getattr(data, actor))
    url = url_for_page(data)
    statements_for(client, url)  # warm up (the companion's binding is not measured)
    small = statements_for(client, url)
    data.grow(LARGE)
    statements_for(client, url)
    large = statements_for(client, url)
    extra = "\n".join(large[len(small) :]) if len(large) > len(small) else ""
    assert len(large) == len(small), f"{len(small)} statements with {SMALL}, {len(large)} with {LARGE}:\n{extra}"


def test_the_data_really_grows(app, login, data):
    data.grow(LARGE)
    client = app.test_client()
    login(client, data.volunteer)
    bloc = client.get(f"/vae/{data.project.id}/blocs/B1").get_data(as_text=True)
    assert all(f"Question {i}" in bloc for i in range(LARGE)) and all(f"Mission {i}" in bloc for i in range(LARGE))
    project = client.get(f"/vae/{data.project.id}").get_data(as_text=True)
    assert project.count("vae-count-companion") == 2 * LARGE  # the companions list and the timeline
    adviser = app.test_client()
    login(adviser, data.adviser)
    assert adviser.get("/vae/companion").get_data(as_text=True).count("/vae/") >= LARGE + 1
