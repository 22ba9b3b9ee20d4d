"""Account erasure, and the registry test that keeps export and erasure complete."""

from __future__ import annotations

import sqlalchemy as sa

from app.core.db import Base
from app.portability.erasure import ERASURE_REGISTRY
from app.portability.export import EXPORT_REGISTRY
from tests.fixtures.app import TEST_PASSWORD

PERSON_COLUMNS = {"user_id", "owner_id", "volunteer_id", "holder_id"}


def _person_tables() -> set[str]:
    tables = set()
    for table in Base.metadata.sorted_tables:
        refers = any(fk.column.table.name == "users" for fk in table.foreign_keys)
        if refers or PERSON_COLUMNS & set(table.columns.keys()) or table.name == "users":
            tables.add(table.name)
    return tables


def test_every_table_referring_to_a_person_is_in_both_registries():
    tables = _person_tables()
    assert "experiences" in tables and "shares" in tables  # the introspection works
    missing_export = sorted(tables - set(EXPORT_REGISTRY))
    missing_erasure = sorted(tables - set(ERASURE_REGISTRY))
    assert not missing_export, f"tables missing from app.portability.export.EXPORT_REGISTRY: {missing_export}"
    assert not missing_erasure, f"tables missing from app.portability.erasure.ERASURE_REGISTRY: {missing_erasure}"


def test_registries_name_no_table_that_does_not_exist():
    names = {t.name for t in Base.metadata.sorted_tables}
    assert set(EXPORT_REGISTRY) <= names
    assert set(ERASURE_REGISTRY) <= names


def _rows_referring_to(db_session, user_id: int, email: str) -> list[str]:
    found = []
    for table in Base.metadata.sorted_tables:
        columns = [
            c
            for c in table.columns
            if any(fk.column.table.name == "users" for fk in c.foreign_keys) or c.name in PERSON_COLUMNS
        ]
        if table.name == "users":
            columns = [table.c.id]
        if table.name == "erased_users":
            continue
        for column in columns:
            if db_session.scalar(sa.select(sa.func.count()).select_from(table).where(column == user_id)):
                found.append(f"{table.name}.{column.name}")
        for column in table.columns:
            textual = isinstance(column.type, sa.String)
            if textual and column.name in {"email", "adviser_email", "key", "actor_label"}:
                where = column.contains(email)
                if db_session.scalar(sa.select(sa.func.count()).select_from(table).where(where)):
                    found.append(f"{table.name}.{column.name} (e-mail)")
    return found


def test_deleting_an_account_leaves_no_row_file_or_session(app, client, login, world, db_session):
    from app.auth.models import ErasedUser, UserSession
    from app.core.audit import AuditEvent
    from app.core.storage import path_for
    from app.sharing.models import Share
    from tests.cast import issue_stand_in_document

    issue_stand_in_document(world)
    login(client, world.volunteer)
    client.post(
        "/sharing/", data={"kind": "adviser", "adviser_email": world.adviser.email, "days": "30", "scope": "all"}
    )
    assert db_session.scalar(sa.select(sa.func.count(Share.id))) == 1
    other_browser = app.test_client()
    login(other_browser, world.volunteer)
    file_path = path_for(world.pdf.storage_key)
    assert file_path.exists()
    user_id, email, name = world.volunteer.id, world.volunteer.email, world.volunteer.display_name

    assert client.get("/account/delete").status_code == 200
    refused = client.post("/account/delete", data={"current_password": "wrong", "confirmation": email})
    assert refused.status_code == 422
    refused = client.post("/account/delete", data={"current_password": TEST_PASSWORD, "confirmation": "yes"})
    assert refused.status_code == 422
    response = client.post("/account/delete", data={"current_password": TEST_PASSWORD, "confirmation": email.upper()})
    assert response.status_code == 302

    assert _rows_referring_to(db_session, user_id, email) == []
    assert db_session.scalar(sa.select(sa.func.count(UserSession.id)).where(UserSession.user_id == user_id)) == 0
    assert not file_path.exists()
    assert not world.document_path.exists()
    assert db_session.get(ErasedUser, user_id) is not None
    # the audit log keeps its rows, redacted: not even the id, the address or the name of the person is left
    assert db_session.scalars(sa.select(AuditEvent).where(AuditEvent.actor_id == user_id)).all() == []
    redacted = db_session.scalars(sa.select(AuditEvent).where(AuditEvent.actor_label == "erased")).all()
    assert {"user.logged_in"} <= {e.action for e in redacted}
    assert all(e.ip_address is None for e in redacted)
    assert db_session.scalar(sa.select(AuditEvent.data).where(AuditEvent.action == "audit.redacted"))["rows"] > 0
    for e in db_session.scalars(sa.select(AuditEvent)).all():
        text = f"{e.actor_label} {e.object_id} {e.data}"
        assert email not in text and name not in text
        assert not (e.object_type == "User" and e.object_id == str(user_id))
    # both browsers are signed out
    assert other_browser.get("/sharing/").status_code == 302
    assert client.get("/sharing/").status_code == 302


