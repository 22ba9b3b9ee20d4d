"""The pages of an NGO cost the same with 5 members or 200: the trainers' queue (with the admin's statistics), the
review page and the members page run the same statements, and none of them loads the NGO's memberships (access
rules read the viewer's own memberships; the members page reads one keyset page)."""

from __future__ import annotations

import pytest

from tests import cast
from tests.fixtures.statements import explain, statements_for

SMALL, LARGE = 5, 200


@pytest.fixture
def world(ngo, volunteer, trainer, ngo_admin, framework, mission):
    import types

    w = types.SimpleNamespace(ngo=ngo, volunteer=volunteer, trainer=trainer, admin=ngo_admin)
    w.version, w.nodes = framework
    claims = cast.create_claims(w.volunteer, mission, w.nodes[:2])
    w.submission = cast.submit_claims(w.volunteer, mission, w.ngo, claims)
    decided = cast.create_mission(w.volunteer, title="School garden")
    decided_claims = cast.create_claims(w.volunteer, decided, w.nodes[2:3])
    cast.validate_everything(cast.submit_claims(w.volunteer, decided, w.ngo, decided_claims), w.trainer)
    w.members = 3
    return w


def _grow(w, size: int) -> None:
    """Bring the NGO to ``size`` members: volunteers, trainers, an admin now and then, a few pending requests."""
    from app.auth.models import User
    from app.extensions import db
    from app.organisations.models import Membership, MembershipRole, MembershipState

    roles = (MembershipRole.VOLUNTEER,) * 7 + (MembershipRole.TRAINER, MembershipRole.ADMIN)
    while w.members < size:
        n = w.members
        user = User(email=f"member{n}@example.org", display_name=f"Member {n:04d}", password_hash="!")
        state = MembershipState.PENDING if n % 10 == 0 else MembershipState.ACTIVE
        db.session.add(Membership(organisation=w.ngo, user=user, role=roles[n % len(roles)], state=state))
        w.members += 1
    db.session.commit()


def _pages(w):
    """(who, url) of every measured page."""
    return [
        (w.trainer, "/validation/reviews?state=pending"),
        (w.admin, "/validation/reviews?state=pending"),  # with the NGO's statistics
        (w.admin, "/validation/reviews?state=decided"),
        (w.trainer, f"/validation/submissions/{w.submission.id}"),
        (w.admin, f"/organisations/{w.ngo.slug}/members"),
    ]


def _measure(app, login, w) -> dict:
    counts = {}
    for user, url in _pages(w):
        client = app.test_client()
        login(client, user)
        counts[(user.email, url)] = statements_for(client, url, warm_up=True)
    return counts


def test_ngo_pages_statements_do_not_grow_with_members(world, app, login):
    _grow(world, SMALL)
    small = _measure(app, login, world)
    _grow(world, LARGE)
    large = _measure(app, login, world)
    for page, before in small.items():
        assert len(before) == len(large[page]), (page, explain(before, large[page]))


@pytest.fixture
def membership_loads(app):
    """The memberships the ORM builds from rows (loaded or refreshed) while the block runs, by (user, org) id."""
    from contextlib import contextmanager

    from sqlalchemy import event

    from app.organisations.models import Membership

    @contextmanager
    def watch():
        loaded: list[tuple[int, int]] = []

        def on_load(target, *args):
            loaded.append((target.user_id, target.organisation_id))

        event.listen(Membership, "load", on_load)
        event.listen(Membership, "refresh", on_load)
        try:
            yield loaded
        finally:
            event.remove(Membership, "load", on_load)
            event.remove(Membership, "refresh", on_load)

    return watch


def test_ngo_pages_do_not_load_the_ngo_memberships(world, app, login, membership_loads):
    from app.organisations.operations import MEMBERS_PER_PAGE

    w = world
    _grow(w, LARGE)
    for user, url in _pages(w):
        client = app.test_client()
        login(client, user)
        client.get(url)
        with membership_loads() as loaded:
            assert client.get(url).status_code == 200
        others = [row for row in loaded if row[0] != user.id]
        if "/members" in url:
            # One page of active members and one of pending requests, never the 200.
            assert 0 < len(others) <= 2 * MEMBERS_PER_PAGE, (url, len(others))
        else:
            assert others == [], (user.email, url, len(others))


def test_members_page_pages_by_name_with_the_same_statements(world, app, login):
    import re

    w = world
    _grow(w, LARGE)
    client = app.test_client()
    login(client, w.admin)
    first = statements_for(client, f"/organisations/{w.ngo.slug}/members", warm_up=True)
    html = client.get(f"/organisations/{w.ngo.slug}/members").get_data(as_text=True)
    after = re.search(r'members\?after=(\d+)"', html).group(1)
    second = statements_for(client, f"/organisations/{w.ngo.slug}/members?after={after}", warm_up=True)
    assert len(first) == len(second), explain(first, second)
    names = []
    url = f"/organisations/{w.ngo.slug}/members"
    while url:
        html = client.get(url).get_data(as_text=True)
        html = html[html.index('id="members-heading"') : html.index('id="invite-heading"')]
        names += re.findall(r"<td>(Member \d{4}|Ada Admin|Théo Trainer|Valentine)</td>", html)
        found = re.search(r'href="([^"]*members\?after=\d+)"', html)
        url = found.group(1) if found else None
    active = [n for n in range(3, LARGE) if n % 10]
    assert names == sorted(names, key=str.lower)
    assert len(names) == len(set(names)) == 3 + len(active)
