"""Pages run a fixed number of SQL statements, whatever the amount of data they show (no N+1 queries)."""

from __future__ import annotations

import pytest

from tests.fixtures.statements import count_statements, statements_for

SMALL, LARGE = 2, 40


def _diff(small: list[str], large: list[str]) -> str:
    return "\n".join(
        [f"{len(small)} statements with {SMALL} rows, {len(large)} with {LARGE}:", *large[len(small) :]]
        if len(large) > len(small)
        else [f"{len(small)} statements with {SMALL} rows, {len(large)} with {LARGE}"]
    )


@pytest.fixture
def grow(fast_hashing, create_user, create_org, add_member):
    """``grow(n)`` brings the data set to ``n`` organisations, each with an admin, a pending request and an
    open invitation, all of which also land in the first organisation; the ``viewer`` is a member of every
    organisation and admin of the first."""
    from datetime import timedelta

    from app.core.db import utcnow
    from app.core.tokens import new_random_token
    from app.extensions import db
    from app.organisations.models import Invitation, Membership, MembershipRole, MembershipState

    state = {"orgs": []}
    viewer = create_user("viewer@example.org", name="Viewer")
    # Listed first on the admin users page at any size: whether the signed-in user's own memberships come
    # with the listing or are loaded apart (by the menu) must not change between the two measurements.
    platform_admin = create_user("aaa-root@example.org", platform_admin=True, totp=True)

    def _grow(n):
        while len(state["orgs"]) < n:
            i = len(state["orgs"])
            org = create_org(f"Organisation {i:03d}")
            state["orgs"].append(org)
            first = state["orgs"][0]
            admin = create_user(f"admin{i}@example.org")
            applicant = create_user(f"applicant{i}@example.org")
            add_member(org, admin, "admin")
            add_member(org, viewer, "admin" if i == 0 else "volunteer")
            # The first organisation grows too: its member page is measured.
            if org is not first:
                add_member(first, admin, "trainer")
            for target in {org, first}:
                db.session.add(
                    Membership(
                        organisation=target,
                        user=applicant,
                        role=MembershipRole.VOLUNTEER,
                        state=MembershipState.PENDING,
                    )
                )
                db.session.add(
                    Invitation(
                        organisation=target,
                        email=f"invitee{i}-{target.id}@example.org",
                        role=MembershipRole.TRAINER,
                        token_hash=new_random_token()[1],
                        expires_at=utcnow() + timedelta(days=3),
                    )
                )
        db.session.commit()  # only releases a savepoint of the test transaction
        return state["orgs"][0]

    _grow.viewer = viewer
    _grow.platform_admin = platform_admin
    return _grow


PAGES = {
    "home": ("viewer", lambda first: "/"),
    "organisation-directory": ("viewer", lambda first: "/organisations/"),
    "organisation-detail": ("viewer", lambda first: f"/organisations/{first.slug}"),
    "members": ("viewer", lambda first: f"/organisations/{first.slug}/members"),
    "admin-users": ("platform_admin", lambda first: "/admin/users"),
    "admin-organisations": ("platform_admin", lambda first: "/admin/organisations"),
    "admin-user": ("platform_admin", lambda first: f"/admin/users/{first.memberships[0].user_id}"),
}


@pytest.mark.parametrize("page", list(PAGES))
def test_page_statement_count_does_not_grow_with_data(app, login, grow, page):
    actor, url_for_page = PAGES[page]
    client = app.test_client()
    first = grow(SMALL)
    login(client, getattr(grow, actor))
    url = url_for_page(first)
    statements_for(client, url)  # warm up (first-request work is not what is measured)
    small = statements_for(client, url)
    first = grow(LARGE)
    large = statements_for(client, url)
    assert len(large) == len(small), _diff(small, large)


def test_counter_sees_the_statements(app, client):
    with count_statements() as statements:
        assert client.get("/healthz").status_code == 200
    assert any("SELECT 1" in s for s in statements)
