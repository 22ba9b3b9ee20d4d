"""The VAE pages through the test client: create, project page, moves, companion's view and comments, writing a
bloc (with and without the autosave script), the sworn statement, the outcome; expired and revoked companions."""

from __future__ import annotations

from datetime import date, timedelta

TODAY = date.today()


def _signed_in(app, login, user):
    client = app.test_client()
    login(client, user)
    return client


def test_volunteer_creates_a_project_and_moves_it(app, vaeworld, login):
    from app.extensions import db
    from app.vae.models import VaeProject, VaeStatus

    client = _signed_in(app, login, vaeworld.volunteer)
    page = client.get("/vae/new")
    assert page.status_code == 200 and "Test certification" in page.get_data(as_text=True)
    refused = client.post(
        "/vae/new",
        data={
            "framework_id": vaeworld.framework.id,
            "route": "livret1",
            "scope": "some",
            "started_on": TODAY.isoformat(),
        },
    )
    assert refused.status_code == 422 and "Choose at least one bloc" in refused.get_data(as_text=True)
    response = client.post(
        "/vae/new",
        data={
            "framework_id": vaeworld.framework.id,
            "route": "livret1",
            "scope": "some",
            "bloc_codes": ["B2"],
            "started_on": TODAY.isoformat(),
        },
    )
    assert response.status_code == 302
    project = db.session.get(VaeProject, int(response.headers["Location"].rstrip("/").split("/")[-1]))
    assert project.bloc_codes == ["B2"] and project.owner_id == vaeworld.volunteer.id
    page = client.get(f"/vae/{project.id}").get_data(as_text=True)
    assert "Gap analysis" in page and "<svg" in page and "B2.C1" not in page  # the bloc table, not competences
    moved = client.post(
        f"/vae/{project.id}/status",
        data={"status": "feasibility_sent", "on": TODAY.isoformat(), "expected": "started"},
    )
    assert moved.status_code == 302 and project.status == VaeStatus.FEASIBILITY_SENT
    stale = client.post(
        f"/vae/{project.id}/status", data={"status": "abandoned", "on": TODAY.isoformat(), "expected": "started"}
    )
    assert stale.status_code == 409 and project.status == VaeStatus.FEASIBILITY_SENT
    future = client.post(
        f"/vae/{project.id}/status",
        data={"status": "admissible", "on": (TODAY + timedelta(days=3)).isoformat(), "expected": "feasibility_sent"},
    )
    assert future.status_code == 422 and "cannot be in the future" in future.get_data(as_text=True)
    assert "/vae/" in client.get("/vae/").get_data(as_text=True)


def test_companion_reads_comments_and_is_logged(app, vaeworld, make_project, login):
    from app.sharing import operations as share_ops
    from app.vae import operations as ops

    project = make_project()
    owner = _signed_in(app, login, vaeworld.volunteer)
    assert (
        owner.post(f"/vae/{project.id}/companions", data={"email": vaeworld.adviser.email, "days": 60}).status_code
        == 302
    )
    share = project.companions[0]
    adviser = _signed_in(app, login, vaeworld.adviser)
    listing = adviser.get("/vae/companion").get_data(as_text=True)
    assert "Valentine Vae" in listing
    assert adviser.get(f"/vae/{project.id}").status_code == 200
    bloc = adviser.get(f"/vae/{project.id}/blocs/B1")
    assert bloc.status_code == 200 and "data-autosave" not in bloc.get_data(as_text=True)  # read-only
    posted = adviser.post(f"/vae/{project.id}/blocs/B1/comments", data={"body": "Précisez le contexte <b>svp</b>"})
    assert posted.status_code == 302  # plain text is fine; markup is refused by the form
    assert not ops.threads(project).get("B1")
    posted = adviser.post(f"/vae/{project.id}/blocs/B1/comments", data={"body": "Précisez le contexte, svp."})
    thread = ops.threads(project)["B1"][0]
    assert thread.first.author_id == vaeworld.adviser.id
    reply = owner.post(
        f"/vae/{project.id}/blocs/B1/comments", data={"body": "C'est fait.", "parent_id": thread.first.id}
    )
    assert reply.status_code == 302
    assert adviser.post(f"/vae/{project.id}/comments/{thread.first.id}/resolve").status_code == 302
    page = owner.get(f"/vae/{project.id}/blocs/B1").get_data(as_text=True)
    assert "Précisez le contexte, svp." in page and "C&#39;est fait." in page and "Resolved" in page
    # Companions may not write, move or print.
    assert adviser.post(f"/vae/{project.id}/blocs/B1", data={"context": "x"}).status_code == 404
    assert adviser.post(f"/vae/{project.id}/status", data={}).status_code == 404
    log = share_ops.access_log(share)
    assert len(log) == 2 and {row.what for row in log} == {"vae"}  # the project page and the bloc page
    assert all(row.viewer_id == vaeworld.adviser.id for row in log)
    # Revoked: the next click is refused.
    assert owner.post(f"/vae/{project.id}/companions/{share.id}/end").status_code == 302
    assert adviser.get(f"/vae/{project.id}").status_code == 404
    assert adviser.get(f"/vae/{project.id}/blocs/B1").status_code == 404
    assert "Valentine Vae" not in adviser.get("/vae/companion").get_data(as_text=True)


