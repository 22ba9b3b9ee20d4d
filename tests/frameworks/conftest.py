"""Fixtures of the frameworks tests: fixture files in the official formats and import helpers."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture
def import_yaml(db_session):
    """Import fixture YAML files (names relative to fixtures/) and return the results."""
    from app.frameworks import operations as ops
    from app.frameworks.importers.yaml_format import parse_files

    def do_import(*names):
        frameworks, crosswalks = parse_files([FIXTURES / n for n in names])
        return ops.import_batch(frameworks, crosswalks)

    return do_import


@pytest.fixture
def esco_dir(tmp_path) -> Path:
    """A writable copy of the ESCO fixture package."""
    target = tmp_path / "esco"
    shutil.copytree(FIXTURES / "esco", target)
    return target


@pytest.fixture
def import_esco(db_session):
    from app.frameworks import operations as ops
    from app.frameworks.importers.esco_csv import parse_esco

    def do_import(directory=FIXTURES / "esco", version="1.2.0", languages=None):
        return ops.import_batch([parse_esco(directory, version=version, languages=languages)])

    return do_import


@pytest.fixture
def count_statements(app):
    """Context manager counting the SQL statements run inside it: ``with count_statements() as n: ...; n()``."""
    from contextlib import contextmanager

    import sqlalchemy as sa

    from app.extensions import db

    @contextmanager
    def counter():
        statements = []

        def listener(conn, cursor, statement, parameters, context, executemany):
            if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "PRAGMA")):
                statements.append(statement)

        sa.event.listen(db.engine, "before_cursor_execute", listener)
        try:
            yield lambda: len(statements)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", listener)

    return counter


@pytest.fixture
def signed_in(client, create_user, login):
    """A client signed in as an ordinary user."""
    login(client, create_user())
    return client


@pytest.fixture
def admin_client(app, create_user, login):
    client = app.test_client()
    login(client, create_user(platform_admin=True, totp=True))
    return client
