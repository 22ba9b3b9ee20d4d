"""Shares: named advisers and links, expiry, revocation on open pages and downloads, tokens, access log, notes."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from app.core.db import utcnow
from app.sharing.models import AdviserNote, Share, ShareAccess, ShareKind
from tests.translated import in_template


def _share(client, login, world, **data):
    login(client, world.volunteer)
    form = {
        "kind": "adviser",
        "adviser_email": world.adviser.email,
        "days": "30",
        "scope": "all",
        "include_evidence": "y",
    }
    form.update(data)
    return client.post("/sharing/", data=form)


def _link_share(client, login, world, **data):
    response = _share(client, login, world, kind="link", adviser_email="", **data)
    assert response.status_code == 200, response.data[:500]
    link = re.search(r'value="(http://acquis\.example/s/[^"]+)"', response.get_data(as_text=True)).group(1)
    return link.removeprefix("http://acquis.example"), link.rsplit("/", 1)[1]


def test_adviser_share_is_mailed_listed_and_readable(app, client, login, world, outbox, db_session):
    response = _share(client, login, world)
    assert response.status_code == 302
    share = db_session.scalar(sa.select(Share))
    assert share.kind == ShareKind.ADVISER and share.token_hash is None
    assert (share.expires_at - utcnow()).days in (29, 30)
    assert outbox and outbox[-1].recipient == world.adviser.email and "/sharing/with-me" in outbox[-1].body

    adviser = app.test_client()
    login(adviser, world.adviser)
    page = adviser.get("/sharing/with-me").get_data(as_text=True)
    assert "Valentine Volunteer" in page
    portfolio = adviser.get(f"/shared/{share.id}")
    assert portfolio.status_code == 200
    assert "no-store" in portfolio.headers["Cache-Control"]
    text = portfolio.get_data(as_text=True)
    assert "Water project coordinator" in text and "Validated" in text
    experience = adviser.get(f"/shared/{share.id}/experiences/{world.mission.id}")
    assert "I organised the C1 work" in experience.get_data(as_text=True)
    evidence = adviser.get(f"/shared/{share.id}/evidence/{world.pdf.id}/file")
    assert evidence.status_code == 200 and evidence.data == world.pdf_bytes
    assert evidence.headers["Content-Security-Policy"].startswith("sandbox")
    assert evidence.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in evidence.headers["Cache-Control"]
    assert share.adviser_id == world.adviser.id  # bound on first access

    log = client.get(f"/sharing/{share.id}").get_data(as_text=True)
    assert log.count("Adèle Adviser") == 3
    assert "Final report" in log and "Water project coordinator" in log
    whats = db_session.scalars(sa.select(ShareAccess.what).order_by(ShareAccess.id)).all()
    assert whats == ["portfolio", "experience", "evidence"]


def test_other_people_get_the_same_404(app, client, login, world, db_session):
    _share(client, login, world)
    share = db_session.scalar(sa.select(Share))
    for user in (None, world.stranger, world.trainer, world.volunteer):
        other = app.test_client()
        if user is not None:
            login(other, user)
        assert other.get(f"/shared/{share.id}").status_code == 404
        assert other.get(f"/shared/{share.id}/evidence/{world.pdf.id}/file").status_code == 404
    stranger = app.test_client()
    login(stranger, world.stranger)
    assert stranger.get(f"/sharing/{share.id}").status_code == 404
    assert stranger.post(f"/sharing/{share.id}/revoke").status_code == 404


def test_unverified_account_with_the_address_cannot_read(client, login, world, create_user, db_session):
    login(client, world.volunteer)
    client.post("/sharing/", data={"kind": "adviser", "adviser_email": "new@example.org", "days": "30", "scope": "all"})
    share = db_session.scalar(sa.select(Share))
    newcomer = create_user("new@example.org", verified=False)
    assert not share.is_adviser(newcomer)
    newcomer.email_verified_at = utcnow()
    assert share.is_adviser(newcomer)


def test_duration_is_bounded(client, login, world, db_session):
    assert _share(client, login, world, days="366").status_code == 422
    assert _share(client, login, world, days="0").status_code == 422
    assert _share(client, login, world, days="365").status_code == 302
    assert db_session.scalar(sa.select(sa.func.count(Share.id))) == 1


def test_link_token_is_exchanged_and_never_seen_again(app, client, login, world, db_session):
    path, token = _link_share(client, login, world)
    share = db_session.scalar(sa.select(Share))
    assert len(token) >= 43  # 32 random bytes in base64url: 256 bits
    assert share.token_hash != token and token not in str(share.token_hash)

    visitor = app.test_client()
    response = visitor.get(path)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/shared/{share.id}"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    seen = []
    page = visitor.get(response.headers["Location"])
    assert page.status_code == 200
    seen.append(page.get_data(as_text=True))
    for href in re.findall(r'href="([^"]+)"', seen[0]):
        if href.startswith("/shared/"):
            follow = visitor.get(href)
            assert follow.status_code == 200, href
            assert token not in (follow.headers.get("Location") or "")
            seen.append(href)
    assert not any(token in text for text in seen)
    assert "My private notes" not in seen[0]  # link visitors have no notes
    # the grant is bound to the browser: another one without the link gets the 404
    assert app.test_client().get(f"/shared/{share.id}").status_code == 404
    log = client.get(f"/sharing/{share.id}").get_data(as_text=True)
    assert "Link visitor" in log
    assert token not in log and token not in client.get("/sharing/").get_data(as_text=True)  # shown once only


ASK_AGAIN = "If you still need it, ask %(name)s to share their portfolio with you again."


def test_unknown_links_give_the_404_expired_and_revoked_ones_explain(app, client, login, world, db_session):
    path, token = _link_share(client, login, world)
    share = db_session.scalar(sa.select(Share))
    unknown = app.test_client().get("/s/" + "x" * len(token))
    assert unknown.status_code == 404
    assert in_template("fr", "This share has expired") not in unknown.text

    share.expires_at = utcnow() - timedelta(seconds=1)
    db_session.commit()
    expired = app.test_client().get(path)
    assert expired.status_code == 410 and in_template("fr", "This share has expired") in expired.text
    assert in_template("fr", ASK_AGAIN, name="Valentine Volunteer") in expired.text
    assert expired.headers["Referrer-Policy"] == "no-referrer"

    share.expires_at = utcnow() + timedelta(days=1)
    share.revoked_at = utcnow()
    db_session.commit()
    revoked = app.test_client().get(path)
    assert revoked.status_code == 410 and in_template("fr", "This share has ended") in revoked.text
    assert "/shared/" not in revoked.headers.get("Location", "")  # no grant: nothing of the portfolio is opened


def test_expiry_closes_open_pages_and_files(app, client, login, world, db_session):
    path, _token = _link_share(client, login, world)
    share = db_session.scalar(sa.select(Share))
    visitor = app.test_client()
    visitor.get(path)
    assert visitor.get(f"/shared/{share.id}/evidence/{world.pdf.id}/file").status_code == 200
    share.expires_at = utcnow() - timedelta(seconds=1)
    db_session.commit()
    # The holder of the link is told it expired; the file is closed all the same.
    closed = visitor.get(f"/shared/{share.id}")
    assert closed.status_code == 410 and in_template("fr", "This share has expired") in closed.text
    assert "Water project coordinator" not in closed.text
    file = visitor.get(f"/shared/{share.id}/evidence/{world.pdf.id}/file")
    assert file.status_code == 410 and file.mimetype == "text/html"
    # Another browser, without the grant, learns nothing: the 404.
    assert app.test_client().get(f"/shared/{share.id}").status_code == 404


def test_revocation_takes_effect_on_the_next_request(app, client, login, world, db_session):
    _share(client, login, world)
    share = db_session.scalar(sa.select(Share))
    adviser = app.test_client()
    login(adviser, world.adviser)
    assert adviser.get(f"/shared/{share.id}").status_code == 200  # the page is open
    assert client.post(f"/sharing/{share.id}/revoke").status_code == 302
    assert share.revoked_at is not None
    # The adviser is told the share ended (and by whom); nothing of the portfolio is shown or accepted.
    ended = adviser.get(f"/shared/{share.id}/experiences/{world.mission.id}")
    assert ended.status_code == 410 and '<html lang="en">' in ended.text  # the adviser's language
    assert in_template("en", "This share has ended") in ended.text
    assert in_template("en", ASK_AGAIN, name="Valentine Volunteer") in ended.text
    assert "Water project coordinator" not in ended.text
    assert adviser.get(f"/shared/{share.id}/evidence/{world.pdf.id}/file").status_code == 410
    assert adviser.post(f"/shared/{share.id}/notes", data={"body": "x"}).status_code == 410
    assert "Valentine" not in adviser.get("/sharing/with-me").get_data(as_text=True)
    # Anyone else, signed in or not, still gets the 404.
    assert app.test_client().get(f"/shared/{share.id}").status_code == 404


def test_selected_experiences_only(app, client, login, world, db_session):
    response = _share(client, login, world, scope="selection", experience_ids=str(world.training.id))
    assert response.status_code == 302
    share = db_session.scalar(sa.select(Share))
    adviser = app.test_client()
    login(adviser, world.adviser)
    page = adviser.get(f"/shared/{share.id}").get_data(as_text=True)
    assert "Pre-departure week" in page and "Water project coordinator" not in page
    assert adviser.get(f"/shared/{share.id}/experiences/{world.mission.id}").status_code == 404
    assert adviser.get(f"/shared/{share.id}/evidence/{world.pdf.id}/file").status_code == 404


def test_evidence_can_be_left_out(app, client, login, world, db_session):
    _share(client, login, world, include_evidence="")
    share = db_session.scalar(sa.select(Share))
    adviser = app.test_client()
    login(adviser, world.adviser)
    assert "Final report" not in adviser.get(f"/shared/{share.id}/experiences/{world.mission.id}").get_data(
        as_text=True
    )
    assert adviser.get(f"/shared/{share.id}/evidence/{world.pdf.id}/file").status_code == 404


def test_selection_of_someone_elses_experience_is_refused(client, login, world, create_user, db_session):
    from datetime import date

    from app.experiences import operations as experience_ops
    from app.experiences.models import ExperienceKind

    foreign = experience_ops.create_experience(
        world.stranger,
        experience_ops.ExperienceData(kind=ExperienceKind.OTHER, title="Not yours", start_date=date(2020, 1, 1)),
    )
    response = _share(client, login, world, scope="selection", experience_ids=str(foreign.id))
    assert response.status_code == 422
    assert db_session.scalar(sa.select(sa.func.count(Share.id))) == 0


def test_adviser_notes_are_private(app, client, login, world, create_user, db_session):
    _share(client, login, world)
    share = db_session.scalar(sa.select(Share))
    adviser = app.test_client()
    login(adviser, world.adviser)
    response = adviser.post(f"/shared/{share.id}/notes", data={"body": "Strong project management; suggest VAE."})
    assert response.status_code == 302
    assert "Strong project management" in adviser.get(f"/shared/{share.id}").get_data(as_text=True)
    # the volunteer sees neither the note on the share page nor anywhere in their pages
    for url in (f"/sharing/{share.id}", "/sharing/", "/"):
        assert "Strong project management" not in client.get(url).get_data(as_text=True)
    # a second adviser with their own share sees only their own (empty) notes
    second = create_user("second@example.org", name="Second Adviser", adviser=True)
    _share(client, login, world, adviser_email=second.email)
    other_share = db_session.scalar(sa.select(Share).where(Share.adviser_email == second.email))
    other = app.test_client()
    login(other, second)
    assert "Strong project management" not in other.get(f"/shared/{other_share.id}").get_data(as_text=True)
    assert other.post(f"/shared/{share.id}/notes", data={"body": "hijack"}).status_code == 404
    notes = db_session.scalars(sa.select(AdviserNote)).all()
    assert [(n.adviser_id, n.body) for n in notes] == [(world.adviser.id, "Strong project management; suggest VAE.")]


def test_link_visitor_cannot_write_notes(app, client, login, world, db_session):
    path, _token = _link_share(client, login, world)
    share = db_session.scalar(sa.select(Share))
    visitor = app.test_client()
    visitor.get(path)
    assert visitor.post(f"/shared/{share.id}/notes", data={"body": "x"}).status_code == 404


def test_documents_through_a_share_and_the_documents_grant(app, client, login, world, db_session):
    from tests.cast import issue_stand_in_document

    document = issue_stand_in_document(world)
    _share(client, login, world, include_documents="y")
    share = db_session.scalar(sa.select(Share))
    adviser = app.test_client()
    login(adviser, world.adviser)
    page = adviser.get(f"/shared/{share.id}").get_data(as_text=True)
    assert f"/shared/{share.id}/documents/{document.id}" in page
    response = adviser.get(f"/shared/{share.id}/documents/{document.id}")
    assert response.status_code == 200 and response.data == b"%PDF-1.7 dossier stand-in"
    assert response.headers["Content-Security-Policy"].startswith("sandbox")
    # the documents package's own download, through the adviser grant
    assert adviser.get(f"/documents/{document.id}/download").status_code == 200
    assert "Document" in client.get(f"/sharing/{share.id}").get_data(as_text=True)
    client.post(f"/sharing/{share.id}/revoke")
    ended = adviser.get(f"/shared/{share.id}/documents/{document.id}")
    assert ended.status_code == 410 and ended.mimetype == "text/html"  # the explanation, not the PDF
    assert adviser.get(f"/documents/{document.id}/download").status_code == 404


def test_documents_left_out_of_a_share(app, client, login, world, db_session):
    from tests.cast import issue_stand_in_document

    document = issue_stand_in_document(world)
    _share(client, login, world)  # include_documents unchecked
    share = db_session.scalar(sa.select(Share))
    adviser = app.test_client()
    login(adviser, world.adviser)
    assert adviser.get(f"/shared/{share.id}/documents/{document.id}").status_code == 404
    assert adviser.get(f"/documents/{document.id}/download").status_code == 404


def test_competence_titles_in_the_advisers_language_or_marked_fallbacks(app, client, login, world, db_session):
    """The shared portfolio names each competence in the adviser's language; a title missing in it falls back to
    another language, marked as such (``lang`` and the language in brackets), and an empty one too."""
    assert _share(client, login, world).status_code == 302
    share = db_session.scalar(sa.select(Share))
    first, second = world.nodes[0], world.nodes[1]
    second.title = {"fr": "Gérer un budget <de projet>", "en": ""}
    db_session.flush()
    adviser = app.test_client()
    login(adviser, world.adviser)
    page = adviser.get(f"/shared/{share.id}").get_data(as_text=True)
    assert '<html lang="en">' in page
    assert f"{first.code} — Competence {first.code}\n" in page
    fallback = '<span lang="fr">Gérer un budget &lt;de projet&gt;</span> <span class="lang-fallback">[fr]</span>'
    assert f"{second.code} — {fallback}" in page