def test_expired_companion_share_closes_the_project(app, vaeworld, make_project, login):
    from app.core.db import utcnow
    from app.vae import operations as ops

    project = make_project()
    share = ops.invite_companion(project, actor=vaeworld.volunteer, email=vaeworld.adviser.email)
    adviser = _signed_in(app, login, vaeworld.adviser)
    assert adviser.get(f"/vae/{project.id}").status_code == 200
    share.expires_at = utcnow() - timedelta(minutes=1)
    assert adviser.get(f"/vae/{project.id}").status_code == 404
    stranger = _signed_in(app, login, vaeworld.stranger)
    assert stranger.get(f"/vae/{project.id}").status_code == 404


def test_writing_a_bloc_with_and_without_script(app, vaeworld, make_project, login):
    from app.vae import operations as ops

    project = make_project()
    client = _signed_in(app, login, vaeworld.volunteer)
    page = client.get(f"/vae/{project.id}/blocs/B1").get_data(as_text=True)
    assert "data-autosave" in page and "Water project coordinator" in page
    saved = client.post(
        f"/vae/{project.id}/blocs/B1",
        data={
            "context": "Une ONG au Pérou",
            "claim_ids": [vaeworld.claims[0].id],
            "evidence_ids": [vaeworld.evidence.id],
        },
    )
    assert saved.status_code == 302
    auto = client.post(f"/vae/{project.id}/blocs/B1", data={"context": "Une ONG au Pérou, à Cusco", "autosave": "1"})
    assert auto.status_code == 200 and auto.get_json() == {"revision": 2, "words": 6}
    draft = ops.draft_of(project, "B1")
    assert draft.fields["context"] == "Une ONG au Pérou, à Cusco" and draft.claim_ids == []
    page = client.get(f"/vae/{project.id}/blocs/B1").get_data(as_text=True)
    assert "Une ONG au Pérou, à Cusco" in page and "autosaved" in page
    bad = client.post(f"/vae/{project.id}/blocs/B1", data={"context": "x" * 20_001, "autosave": "1"})
    assert bad.status_code == 422 and "context" in bad.get_json()["errors"]


def test_sworn_statement_and_outcome_through_the_pages(app, vaeworld, make_project, login):
    from app.vae.models import VaeStatus
    from tests.vae.conftest import walk

    project = make_project()
    client = _signed_in(app, login, vaeworld.volunteer)
    refused = client.post(f"/vae/{project.id}/sworn", data={"name": "Valentine Vae"})
    assert refused.status_code == 422 and project.sworn_at is None
    assert client.post(f"/vae/{project.id}/sworn", data={"name": "Valentine Vae", "accepted": "y"}).status_code == 302
    assert project.sworn_at is not None
    walk(
        project,
        vaeworld.volunteer,
        (VaeStatus.FEASIBILITY_SENT, TODAY - timedelta(days=30)),
        (VaeStatus.ADMISSIBLE, TODAY - timedelta(days=20)),
        (VaeStatus.VALIDATION_SENT, TODAY - timedelta(days=10)),
        (VaeStatus.JURY_SCHEDULED, TODAY),
    )
    response = client.post(
        f"/vae/{project.id}/outcome",
        data={"outcome": "partial", "decided_on": TODAY.isoformat(), "certifier": "Certificateur", "acquired": ["B1"]},
    )
    assert response.status_code == 302 and project.status == VaeStatus.DECIDED
    following = response.headers["Location"]
    assert following.rstrip("/").split("/")[-1] != str(project.id)  # the next plan: a new project
    assert "Continues" in client.get(following).get_data(as_text=True)
    # The portfolio shows the acquired bloc as a jury's award, not as an NGO validation.
    with app.test_request_context():
        from flask import url_for

        dashboard_url = url_for("claims.dashboard")
    dashboard = client.get(dashboard_url).get_data(as_text=True)
    assert "Blocs de compétences acquired by VAE" in dashboard and "jury of Certificateur" in dashboard


