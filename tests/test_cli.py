"""``flask users create|list`` and ``flask demo seed``."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.auth.models import User
from app.auth.passwords import verify_password
from app.organisations.models import Membership, MembershipRole, MembershipState, Organisation
from tests.auth.test_views import link_in, local
from tests.fixtures.app import TEST_PASSWORD


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def ngo(create_org):
    return create_org("Terre Solidaire", slug="terre-solidaire")


def _user(db_session, email) -> User | None:
    return db_session.scalar(sa.select(User).where(User.email == email))


def _counts(db_session) -> tuple[int, int, int]:
    return tuple(
        db_session.scalar(sa.select(sa.func.count()).select_from(model)) for model in (User, Organisation, Membership)
    )


def test_create_volunteer_in_an_organisation_sends_an_invitation(runner, client, db_session, ngo, outbox):
    result = runner.invoke(args=["users", "create", "Camille@Example.org", "--role", "volunteer", "--org", ngo.slug])
    assert result.exit_code == 0, result.output
    assert "created camille@example.org" in result.output
    assert "password:" not in result.output
    user = _user(db_session, "camille@example.org")
    assert not user.is_verified  # until the owner of the address uses the link
    assert not user.is_platform_admin
    [message] = outbox
    assert message.recipient == "camille@example.org"
    link = local(link_in(message, "/auth/password/reset/"))

    response = client.post(link, data={"password": TEST_PASSWORD, "confirm": TEST_PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)
    db_session.refresh(user)
    assert user.is_verified
    assert verify_password(user.password_hash, TEST_PASSWORD)
    assert client.get(link).status_code == 404  # single use
    membership = db_session.scalar(sa.select(Membership).where(Membership.user_id == user.id))
    assert (membership.organisation_id, membership.role, membership.state) == (
        ngo.id,
        MembershipRole.VOLUNTEER,
        MembershipState.ACTIVE,
    )


def test_create_platform_admin_with_a_chosen_password(runner, db_session):
    result = runner.invoke(
        args=["users", "create", "root@example.org", "--role", "platform_admin", "--name", "Agnès", "--locale", "es"],
        env={"ACQUIS_NEW_PASSWORD": TEST_PASSWORD},
    )
    assert result.exit_code == 0, result.output
    assert "password:" not in result.output
    assert TEST_PASSWORD not in result.output
    user = _user(db_session, "root@example.org")
    assert user.is_verified
    assert user.is_platform_admin
    assert user.display_name == "Agnès"
    assert user.locale == "es"
    assert verify_password(user.password_hash, TEST_PASSWORD)


def test_create_with_several_roles(runner, db_session, ngo):
    result = runner.invoke(
        args=["users", "create", "nadia@example.org", "--role", "org_admin", "--role", "adviser", "--org", ngo.slug]
    )
    assert result.exit_code == 0, result.output
    user = _user(db_session, "nadia@example.org")
    assert user.is_adviser
    assert ngo.has_role(user, MembershipRole.ADMIN)


def test_create_writes_a_generated_password_to_a_private_file(runner, db_session, tmp_path, outbox):
    secret_file = tmp_path / "root.password"
    result = runner.invoke(
        args=["users", "create", "root@example.org", "--role", "platform_admin", "--password-file", str(secret_file)]
    )
    assert result.exit_code == 0, result.output
    password = secret_file.read_text().strip()
    assert len(password) >= 20
    assert password not in result.output
    assert f"password written to {secret_file}" in result.output
    assert secret_file.stat().st_mode & 0o777 == 0o600
    user = _user(db_session, "root@example.org")
    assert user.is_verified
    assert verify_password(user.password_hash, password)
    assert outbox == []  # no invitation when the operator hands the password over


def test_create_never_overwrites_a_password_file(runner, db_session, tmp_path):
    secret_file = tmp_path / "existing"
    secret_file.write_text("keep me\n")
    result = runner.invoke(
        args=["users", "create", "x@example.org", "--role", "adviser", "--password-file", str(secret_file)]
    )
    assert result.exit_code != 0
    assert "already exists" in result.output
    assert secret_file.read_text() == "keep me\n"
    assert _user(db_session, "x@example.org") is None


def test_create_refuses_two_password_sources(runner, db_session, tmp_path):
    result = runner.invoke(
        args=["users", "create", "x@example.org", "--role", "adviser", "--password-file", str(tmp_path / "p")],
        env={"ACQUIS_NEW_PASSWORD": TEST_PASSWORD},
    )
    assert result.exit_code != 0
    assert "not both" in result.output
    assert not (tmp_path / "p").exists()
    assert _user(db_session, "x@example.org") is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--role", "emperor"], "Invalid value for '--role'"),
        (["--role", "volunteer", "--org", "no-such-org"], "no organisation with slug 'no-such-org'"),
        (["--role", "trainer"], "--org is required"),
        (["--role", "platform_admin", "--password", "password"], "--password"),
        ([], "Missing option '--role'"),
    ],
    ids=["bad-role", "unknown-org", "org-missing", "weak-password", "no-role"],
)
def test_create_refuses_bad_input(runner, db_session, ngo, args, message):
    result = runner.invoke(args=["users", "create", "x@example.org", *args])
    assert result.exit_code != 0
    assert message in result.output
    assert _user(db_session, "x@example.org") is None


def test_create_refuses_an_existing_address(runner, db_session, create_user):
    create_user("taken@example.org")
    result = runner.invoke(args=["users", "create", "TAKEN@example.org", "--role", "adviser"])
    assert result.exit_code == 1
    assert "an account already uses TAKEN@example.org" in result.output


def test_list_prints_one_line_per_user(runner, db_session, ngo, create_org, create_user, add_member):
    other = create_org("Ponts du Monde", slug="ponts-du-monde")
    camille = create_user("camille@example.org")
    add_member(ngo, camille, "volunteer")
    add_member(other, camille, "trainer")
    create_user("root@example.org", platform_admin=True)
    create_user("nobody@example.org")
    pending = create_user("pending@example.org")
    db_session.add(
        Membership(organisation=ngo, user=pending, role=MembershipRole.VOLUNTEER, state=MembershipState.PENDING)
    )
    db_session.flush()

    result = runner.invoke(args=["users", "list"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 4
    by_email = {line.split("\t")[0]: line for line in lines}
    assert set(by_email) == {"camille@example.org", "root@example.org", "nobody@example.org", "pending@example.org"}
    camille_line = by_email["camille@example.org"]
    assert "roles=trainer,volunteer" in camille_line
    assert "terre-solidaire:volunteer" in camille_line
    assert "ponts-du-monde:trainer" in camille_line
    assert "roles=platform_admin" in by_email["root@example.org"]
    assert "orgs=-" in by_email["root@example.org"]
    assert "roles=-" in by_email["nobody@example.org"]
    assert "terre-solidaire:volunteer(pending)" in by_email["pending@example.org"]


def test_list_marks_disabled_accounts(runner, db_session, create_user):
    from app.core.db import utcnow

    user = create_user("gone@example.org")
    user.disabled_at = utcnow()
    db_session.flush()
    result = runner.invoke(args=["users", "list"])
    assert result.output.strip().endswith("disabled")


def test_demo_seed_is_idempotent(runner, db_session):
    first = runner.invoke(args=["demo", "seed"])
    assert first.exit_code == 0, first.output
    counts = _counts(db_session)
    assert counts[0] >= 8 and counts[1] >= 4
    assert "admin@demo.acquis.example" in first.output

    second = runner.invoke(args=["demo", "seed"])
    assert second.exit_code == 0, second.output
    assert _counts(db_session) == counts
    assert second.output == first.output

    admin = _user(db_session, "admin@demo.acquis.example")
    assert admin.is_platform_admin
    assert not admin.has_totp  # asked to enrol at first sign-in


def test_demo_accounts_can_sign_in(runner, client, db_session):
    from app.demo.cli import DEMO_PASSWORD

    runner.invoke(args=["demo", "seed"])
    response = client.post("/auth/login", data={"email": "benevole@demo.acquis.example", "password": DEMO_PASSWORD})
    assert response.status_code == 302
    assert "Terre Solidaire" in client.get("/").get_data(as_text=True)


def test_create_refuses_a_name_with_bidi_controls(runner, db_session, outbox):
    """The command applies the forms' text rule: U+202E would print a reversed name on signed documents."""
    result = runner.invoke(
        args=["users", "create", "bidi@example.org", "--role", "adviser", "--name", "Camille \u202egnirt"]
    )
    assert result.exit_code != 0
    assert "--name" in result.output
    assert _user(db_session, "bidi@example.org") is None
    assert outbox == []
