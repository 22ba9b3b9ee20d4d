"""The access matrix: every route of the application by every kind of actor.

Policies live next to each package's tests (``tests/<package>/access_policy.py``, see ``tests/access.py``) and
are merged here. ``test_every_route_has_a_policy`` fails as soon as a route is added without one, so no page
ships without someone deciding who may reach it.
"""

from __future__ import annotations

import importlib
import types
from pathlib import Path

import pytest
from flask import url_for

from tests.access import ACTORS, outcome_of

TESTS_DIR = Path(__file__).parent
IGNORED_ENDPOINTS = {"static"}
IGNORED_METHODS = {"HEAD", "OPTIONS"}


def _policy_modules() -> list[types.ModuleType]:
    return [
        importlib.import_module(f"tests.{path.parent.name}.access_policy")
        for path in sorted(TESTS_DIR.glob("*/access_policy.py"))
    ]


def _merge_policies(modules) -> tuple[dict, list[str]]:
    merged, duplicates = {}, []
    for module in modules:
        for endpoint, entry in module.POLICY.items():
            if endpoint in merged:
                duplicates.append(f"{endpoint} (in {module.__name__} and {merged[endpoint][0]})")
            merged[endpoint] = (module.__name__, entry)
    return {endpoint: entry for endpoint, (_, entry) in merged.items()}, duplicates


POLICY_MODULES = _policy_modules()
POLICY, DUPLICATES = _merge_policies(POLICY_MODULES)
CASES = [
    (endpoint, method, actor)
    for endpoint, entry in sorted(POLICY.items())
    for method in entry.methods
    for actor in ACTORS
]


def _route_methods(app) -> dict[str, set[str]]:
    methods: dict[str, set[str]] = {}
    for url_rule in app.url_map.iter_rules():
        if url_rule.endpoint in IGNORED_ENDPOINTS:
            continue
        methods.setdefault(url_rule.endpoint, set()).update(set(url_rule.methods or ()) - IGNORED_METHODS)
    return methods


# --- Completeness of the policy table ------------------------------------------------------------------------


def test_policy_modules_are_found():
    names = {module.__name__ for module in POLICY_MODULES}
    assert {"tests.auth.access_policy", "tests.main.access_policy"} <= names


def test_no_endpoint_has_two_policies():
    assert not DUPLICATES, "endpoints with more than one policy entry: " + ", ".join(DUPLICATES)


def test_every_route_has_a_policy(app):
    routes = _route_methods(app)
    missing = sorted(set(routes) - set(POLICY))
    unknown = sorted(set(POLICY) - set(routes))
    problems = []
    if missing:
        problems.append("routes without an entry in any tests/*/access_policy.py: " + ", ".join(missing))
    if unknown:
        problems.append("policy entries naming no route: " + ", ".join(unknown))
    assert not problems, "\n".join(problems)


def test_policy_methods_match_the_routes(app):
    """A policy may only name methods the route accepts, and must cover every one of them (a POST is often
    where a hole hides)."""
    routes = _route_methods(app)
    problems = []
    for endpoint, entry in sorted(POLICY.items()):
        if endpoint not in routes:
            continue
        extra = set(entry.methods) - routes[endpoint]
        uncovered = routes[endpoint] - set(entry.methods)
        if extra:
            problems.append(f"{endpoint}: policy names {sorted(extra)}, route accepts {sorted(routes[endpoint])}")
        if uncovered:
            problems.append(f"{endpoint}: methods {sorted(uncovered)} have no expectation")
    assert not problems, "\n".join(problems)


# --- The world every case runs in ---------------------------------------------------------------------------


_HASHES: dict[str, str] = {}


def _cached_hash(password: str) -> str:
    """Argon2 hashing dominates the cost of building a world: hash each password once per run."""
    from app.auth.passwords import hash_password

    if password not in _HASHES:
        _HASHES[password] = hash_password(password)
    return _HASHES[password]


def _snapshot(directory: Path) -> tuple[Path, dict[Path, bytes]]:
    """The files the world's objects point to (evidence…): the database is rolled back, the disk is not."""
    files = {path: path.read_bytes() for path in directory.rglob("*") if path.is_file()} if directory.exists() else {}
    return directory, files


