"""Platform administration: organisations and users."""

from __future__ import annotations

import html
import re

import pytest
import sqlalchemy as sa

from app.core.audit import AuditEvent
from app.organisations.models import Organisation, OrganisationKind
from tests.fixtures.app import TEST_PASSWORD


@pytest.fixture
def platform_admin(create_user):
    return create_user("root@example.org", name="Agnès Admin", platform_admin=True, totp=True, locale="en")


@pytest.fixture
def admin_client(app, login, platform_admin):
    client = app.test_client()
    login(client, platform_admin)
    return client


def _text(response) -> str:
    return response.get_data(as_text=True)


def _field_error(page: str, field_id: str) -> str:
    """The error message rendered next to a field (empty when there is none)."""
    match = re.search(rf'<p class="error-message" id="{field_id}-error">(.*?)</p>', page, re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", match.group(1))).strip() if match else ""


def _organisation_count(db_session) -> int:
    return db_session.scalar(sa.select(sa.func.count(Organisation.id)))


VALID_ORG = {
    "name": "Terre Solidaire",
    "kind": "sending_ngo",
    "country": "FR",
    "description": "Missions de VSI.",
    "accepts_join_requests": "y",
}


# --- Organisations ------------------------------------------------------------------------------------------


def test_admin_creates_an_organisation(admin_client, db_session, platform_admin):
    form = admin_client.get("/admin/organisations/new")
    assert form.status_code == 200
    assert re.search(r'<option (selected )?value="FR"( selected)?', _text(form)).group(0) != '<option value="FR"'
    response = admin_client.post(
        "/admin/organisations/new", data={**VALID_ORG, "country": "PE", "kind": "host_partner"}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/organisations/terre-solidaire/members"
    organisation = db_session.scalar(sa.select(Organisation).where(Organisation.slug == "terre-solidaire"))
    assert organisation.name == "Terre Solidaire"
    assert organisation.kind == OrganisationKind.HOST_PARTNER
    assert organisation.country == "PE"
    assert organisation.accepts_join_requests is True
    event = db_session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "organisation.created"))
    assert event.actor_id == platform_admin.id
    assert "Terre Solidaire" in _text(admin_client.get("/admin/organisations"))


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"country": "XX"}, "country", "Please choose a country from the list."),
        ({"country": ""}, "country", "Please choose a country from the list."),
        ({"name": "N" * 201}, "name", "at most 200 characters"),
        ({"name": "<script>alert(1)</script>"}, "name", "Please remove the characters < and >."),
        ({"name": ""}, "name", "Please enter the organisation's name."),
        ({"name": "!!!"}, "name", "Please enter a name."),
        ({"name": "Bad\x00name"}, "name", "control characters"),
        ({"kind": "secret_service"}, "kind", "Not a valid choice"),
        ({"description": "d" * 2001}, "description", "at most 2000 characters"),
    ],
    ids=[
        "unknown-country",
        "no-country",
        "overlong-name",
        "script-name",
        "empty-name",
        "symbols-name",
        "nul",
        "bad-kind",
        "overlong-description",
    ],
)
def test_invalid_organisation_is_refused_next_to_the_field(admin_client, db_session, changes, field, message):
    before = _organisation_count(db_session)
    response = admin_client.post("/admin/organisations/new", data={**VALID_ORG, **changes})
    assert response.status_code == 422
    page = _text(response)
    assert message in _field_error(page, field)
    assert 'aria-invalid="true"' in page
    assert "<script>alert" not in page
    assert _organisation_count(db_session) == before


def test_admin_edits_an_organisation(admin_client, db_session, create_org):
    organisation = create_org("Ponts du Monde", slug="ponts-du-monde")
    url = f"/admin/organisations/{organisation.id}/edit"
    page = _text(admin_client.get(url))
    assert 'value="Ponts du Monde"' in page
    response = admin_client.post(url, data={**VALID_ORG, "name": "Ponts du Monde (PdM)", "accepts_join_requests": ""})
    assert response.status_code == 302
    db_session.expire_all()
    assert organisation.name == "Ponts du Monde (PdM)"
    assert organisation.slug == "ponts-du-monde"  # links keep working
    assert organisation.accepts_join_requests is False

    response = admin_client.post(url, data={**VALID_ORG, "name": "x" * 201})
    assert response.status_code == 422
    assert "at most 200 characters" in _field_error(_text(response), "name")
    db_session.expire_all()
    assert organisation.name == "Ponts du Monde (PdM)"


# --- Users --------------------------------------------------------------------------------------------------