def test_actor_of_an_erased_account_is_a_former_user(app, world, db_session):
    from app.auth.erased import actor_name
    from app.portability.erasure import erase_user

    user_id = world.stranger.id
    assert actor_name(user_id) == "Stan Stranger"
    erase_user(world.stranger)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert actor_name(user_id) == "a former user"


def test_validations_of_an_erased_trainer_remain_as_a_former_trainer(app, client, login, world, db_session):
    from app.claims.validations import ClaimValidation
    from app.portability.erasure import erase_user

    validation_id = world.validation.id
    erase_user(world.trainer)
    db_session.commit()
    validation = db_session.get(ClaimValidation, validation_id)
    assert validation is not None and validation.is_current
    assert validation.validator_id is None and validation.validator_name == ""
    login(client, world.volunteer)
    page = client.get(f"/portfolio/claims/{world.claims[0].id}").get_data(as_text=True)
    assert "Théo" not in page
    assert "validated by a former trainer (Solidarité Monde)" in page


def test_erasing_an_adviser_removes_the_shares_naming_them(client, login, world, db_session):
    from app.portability.erasure import erase_user
    from app.sharing.models import Share

    login(client, world.volunteer)
    client.post(
        "/sharing/", data={"kind": "adviser", "adviser_email": world.adviser.email, "days": "30", "scope": "all"}
    )
    erase_user(world.adviser)
    db_session.flush()
    assert db_session.scalar(sa.select(sa.func.count(Share.id))) == 0


# --- The export is complete: a walk over the metadata ---


def _tables_referring_to_users() -> set[str]:
    """Every table with a foreign key to ``users``, every table with a person column, and the audit log."""
    return _person_tables() | {"audit_events"}


def _not_exported_in_format_md() -> dict[str, str]:
    from pathlib import Path

    import app.portability

    text = (Path(app.portability.__file__).parent / "FORMAT.md").read_text(encoding="utf-8")
    section = text.split("## Not exported", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0].startswith("`"):
            rows[cells[0].strip("`")] = cells[1]
    return rows


def test_every_table_referring_to_a_person_is_exported_or_excluded_with_its_reason(world, db_session):
    """Walk the SQLAlchemy metadata for every foreign key to ``users``: each table is either exported (its place
    in the registry exists in a real export) or listed in FORMAT.md's "Not exported" with a reason."""
    from app.portability.export import build_export

    foreign_keys = {
        table.name
        for table in Base.metadata.sorted_tables
        for fk in table.foreign_keys
        if fk.column.table.name == "users"
    }
    assert {"shares", "share_accesses", "submissions", "notifications", "user_sessions"} <= foreign_keys
    document, _files = build_export(world.volunteer)
    excluded = _not_exported_in_format_md()
    for table in sorted(foreign_keys | _tables_referring_to_users()):
        place = EXPORT_REGISTRY[table]
        if place.startswith("-"):
            assert excluded.get(table), f"{table} is not exported: FORMAT.md must say why"
            continue
        for target in place.split(" + "):
            path = target.split(" ")[0].split("[")[0]
            if path.endswith("/"):
                continue  # files beside export.json in the zip
            top, _dot, section = path.partition(".")
            assert top in document, (table, target)
            if section:
                assert section in document[top], (table, target)
    assert set(excluded) == {t for t, place in EXPORT_REGISTRY.items() if place.startswith("-")}


def test_the_export_holds_the_records_the_issue_found_missing(app, client, login, world, db_session):
    """Shares, their accesses, submissions, opinions about the person, notifications, sessions, audit events, the
    fact of survey participation and the account fields."""
    from app.portability.export import build_export
    from app.survey.models import SurveyParticipation
    from tests import cast

    volunteer = world.volunteer
    login(client, volunteer)  # a session and a user.logged_in event
    client.post(
        "/sharing/", data={"kind": "adviser", "adviser_email": world.adviser.email, "days": "30", "scope": "all"}
    )
    mission = cast.create_mission(volunteer, title="School garden", sending_organisation_id=world.ngo.id)
    claims = cast.create_claims(volunteer, mission, world.nodes[:1])
    cast.submit_claims(volunteer, mission, world.ngo, claims)
    db_session.add(SurveyParticipation(user_id=volunteer.id, questionnaire_id="impact", questionnaire_version=2))
    db_session.flush()
    records = build_export(volunteer)[0]["records"]
    assert records["account"][0]["email"] == volunteer.email and "password_hash" not in records["account"][0]
    assert records["sessions"] and "key_hash" not in records["sessions"][0]
    assert records["shares"] and "token_hash" not in records["shares"][0]
    assert records["submissions"] and records["submission_items"]
    assert records["survey_participations"] == [
        {
            "id": records["survey_participations"][0]["id"],
            "user_id": volunteer.id,
            "questionnaire_id": "impact",
            "questionnaire_version": 2,
        }
    ]
    assert {e["action"] for e in records["audit_events"]} >= {"user.logged_in"}
    assert any(n["kind"] for n in build_export(world.trainer)[0]["records"]["notifications"])
