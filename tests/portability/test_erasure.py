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
    from app.auth.models import UserSession
    from app.core.audit import AuditEvent
    from app.core.storage import path_for
    from app.portability.models import ErasedUser
    from app.sharing.models import Share
    from tests.portability.world import issue_stand_in_document

    issue_stand_in_document(db_session, world)
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
    # the audit log keeps its rows, with the id only, never the address or the name
    events = db_session.scalars(sa.select(AuditEvent).where(AuditEvent.actor_id == user_id)).all()
    assert events
    assert all(email not in (e.actor_label + str(e.data)) and name not in str(e.data) for e in events)
    # both browsers are signed out
    assert other_browser.get("/sharing/").status_code == 302
    assert client.get("/sharing/").status_code == 302


def test_actor_of_an_erased_account_is_a_former_user(app, world, db_session):
    from app.portability.erasure import actor_name, erase_user

    user_id = world.stranger.id
    assert actor_name(user_id) == "Stan Stranger"
    erase_user(world.stranger)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert actor_name(user_id) == "a former user"


def test_validations_of_an_erased_trainer_remain_as_a_former_trainer(app, client, login, world, db_session):
    from app.portability.erasure import erase_user
    from app.validation.models import ClaimValidation

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
