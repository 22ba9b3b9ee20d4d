"""The host referent's single-use link: request, language, confirmation, the same 404 for unknown and tampered
tokens, and an explanation (in the request's language) for a used or expired one."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from app.core.audit import AuditEvent
from app.core.db import utcnow
from app.extensions import db
from app.validation.models import ReferentRequest
from tests.translated import in_template, in_template_up_to

LINK = re.compile(r"http://acquis\.example/validation/referent/([A-Za-z0-9_-]+)")
ANSWERED_ON = (
    "You answered this request on %(date)s. Your answer has been passed on to the volunteer's organisation: there "
    "is nothing more to do."
)
TELL = "If something in your answer was wrong, tell %(name)s: their organisation can ask you again."
NEW_LINK = "If you still wish to confirm the mission, ask %(name)s to send you a new link."


def _normalised(html: str) -> str:
    return re.sub(r'value="[^"]*"', 'value=""', html)


def request_referent(client, login, w, language="es", claims=None):
    login(client, w.volunteer)
    response = client.post(
        f"/validation/experiences/{w.mission.id}/referent",
        data={
            "name": "Rosa Quispe",
            "email": "rosa@agua.example",
            "organisation_name": "Agua Viva",
            "role": "Coordinator",
            "language": language,
            "claim_ids": claims if claims is not None else [w.claims[0].id, w.claims[1].id],
        },
    )
    assert response.status_code == 302, response.text[:500]
    db.session.commit()


def test_referent_gets_a_link_in_their_language(world, client, login, outbox):
    request_referent(client, login, world)
    (mail,) = [m for m in outbox if m.recipient == "rosa@agua.example"]
    assert mail.language == "es"
    token = LINK.search(mail.body).group(1)
    assert len(token) >= 43  # 256 bits, URL-safe
    stored = db.session.scalar(sa.select(ReferentRequest))
    assert stored.token_hash != token and len(stored.token_hash) == 64
    assert stored.expires_at - utcnow() > timedelta(days=29)
    guest = client.application.test_client()
    page = guest.get(f"/validation/referent/{token}")
    assert page.status_code == 200 and '<html lang="es">' in page.text
    assert "Water project coordinator" in page.text and "C1" in page.text and "C3" not in page.text
    assert page.headers["Referrer-Policy"] == "no-referrer"
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "referent.requested"))
    assert token not in str(event.data)


def test_referent_confirms_once_and_it_shows_beside_the_ngo(world, client, login, outbox):
    request_referent(client, login, world)
    token = LINK.search(outbox[-1].body).group(1)
    guest = client.application.test_client()
    response = guest.post(
        f"/validation/referent/{token}",
        data={"facts_confirmed": "y", "claim_ids": [world.claims[0].id], "comment": "Great work <3"},
    )
    # The referent's page is in the language chosen for them (Spanish).
    done = "Your answer has been recorded and shown to %(name)s. You can close this page."
    assert response.status_code == 200 and in_template("es", done, name="Valentine") in response.text
    stored = db.session.scalar(sa.select(ReferentRequest))
    assert stored.facts_confirmed is True and stored.confirmed_claim_ids == [world.claims[0].id]
    assert db.session.scalar(sa.select(AuditEvent.action).where(AuditEvent.action == "referent.confirmed"))
    # Used: 410 and what happened, in the request's language (Spanish), for GET and POST; nothing recorded again.
    again = guest.get(f"/validation/referent/{token}")
    assert again.status_code == 410 and '<html lang="es">' in again.text
    assert in_template("es", "You have already answered") in again.text
    assert in_template_up_to("es", ANSWERED_ON, "date") in again.text
    assert in_template("es", TELL, name="Valentine") in again.text
    assert again.headers["Referrer-Policy"] == "no-referrer"
    resent = guest.post(f"/validation/referent/{token}", data={"facts_confirmed": "y", "comment": "again"})
    assert resent.status_code == 410 and in_template("es", "You have already answered") in resent.text
    assert db.session.scalar(sa.select(ReferentRequest.comment)) == "Great work <3"
    experience = client.get(f"/experiences/{world.mission.id}").text
    assert "Rosa Quispe (Coordinator, Agua Viva) answered" in experience and "Great work &lt;3" in experience
    # Composed sentences keep their spaces (trim_blocks eats line breaks) and dates go through Babel, never ISO.
    assert re.search(r"answered on \w{3} \d{1,2}, \d{4}\. Facts confirmed\. <q", experience), experience
    assert re.search(r"\d{4} \(\d+ days\)", experience)
    assert not re.search(r"\b\d{4}-\d{2}-\d{2}\b", experience.split("<main", 1)[1])
    claim_page = client.get(f"/portfolio/claims/{world.claims[0].id}").text
    assert "This competence was confirmed." in claim_page
    assert "This competence was not confirmed." in client.get(f"/portfolio/claims/{world.claims[1].id}").text
    assert "answered your confirmation request" in client.get("/validation/notifications").text


def test_unknown_and_tampered_tokens_are_the_same_404_an_expired_one_is_explained(world, client, login, outbox):
    request_referent(client, login, world, language="fr")
    token = LINK.search(outbox[-1].body).group(1)
    guest = client.application.test_client()
    unknown = guest.get("/validation/referent/" + "A" * 43)
    assert unknown.status_code == 404
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    responses = [guest.get(f"/validation/referent/{tampered}"), guest.get("/validation/referent/x")]
    assert all(r.status_code == 404 for r in responses)
    # Identical pages but for the per-URL "next" of the language switcher and the CSRF token: no oracle.
    assert {_normalised(r.text) for r in responses} == {_normalised(unknown.text)}
    stored = db.session.scalar(sa.select(ReferentRequest))
    stored.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    expired = [guest.get(f"/validation/referent/{token}")]
    expired.append(guest.post(f"/validation/referent/{token}", data={"facts_confirmed": "y"}))
    for response in expired:
        assert response.status_code == 410 and '<html lang="fr">' in response.text
        assert in_template("fr", "This confirmation link has expired") in response.text
        assert in_template("fr", NEW_LINK, name="Valentine") in response.text
    assert stored.confirmed_at is None


def test_referent_only_for_own_missions(world, client, login, create_user):
    from datetime import date

    from app.experiences import operations as experience_ops
    from app.experiences.models import ExperienceKind

    training = experience_ops.create_experience(
        world.volunteer,
        experience_ops.ExperienceData(kind=ExperienceKind.TRAINING, title="Pre-departure", start_date=date(2023, 1, 1)),
    )
    login(client, world.volunteer)
    assert client.get(f"/validation/experiences/{training.id}/referent").status_code == 404
    other = client.application.test_client()
    login(other, world.trainer)
    assert other.get(f"/validation/experiences/{world.mission.id}/referent").status_code == 404


def test_referent_form_refuses_bad_input(world, client, login):
    login(client, world.volunteer)
    response = client.post(
        f"/validation/experiences/{world.mission.id}/referent",
        data={"name": "<b>x</b>", "email": "not-an-address", "language": "de"},
    )
    assert response.status_code == 422
    assert db.session.scalar(sa.select(sa.func.count(ReferentRequest.id))) == 0


def test_referent_events_belong_to_the_sending_ngo_audit_trail(world, client, login, outbox):
    world.mission.sending_organisation_id = world.ngo.id
    db.session.commit()
    request_referent(client, login, world)
    token = LINK.search(outbox[-1].body).group(1)
    guest = client.application.test_client()
    assert guest.post(f"/validation/referent/{token}", data={"facts_confirmed": "y"}).status_code == 200
    events = db.session.execute(
        sa.select(AuditEvent.action, AuditEvent.organisation_id).where(AuditEvent.action.like("referent.%"))
    ).all()
    assert sorted(events) == [("referent.confirmed", world.ngo.id), ("referent.requested", world.ngo.id)]
