"""The NGO admin's invitation page: sent / opened / answered counts, the last sending date, a confirmation before
sending again; invitation links counted as opened without storing who received them."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.survey.models import SurveyInvitation, SurveyInvitationLink
from tests.fixtures.statements import count_statements


@pytest.fixture
def ngo_admin(create_user, create_org, add_member):
    org = create_org("Solidarité Ouest", slug="solidarite-ouest")
    admin = create_user("admin@solidarite.example", name="Ada Admin", locale="en")
    add_member(org, admin, "admin")
    return org, admin


def _volunteers(org, create_user, add_member, n):
    users = [create_user(f"returnee{i}@example.org", locale="en") for i in range(n)]
    for user in users:
        add_member(org, user, "volunteer")
    return users


def _counts(html):
    return {key: re.search(rf'id="{key}">(.*?)</dd>', html, re.S).group(1) for key in ("count-sent", "count-opened")}


def test_first_sending_then_a_confirmation_before_sending_again(
    client, login, ngo_admin, create_user, add_member, outbox
):
    org, admin = ngo_admin
    _volunteers(org, create_user, add_member, 3)
    login(client, admin)
    page = client.get(f"/survey/orgs/{org.slug}/invitations").get_data(as_text=True)
    assert _counts(page) == {"count-sent": "0", "count-opened": "0"} and ">never<" in page
    response = client.post(f"/survey/orgs/{org.slug}/invite")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/orgs/{org.slug}/invitations")
    assert len(outbox) == 3
    page = client.get(f"/survey/orgs/{org.slug}/invitations").get_data(as_text=True)
    assert _counts(page)["count-sent"] == "3" and "Send the invitations again" in page

    # Sending again: a confirmation first, nothing sent until it is given.
    confirm = client.post(f"/survey/orgs/{org.slug}/invite")
    assert confirm.status_code == 200
    text = confirm.get_data(as_text=True)
    assert "Send the invitations again?" in text and "Invitations were last sent on" in text
    assert len(outbox) == 3
    client.post(f"/survey/orgs/{org.slug}/invite", data={"confirm": "1"})
    assert len(outbox) == 6
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SurveyInvitation)) == 2


def test_opened_links_are_counted_once_and_store_no_recipient(
    app, client, login, ngo_admin, create_user, add_member, outbox, questionnaire
):
    org, admin = ngo_admin
    volunteers = _volunteers(org, create_user, add_member, 2)
    login(client, admin)
    client.post(f"/survey/orgs/{org.slug}/invite")
    links = {m.recipient: re.search(r"(/survey/\S+\?i=\S+)", m.body).group(1) for m in outbox}
    reader = app.test_client()
    login(reader, volunteers[0])
    for _ in range(2):
        response = reader.get(links[volunteers[0].email])
        assert response.status_code == 302 and "?i=" not in response.headers["Location"]
    page = client.get(f"/survey/orgs/{org.slug}/invitations").get_data(as_text=True)
    assert _counts(page) == {"count-sent": "2", "count-opened": "1"}
    assert "fewer than 5" in page  # answered: the report's protected figure
    columns = set(SurveyInvitationLink.__table__.columns.keys())
    assert columns == {"token_hash", "invitation_id", "opened_at"}


def test_the_page_runs_a_fixed_number_of_statements(app, login, ngo_admin, create_user, add_member):
    org, admin = ngo_admin
    client = app.test_client()
    login(client, admin)
    url = f"/survey/orgs/{org.slug}/invitations"
    _volunteers(org, create_user, add_member, 1)
    client.post(f"/survey/orgs/{org.slug}/invite")
    client.get(url)
    with count_statements() as small:
        client.get(url)
    for i in range(5):
        add_member(org, create_user(f"late{i}@example.org"), "volunteer")
    client.post(f"/survey/orgs/{org.slug}/invite", data={"confirm": "1"})
    with count_statements() as large:
        client.get(url)
    assert len(large) == len(small)
