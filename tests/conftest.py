"""Test fixtures: an app on a real database (SQLite file, or PostgreSQL with TEST_DATABASE_URL), one
transaction per test rolled back afterwards, factories, a mail outbox and a signed-in client helper."""

from __future__ import annotations

import os

import pytest

from tests import cast
from tests.fixtures.app import make_test_app, reset_database

pytest_plugins = ["tests.fixtures.factories"]


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    """TEST_DATABASE_URL when set (PostgreSQL in CI), else a fresh SQLite file."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'acquis-test.sqlite'}"


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    """The application, with the schema built by the Alembic migrations."""
    instance_dir = tmp_path_factory.mktemp("instance")
    application = make_test_app(database_url, instance_dir)
    with application.app_context():
        reset_database()
    # The test's app context stays pushed, so requests share its ``g``: start each request with an empty one
    # (as in production), or the signed-in user and the locale cached by one request leak into the next.
    from flask import g, request_started

    request_started.connect(lambda sender, **extra: g.__dict__.clear(), application, weak=False)
    return application


@pytest.fixture(autouse=True)
def db_session(request, app):
    """Run each test inside a transaction that is rolled back at the end.

    The application commits as usual; with ``join_transaction_mode="create_savepoint"`` those commits only
    release SAVEPOINTs of the outer transaction, which the fixture rolls back.
    """
    if request.node.get_closest_marker("browser"):
        yield None
        return
    from sqlalchemy.orm import scoped_session, sessionmaker

    from app.extensions import db

    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        session_factory = sessionmaker(bind=connection, join_transaction_mode="create_savepoint")
        original = db.session
        db.session = scoped_session(session_factory, scopefunc=original.registry.scopefunc)
        try:
            yield db.session
        finally:
            db.session.remove()
            db.session = original
            outer.rollback()
            connection.close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def csrf_enabled(app):
    """Turn CSRF protection on for one test (tests post without tokens otherwise)."""
    app.config["WTF_CSRF_ENABLED"] = True
    yield
    app.config["WTF_CSRF_ENABLED"] = False


@pytest.fixture
def outbox(monkeypatch):
    """Messages delivered (after commit) during the test, instead of sending them."""
    from app.core import mail

    sent: list[mail.OutgoingEmail] = []
    monkeypatch.setattr(mail, "deliver", sent.append)
    return sent


@pytest.fixture
def fast_hashing(monkeypatch, app):
    """Creating dozens of users: hash the (shared) password once."""
    from app.auth import operations as auth_ops
    from app.auth.passwords import hash_password

    cache: dict[str, str] = {}

    def cached(password):
        if password not in cache:
            cache[password] = hash_password(password)
        return cache[password]

    monkeypatch.setattr(auth_ops, "hash_password", cached)


@pytest.fixture
def limited_app(database_url, tmp_path):
    """A second app with rate limits on. The limiter object is shared by every app, so its state is restored."""
    from app.extensions import limiter

    saved = (limiter.enabled, limiter.initialized)
    application = make_test_app(database_url, tmp_path, RATELIMIT_ENABLED=True)
    try:
        limiter.reset()
        yield application
    finally:
        limiter.reset()
        limiter.enabled, limiter.initialized = saved


# --- The shared cast (tests/cast.py), each fixture building on the previous ones --------------------------------


@pytest.fixture
def ngo(db_session):
    """The sending NGO "Solidarité Monde"."""
    return cast.make_ngo()


@pytest.fixture
def volunteer(ngo):
    """Valentine (vol@example.org, English), a volunteer of ``ngo``."""
    return cast.make_person(**cast.VOLUNTEER, member_of=ngo, role="volunteer")


@pytest.fixture
def trainer(ngo):
    """Théo Trainer (trainer@example.org, French), a trainer of ``ngo``."""
    return cast.make_person(**cast.TRAINER, member_of=ngo, role="trainer")


@pytest.fixture
def ngo_admin(ngo):
    """Ada Admin (admin@example.org, French), an admin of ``ngo``."""
    return cast.make_person(**cast.ADMIN, member_of=ngo, role="admin")


@pytest.fixture
def framework(db_session):
    """A published framework with competences C1, C2, C3 on a three-level scale: ``(version, nodes)``."""
    return cast.make_framework(db_session)


@pytest.fixture
def mission(volunteer):
    """The volunteer's one-year VSI mission with Agua Viva in Peru (``cast.MISSION_DEFAULTS``)."""
    return cast.create_mission(volunteer)


@pytest.fixture
def claims(volunteer, mission, framework):
    """Three draft claims of the mission, on C1, C2 and C3, without evidence."""
    return cast.create_claims(volunteer, mission, framework[1])


@pytest.fixture
def submission(volunteer, mission, ngo, claims):
    """The mission submitted to ``ngo`` with its three claims."""
    return cast.submit_claims(volunteer, mission, ngo, claims)


@pytest.fixture
def validated_submission(submission, trainer):
    """The submission with its facts confirmed and every claim validated by the trainer."""
    return cast.validate_everything(submission, trainer)


@pytest.fixture
def portfolio_world(db_session):
    """``cast.portfolio_world``: a volunteer's portfolio with a validated claim (the sharing and portability
    tests' ``world``)."""
    return cast.portfolio_world(db_session)