def test_a_platform_admin_imports_an_rncp_certification_from_the_project_form(app, create_user, login):
    """The RNCP open data tables uploaded from the new-project page: a wrong fiche number is refused on its field,
    nothing imported; the right one imports the certification and comes back to the form with it chosen. Other
    users are refused (403), and only platform admins see the way there."""
    import io
    from pathlib import Path

    import sqlalchemy as sa

    from app.extensions import db
    from app.frameworks.models import Framework

    fixtures = Path(__file__).parent.parent / "frameworks" / "fixtures" / "rncp"
    admin = _signed_in(app, login, create_user("vae-admin@example.org", platform_admin=True, totp=True))
    volunteer = _signed_in(app, login, create_user("vae-plain@example.org"))
    assert "/vae/new/rncp" not in volunteer.get("/vae/new").get_data(as_text=True)
    assert volunteer.get("/vae/new/rncp").status_code == 403
    assert "/vae/new/rncp" in admin.get("/vae/new").get_data(as_text=True)
    assert admin.get("/vae/new/rncp").status_code == 200

    def post(client, fiche):
        return client.post(
            "/vae/new/rncp",
            data={
                "standard": (io.BytesIO((fixtures / "standard.csv").read_bytes()), "standard.csv"),
                "blocs": (io.BytesIO((fixtures / "blocs.csv").read_bytes()), "blocs.csv"),
                "fiche": fiche,
            },
            content_type="multipart/form-data",
        )

    assert post(volunteer, "RNCP99901").status_code == 403
    refused = post(admin, "RNCP12345")
    assert refused.status_code == 422 and 'id="fiche-error"' in refused.get_data(as_text=True)
    assert db.session.scalar(sa.select(Framework).where(Framework.slug == "rncp99901")) is None
    response = post(admin, "RNCP99901")
    framework = db.session.scalar(sa.select(Framework).where(Framework.slug == "rncp99901"))
    assert response.status_code == 302 and response.location.endswith(f"/vae/new?framework={framework.id}")
    form = admin.get(response.location).get_data(as_text=True)
    assert f'<option selected value="{framework.id}">' in form or f'value="{framework.id}" selected' in form
    assert "Coordinateur de projets de solidarité internationale (fictif)" in form


def test_the_rncp_import_page_takes_the_large_open_data_tables_and_checks_its_csrf_token(
    app, create_user, login, monkeypatch
):
    """The Blocs table lists every certification's blocs: larger than an ordinary form. The page accepts it, and
    without the global CSRF check it still refuses a post without the form's token."""
    import io
    from pathlib import Path

    import sqlalchemy as sa

    from app.extensions import db
    from app.frameworks.models import Framework

    fixtures = Path(__file__).parent.parent / "frameworks" / "fixtures" / "rncp"
    admin = _signed_in(app, login, create_user("vae-admin2@example.org", platform_admin=True, totp=True))
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)  # signed in first: the login form posts no token
    padding = "".join(f"RNCP1{i:04d};RNCP1{i:04d}BC01;{'x' * 200}\n" for i in range(10_000))
    repeat = app.config["MAX_CONTENT_LENGTH"] // len(padding.encode()) + 1
    blocs = (fixtures / "blocs.csv").read_text() + padding * repeat

    def post(token):
        data = {
            "standard": (io.BytesIO((fixtures / "standard.csv").read_bytes()), "standard.csv"),
            "blocs": (io.BytesIO(blocs.encode()), "blocs.csv"),
            "fiche": "RNCP99901",
        }
        if token:
            data["csrf_token"] = token
        return admin.post("/vae/new/rncp", data=data, content_type="multipart/form-data")

    refused = post(None)
    assert refused.status_code == 422
    assert db.session.scalar(sa.select(Framework).where(Framework.slug == "rncp99901")) is None
    page = admin.get("/vae/new/rncp").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    assert post(token).status_code == 302
    assert db.session.scalar(sa.select(Framework).where(Framework.slug == "rncp99901")) is not None