def test_users_list_and_search(admin_client, create_user, create_org, add_member):
    ngo = create_org("Terre Solidaire")
    add_member(ngo, create_user("camille@example.org", name="Camille Martin"), "volunteer")
    create_user("sam@example.org", name="Sam Okafor")
    page = _text(admin_client.get("/admin/users"))
    assert "camille@example.org" in page
    assert "sam@example.org" in page
    assert "Volunteer · Terre Solidaire" in page

    page = _text(admin_client.get("/admin/users", query_string={"q": "CAMILLE"}))
    assert "camille@example.org" in page
    assert "sam@example.org" not in page
    page = _text(admin_client.get("/admin/users", query_string={"q": "okafor"}))
    assert "sam@example.org" in page
    assert "camille@example.org" not in page


def test_user_search_wildcards_are_literal(admin_client, create_user):
    create_user("plain@example.org", name="Plain Person")
    create_user("under_score@example.org", name="Hundred % Sure")
    page = _text(admin_client.get("/admin/users", query_string={"q": "%"}))
    assert "under_score@example.org" in page
    assert "plain@example.org" not in page
    page = _text(admin_client.get("/admin/users", query_string={"q": "_"}))
    assert "under_score@example.org" in page
    assert "plain@example.org" not in page
    page = _text(admin_client.get("/admin/users", query_string={"q": "no-such-person"}))
    assert "No user matches this search." in page


def test_disabling_a_user_ends_their_session_and_blocks_sign_in(app, admin_client, db_session, login, create_user):
    user = create_user("camille@example.org", name="Camille Martin", locale="en")
    user_client = app.test_client()
    login(user_client, user)
    assert user_client.get("/auth/account").status_code == 200
    version = user.session_version

    response = admin_client.post(f"/admin/users/{user.id}/disable", follow_redirects=True)
    assert "The account was disabled." in _text(response)
    db_session.expire_all()
    assert user.disabled_at is not None
    assert user.session_version == version + 1

    # The open session is rejected on its next request, and signing in again is refused.
    response = user_client.get("/auth/account")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")
    response = app.test_client().post(
        "/auth/login", data={"email": user.email, "password": TEST_PASSWORD}, headers={"Accept-Language": "en"}
    )
    assert response.status_code == 401
    assert "This account has been disabled." in _text(response)
    assert "Disabled" in _text(admin_client.get(f"/admin/users/{user.id}"))

    response = admin_client.post(f"/admin/users/{user.id}/enable", follow_redirects=True)
    assert "The account was enabled again." in _text(response)
    db_session.expire_all()
    assert user.disabled_at is None
    fresh = app.test_client()
    login(fresh, user)
    assert fresh.get("/auth/account").status_code == 200
    actions = list(db_session.scalars(sa.select(AuditEvent.action).where(AuditEvent.object_id == str(user.id))))
    assert "user.disabled" in actions
    assert "user.enabled" in actions


def test_admin_cannot_disable_themselves(admin_client, db_session, platform_admin):
    response = admin_client.post(f"/admin/users/{platform_admin.id}/disable", follow_redirects=True)
    assert "You cannot disable your own account." in _text(response)
    db_session.expire_all()
    assert platform_admin.disabled_at is None
    assert admin_client.get("/admin/").status_code == 200


def test_admin_grants_roles_but_cannot_drop_their_own(admin_client, db_session, platform_admin, create_user):
    user = create_user()
    response = admin_client.post(f"/admin/users/{user.id}", data={"is_adviser": "y"}, follow_redirects=True)
    assert "The roles have been saved." in _text(response)
    db_session.expire_all()
    assert user.is_adviser and not user.is_platform_admin
    # Both boxes unticked (a browser sends only the CSRF token; "" is a false value here).
    response = admin_client.post(f"/admin/users/{platform_admin.id}", data={"is_adviser": ""}, follow_redirects=True)
    assert "You cannot remove your own administrator role." in _text(response)
    db_session.expire_all()
    assert platform_admin.is_platform_admin


def test_admin_index_counts(admin_client, create_user, create_org):
    create_user()
    create_org()
    response = admin_client.get("/admin/")
    assert response.status_code == 200


def test_platform_admin_without_two_factor_is_sent_to_enrolment(app, login, create_user):
    admin = create_user(platform_admin=True)
    client = app.test_client()
    login(client, admin)
    response = client.get("/admin/users")
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/account/two-factor"


def test_new_user_listing_shows_unconfirmed_status(admin_client, create_user):
    create_user("unconfirmed@example.org", verified=False)
    page = _text(admin_client.get("/admin/users", query_string={"q": "unconfirmed"}))
    assert "E-mail not confirmed" in page