def _restore(snapshot) -> None:
    """Put the stored files back as they were after the build; remove files written by earlier cases."""
    directory, files = snapshot
    if directory.exists():
        for path in directory.rglob("*"):
            if path.is_file() and path not in files:
                path.unlink()
    for path, content in files.items():
        if not path.exists() or path.read_bytes() != content:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)


@pytest.fixture(scope="module")
def _shared_world(app):
    """The world, built once for the whole module in an outer transaction that is rolled back at the end.

    Building it (accounts, organisations, frameworks, experiences…) costs far more than one request, and the
    matrix has hundreds of cases; each case runs inside a SAVEPOINT of this transaction instead (see
    ``db_session`` below), so whatever a case changes is undone before the next one.
    """
    from sqlalchemy.orm import scoped_session, sessionmaker

    from app.core import mail
    from app.extensions import db

    context = app.app_context()
    context.push()
    connection = db.engine.connect()
    outer = connection.begin()
    factory = sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
    # One session for the module (not one per app context): the world's objects stay attached to it.
    session = scoped_session(factory, scopefunc=lambda: "access-matrix")
    original = db.session
    db.session = session
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(mail, "deliver", lambda message: None)
            patch.setattr("app.auth.operations.hash_password", _cached_hash)
            world = _build_world()
            session.commit()  # only releases the session's SAVEPOINT
        world.stored_files = _snapshot(Path(app.config["STORAGE_DIR"]))
        yield connection, world
    finally:
        session.remove()
        db.session = original
        outer.rollback()
        connection.close()
        context.pop()


@pytest.fixture
def db_session(_shared_world):
    """Overrides the conftest fixture for this module: each test runs in a SAVEPOINT of the shared world."""
    from app.extensions import db

    connection, world = _shared_world
    _restore(world.stored_files)
    nested = connection.begin_nested()
    try:
        yield db.session
    finally:
        db.session.rollback()  # the session's own SAVEPOINT (inside ``nested``), and expires the world's objects
        if nested.is_active:
            nested.rollback()


@pytest.fixture
def world(_shared_world, db_session):
    """Two sending NGOs with their people, an adviser and a platform admin, plus each package's objects."""
    return _shared_world[1]


def _build_world():
    import pyotp

    from app.auth import operations as auth_ops
    from app.core.db import utcnow
    from app.extensions import db
    from app.organisations import operations as org_ops
    from app.organisations.models import MembershipRole, OrganisationKind
    from tests.fixtures.app import TEST_PASSWORD

    def organisation(name, slug):
        data = org_ops.OrganisationData(name=name, kind=OrganisationKind.SENDING_NGO, country="FR")
        return org_ops.create_organisation(data, actor=None, slug=slug)

    def user(email, name, **roles):
        return auth_ops.create_user(email, name, TEST_PASSWORD, locale="fr", verified=True, **roles)

    w = types.SimpleNamespace()
    w.ngo = organisation("Sending NGO", "sending-ngo")
    w.other_ngo = organisation("Other NGO", "other-ngo")
    users = {"guest": None}
    users["volunteer"] = user("volunteer@example.org", "Volunteer")
    users["trainer"] = user("trainer@example.org", "Trainer")
    users["org_admin"] = user("org-admin@example.org", "Org Admin")
    users["other_volunteer"] = user("other-volunteer@example.org", "Other Volunteer")
    users["other_trainer"] = user("other-trainer@example.org", "Other Trainer")
    users["adviser"] = user("adviser@example.org", "Adviser", is_adviser=True)
    users["shared_adviser"] = user("shared-adviser@example.org", "Shared Adviser", is_adviser=True)
    users["platform_admin"] = user("platform-admin@example.org", "Platform Admin", is_platform_admin=True)
    # Platform admins without two-factor are sent to enrolment; ``login`` answers the TOTP step.
    users["platform_admin"].totp_secret = pyotp.random_base32()
    users["platform_admin"].totp_enabled_at = utcnow()
    for org, actor, role in [
        (w.ngo, "volunteer", MembershipRole.VOLUNTEER),
        (w.ngo, "trainer", MembershipRole.TRAINER),
        (w.ngo, "org_admin", MembershipRole.ADMIN),
        (w.other_ngo, "other_volunteer", MembershipRole.VOLUNTEER),
        (w.other_ngo, "other_trainer", MembershipRole.TRAINER),
    ]:
        org_ops.add_member(org, users[actor], role, actor=None)
    w.users = users
    for module in POLICY_MODULES:
        build = getattr(module, "build", None)
        if build is not None:
            build(w)
    db.session.flush()
    return w


