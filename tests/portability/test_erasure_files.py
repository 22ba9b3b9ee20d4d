"""Erasure that leaves nothing: after the app's own compaction, neither the name nor the e-mail address of an
erased person is found in the database files (main file, write-ahead log, shared memory), anywhere under the
instance folder (mail sink included) or in the application's log."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import pytest

from app.extensions import db
from tests.fixtures.app import TEST_PASSWORD, file_database_app

NAME, EMAIL = "Zénobie Quillfeather", "zenobie.quillfeather@example.org"


@pytest.fixture
def file_app(tmp_path, app):
    with file_database_app(tmp_path) as application:
        yield application


@pytest.fixture
def app_log(tmp_path):
    """Everything the application logs during the test, in a file (as a deployment's log would be)."""
    path = tmp_path / "instance" / "logs" / "acquis.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(logging.DEBUG)
    loggers = [logging.getLogger(name) for name in ("acquis", "werkzeug", "")]
    saved = [(lg, lg.level) for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    yield path
    for lg, level in saved:
        lg.removeHandler(handler)
        lg.setLevel(level)
    handler.close()


def _found(paths, *needles: str) -> list[str]:
    """The files among ``paths`` holding one of ``needles`` (UTF-8, case-insensitive, also as e-mail headers
    encode a name: the address alone is searched there)."""
    wanted = [n.lower().encode() for n in needles]
    return [str(p) for p in paths if p.is_file() and any(w in p.read_bytes().lower() for w in wanted)]


def test_an_erased_person_is_in_no_database_file_instance_file_or_log(file_app, app_log, tmp_path):
    from app.auth import operations as auth_ops
    from app.experiences.models import ExperienceKind
    from app.experiences.operations import ExperienceData, create_experience
    from app.organisations import operations as org_ops
    from app.organisations.models import MembershipRole, OrganisationKind
    from app.portability.erasure import erase_user

    organisation = org_ops.create_organisation(
        org_ops.OrganisationData(name="Files NGO", kind=OrganisationKind.SENDING_NGO, country="FR"), actor=None
    )
    user = auth_ops.create_user(EMAIL, NAME, TEST_PASSWORD, locale="en", verified=True)
    db.session.commit()
    org_ops.add_member(organisation, user, MembershipRole.VOLUNTEER, actor=None)
    create_experience(
        user,
        ExperienceData(
            kind=ExperienceKind.MISSION,
            title=f"Mission of {NAME}",
            start_date=date(2024, 1, 1),
            context=f"Call {NAME} at {EMAIL}",
        ),
    )
    db.session.commit()
    client = file_app.test_client()
    client.post("/auth/login", data={"email": EMAIL, "password": TEST_PASSWORD})  # session, audit events
    auth_ops.request_password_reset(EMAIL)  # a message in the development mail sink
    db.session.commit()
    instance = tmp_path / "instance"
    database = Path(db.engine.url.database)
    files = [database, Path(f"{database}-wal"), Path(f"{database}-shm"), app_log, *instance.rglob("*")]
    assert _found(files, NAME, EMAIL), "the person is in the files before erasure (the search works)"

    erase_user(db.session.get(type(user), user.id))
    db.session.commit()  # after the commit: mail sink purged, database compacted

    files = [database, Path(f"{database}-wal"), Path(f"{database}-shm"), app_log, *instance.rglob("*")]
    assert _found(files, NAME, EMAIL) == []
    assert not Path(f"{database}-wal").exists() or Path(f"{database}-wal").stat().st_size == 0
