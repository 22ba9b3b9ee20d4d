"""Referent requests: the referent is never the volunteer, requests are rate-limited per volunteer, and the referent
reads (escaped) the level and narrative of what they confirm, even on an older request without narrative."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app.core.errors import UserError
from app.extensions import db
from app.validation import operations as ops
from app.validation.models import ReferentRequest

LINK = re.compile(r"http://acquis\.example/validation/referent/([A-Za-z0-9_-]+)")


# --- The referent is someone else; the request is rate-limited -------------------------------------------


@pytest.mark.parametrize("address", ["vol@example.org", " VOL@Example.org ", "vol+referent@example.org"])
def test_the_volunteer_cannot_be_their_own_referent(world, client, login, outbox, address):
    login(client, world.volunteer)
    response = client.post(
        f"/validation/experiences/{world.mission.id}/referent",
        data={"name": "Myself", "email": address, "language": "en", "claim_ids": [world.claims[0].id]},
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 422
    assert 'id="email-error"' in response.text or "email-error" in response.text
    assert "This is your own e-mail address" in response.text
    assert db.session.scalar(sa.select(sa.func.count(ReferentRequest.id))) == 0
    assert outbox == []
    with pytest.raises(UserError) as refused:
        ops.request_referent(world.volunteer, world.mission, ops.ReferentData(name="Me", email=address))
    assert refused.value.field == "email"


def test_referent_requests_are_rate_limited(limited_app):
    client = limited_app.test_client()
    url = "/validation/experiences/1/referent"
    for attempt in range(5):
        assert client.post(url, data={}).status_code == 302, attempt  # to the login page
    assert client.post(url, data={}).status_code == 429
    assert client.get(url).status_code == 302  # reading is not limited
    other = client.post(url, data={}, environ_base={"REMOTE_ADDR": "198.51.100.20"})
    assert other.status_code == 302


def test_the_rate_limit_key_is_the_volunteer(world, app, login):
    from app.validation.views import _sender_key

    client = app.test_client()
    login(client, world.volunteer)
    with client:
        client.get("/")
        assert _sender_key() == f"user:{world.volunteer.id}"


# --- The referent reads what they confirm ---------------------------------------------------------------


def test_the_referent_page_shows_level_and_narrative_escaped(world, client, login, outbox):
    claim = world.claims[0]
    claim.level_rank = 3
    claim.situation = "In the <b>village</b> & its committee"
    claim.actions = "<script>alert(1)</script> dug the well"
    db.session.flush()
    login(client, world.volunteer)
    response = client.post(
        f"/validation/experiences/{world.mission.id}/referent",
        data={"name": "Rosa", "email": "rosa@agua.example", "language": "en", "claim_ids": [claim.id]},
    )
    assert response.status_code == 302
    db.session.commit()
    (mail,) = [m for m in outbox if m.recipient == "rosa@agua.example"]
    token = LINK.search(mail.body).group(1)
    page = client.application.test_client().get(f"/validation/referent/{token}")
    assert page.status_code == 200
    stored = db.session.scalar(sa.select(ReferentRequest))
    snap = stored.snapshot["claims"][0]
    assert snap["narrative"]["actions"] == claim.actions and snap["level"] == claim.level_rank
    html = page.text
    assert "Level claimed" in html
    assert f"{claim.level_rank} — {snap['level_label']['en']}" in html
    assert "Situation" in html and "Actions" in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; dug the well" in html
    assert "In the &lt;b&gt;village&lt;/b&gt; &amp; its committee" in html


def test_an_older_request_without_narrative_still_opens(world, client):
    request, token = ops.request_referent(
        world.volunteer,
        world.mission,
        ops.ReferentData(name="Rosa", email="rosa@agua.example", language="en", claim_ids=(world.claims[0].id,)),
    )
    snapshot = dict(request.snapshot)
    snapshot["claims"] = [
        {k: v for k, v in c.items() if k not in ("narrative", "level_label")} for c in snapshot["claims"]
    ]
    request.snapshot = snapshot
    db.session.commit()
    page = client.get(f"/validation/referent/{token}")
    assert page.status_code == 200 and "C1" in page.text