def _url(app, endpoint: str, entry, w) -> str:
    with app.test_request_context():
        return url_for(endpoint, **(entry.url(w) if entry.url else {}))


def _id(case) -> str:
    endpoint, method, actor = case
    return f"{endpoint}-{method}-{actor}"


@pytest.mark.parametrize(("endpoint", "method", "actor"), CASES, ids=[_id(case) for case in CASES])
def test_access(app, world, login, endpoint, method, actor):
    entry = POLICY[endpoint]
    expected = entry.expectation[actor]
    client = app.test_client()
    user = world.users[actor]
    if user is not None:
        login(client, user)
    url = _url(app, endpoint, entry, world)
    data = entry.data(world) if entry.data else {}
    response = client.open(url, method=method, data=data if method != "GET" else None)
    actual = outcome_of(response, url)
    detail = f"{method} {url} as {actor}: expected {expected!r}, got {actual!r} (HTTP {response.status_code}"
    if response.location:
        detail += f" → {response.location}"
    note = f"; policy note: {entry.notes}" if entry.notes else ""
    assert actual == expected, detail + ")" + note


# --- Out-of-scope and unknown objects -----------------------------------------------------------------------


def test_unknown_invitation_token_is_404(client, world):
    assert client.get("/organisations/invitations/not-a-real-token").status_code == 404
    assert client.post("/organisations/invitations/not-a-real-token").status_code == 404


def test_used_or_revoked_invitation_token_is_404(client, world):
    from app.core.db import utcnow
    from app.extensions import db

    world.invitation.revoked_at = utcnow()
    db.session.flush()
    assert client.get(f"/organisations/invitations/{world.invitation_token}").status_code == 404


def test_unknown_reset_token_is_404(client, world):
    response = client.get("/auth/password/reset/not-a-real-token")
    assert response.status_code == 404
    response = client.post("/auth/password/reset/not-a-real-token", data={"password": "x", "confirm": "x"})
    assert response.status_code == 404


def test_unknown_verification_token_redirects_to_login(client, world):
    response = client.get("/auth/verify/not-a-real-token")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/auth/login")


def test_unknown_email_change_token_redirects_home(client, world):
    response = client.get("/auth/account/email/not-a-real-token")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_unknown_organisation_is_404(client, world, login):
    login(client, world.users["volunteer"])
    assert client.get("/organisations/no-such-ngo").status_code == 404
    assert client.post("/organisations/no-such-ngo/join").status_code == 404


def test_membership_of_another_organisation_is_404_for_an_org_admin(client, world, login):
    """The membership id exists, but belongs to another NGO: the org admin of world.ngo sees nothing."""
    login(client, world.users["org_admin"])
    other_membership = world.other_ngo.membership_of(world.users["other_volunteer"])
    for action in ("approve", "decline", "role", "remove"):
        url = f"/organisations/{world.ngo.slug}/members/{other_membership.id}/{action}"
        assert client.post(url, data={"role": "admin"}).status_code == 404, url
    assert client.get(f"/organisations/{world.ngo.slug}/members/{other_membership.id}/remove").status_code == 404


def test_invitation_of_another_organisation_cannot_be_revoked(client, world, login):
    """An invitation id of another NGO, sent through the URL of the admin's own NGO, is not found."""
    from app.organisations import operations as ops
    from app.organisations.models import MembershipRole

    other_invitation = ops.invite(
        world.other_ngo, "someone@example.org", MembershipRole.VOLUNTEER, actor=world.users["platform_admin"]
    )
    login(client, world.users["org_admin"])
    url = f"/organisations/{world.ngo.slug}/invitations/{other_invitation.id}/revoke"
    assert client.post(url).status_code == 404
    url = f"/organisations/{world.other_ngo.slug}/invitations/{other_invitation.id}/revoke"
    assert client.post(url).status_code == 404
    assert other_invitation.revoked_at is None


def test_unknown_admin_objects_are_404(client, world, login):
    login(client, world.users["platform_admin"])
    assert client.get("/admin/organisations/999999/edit").status_code == 404
    assert client.get("/admin/users/999999").status_code == 404
    assert client.post("/admin/users/999999/disable").status_code == 404
