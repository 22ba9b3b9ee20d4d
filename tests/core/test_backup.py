"""Restore drill: an instance with users, a mission, claims with evidence, a validation and a printed signed document
is backed up (``flask backup create``), wiped (database, files, keys), and restored (``flask backup restore``) into
a fresh instance: every row, file and key comes back, the document verifies (code page, uploaded PDF, signature),
and a session signed before the backup is still valid. A damaged, incomplete or misplaced backup is refused and
changes nothing. On a SQLite file, or on PostgreSQL (pg_dump/pg_restore) when TEST_DATABASE_URL is set."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.extensions import db
from tests.fixtures.app import TEST_PASSWORD, make_test_app
from tests.fixtures.live import committed_app

PDF_EVIDENCE = b"%PDF-1.4\n% field report\n" + bytes(range(256)) * 8


@pytest.fixture
def instance(tmp_path, monkeypatch):
    """An instance with its own database, an instance secret key (SECRET_KEY unset) and sync renders."""
    with committed_app(tmp_path, monkeypatch, "backup", DOCUMENT_RENDER_MODE="sync", SECRET_KEY=None) as app:
        yield app


def fresh_app(app):
    """The same instance started again (a restart): same database and directories, keys read from disk."""
    return make_test_app(
        app.config["SQLALCHEMY_DATABASE_URI"],
        Path(app.config["INSTANCE_DIR"]),
        DOCUMENT_RENDER_MODE="sync",
        SECRET_KEY=None,
    )


def build_world(app, *, printed: bool = True) -> dict:
    """Users of an NGO, a mission, claims with evidence validated by a trainer, a printed portfolio (``printed``)."""
    from app.documents import operations as ops
    from app.documents.models import DocumentKind, JobState
    from tests import cast

    with app.app_context():
        ngo = cast.make_ngo("Backed-up NGO")
        trainer = cast.make_person(email="trainer@example.org", name="Tara Trainer", member_of=ngo, role="trainer")
        volunteer = cast.make_person(email="volunteer@example.org", name="Vera Volunteer", member_of=ngo)
        _version, nodes = cast.make_framework(db.session, slug="backup-fw")
        mission = cast.create_mission(volunteer)
        evidence = cast.store_evidence(volunteer, PDF_EVIDENCE, title="Field report")
        claims = cast.create_claims(volunteer, mission, nodes[:2], evidence=[evidence])
        cast.validate_everything(cast.submit_claims(volunteer, mission, ngo, claims), trainer)
        if not printed:
            db.session.commit()
            return {}
        job = ops.request_document(
            volunteer, ops.PrintRequest(kind=DocumentKind.PORTFOLIO, language="fr", holder=volunteer)
        )
        ops.dispatch(job)
        assert job.state == JobState.DONE, job.error
        db.session.commit()
        return {"document_id": job.document_id}


def fingerprint(app) -> dict[str, str]:
    """A SHA-256 of every table's rows, in primary-key order."""
    with app.app_context():
        result = {}
        with db.engine.connect() as connection:
            for table in db.metadata.sorted_tables:
                rows = connection.execute(sa.select(table).order_by(*table.primary_key.columns)).all()
                result[table.name] = hashlib.sha256(repr([tuple(row) for row in rows]).encode()).hexdigest()
            versions = connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalars().all()
            result["alembic_version"] = ",".join(sorted(versions))
        return result


def instance_files(app) -> dict[str, str]:
    """SHA-256 of every file the instance keeps (evidence, documents, signing keys, secret key)."""
    root = Path(app.config["INSTANCE_DIR"])
    found = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        kept = relative.split("/")[0] in {"storage", "documents", "signing", "secret_key"}
        if path.is_file() and kept and not path.name.startswith("."):
            found[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


def wipe(app) -> None:
    """Lose everything: the database's tables and every file of the instance."""
    with app.app_context():
        db.session.remove()
        engine = db.engine
        if engine.dialect.name == "postgresql":
            with engine.begin() as connection:
                connection.execute(sa.text("DROP SCHEMA public CASCADE"))
                connection.execute(sa.text("CREATE SCHEMA public"))
        else:
            engine.dispose()
            for suffix in ("", "-wal", "-shm"):
                Path(f"{engine.url.database}{suffix}").unlink(missing_ok=True)
        engine.dispose()
    root = Path(app.config["INSTANCE_DIR"])
    for name in ("storage", "documents", "signing"):
        shutil.rmtree(root / name, ignore_errors=True)
    (root / "secret_key").unlink(missing_ok=True)


def backup(app, directory: Path):
    result = invoke(app, "create", directory)
    assert result.exit_code == 0, result.output
    return result


def invoke(app, command: str, directory: Path):
    """``flask backup COMMAND DIRECTORY`` on ``app`` (its own app context: the test's is another app's)."""
    with app.app_context():
        return app.test_cli_runner().invoke(args=["backup", command, str(directory)])


def restore(app, directory: Path):
    return invoke(app, "restore", directory)


def table_count(app) -> int:
    with app.app_context():
        return len(sa.inspect(db.engine).get_table_names())


def test_restore_drill(instance, tmp_path):
    from app.claims.models import Evidence
    from app.core.storage import path_for
    from app.documents import operations as ops
    from app.documents.models import Document

    world = build_world(instance)
    signed_in = instance.test_client()
    assert (
        signed_in.post("/auth/login", data={"email": "volunteer@example.org", "password": TEST_PASSWORD}).status_code
        == 302
    )
    session_cookie = signed_in.get_cookie("acquis_session").value
    rows, files = fingerprint(instance), instance_files(instance)
    assert any(name.startswith("storage/") for name in files) and any(name.startswith("documents/") for name in files)
    assert "secret_key" in files and any(name.startswith("signing/") for name in files)

    created = backup(instance, tmp_path / "backup")
    assert "secret key: file" in created.output
    wipe(instance)
    assert instance_files(instance) == {}

    restarted = fresh_app(instance)  # an empty instance: a new secret key is generated at start
    assert restarted.config["SECRET_KEY"] != instance.config["SECRET_KEY"]
    result = restore(restarted, tmp_path / "backup")
    assert result.exit_code == 0, result.output
    assert "Restored" in result.output

    restored = fresh_app(instance)
    assert restored.config["SECRET_KEY"] == instance.config["SECRET_KEY"]
    assert fingerprint(restored) == rows
    assert instance_files(restored) == files
    with restored.app_context():
        for evidence in db.session.scalars(sa.select(Evidence)):
            assert hashlib.sha256(path_for(evidence.storage_key).read_bytes()).hexdigest() == evidence.sha256
        document = db.session.get(Document, world["document_id"])
        pdf = ops.document_path(document).read_bytes()
        assert hashlib.sha256(pdf).hexdigest() == document.sha256
        code = ops.codes.formatted(document.code)

    guest = restored.test_client()
    page = guest.get(f"/verify/{code}")
    assert page.status_code == 200 and "Vera Volunteer" in page.get_data(as_text=True)
    uploaded = guest.post(
        "/verify",
        data={"file": (io.BytesIO(pdf), "dossier.pdf")},
        content_type="multipart/form-data",
        headers={"Accept-Language": "en"},
    )
    assert "Its electronic signature is valid." in uploaded.get_data(as_text=True)

    same_person = restored.test_client()
    same_person.set_cookie("acquis_session", session_cookie)
    home = same_person.get("/documents/")
    assert home.status_code == 200 and "Vera Volunteer" in home.get_data(as_text=True)


@pytest.fixture
def backed_up(instance, tmp_path):
    """A backup of a small instance, then the instance wiped and started again empty."""
    build_world(instance, printed=False)
    backup(instance, tmp_path / "backup")
    wipe(instance)
    return fresh_app(instance), tmp_path / "backup"


def damaged_copy(source: Path, target: Path, change) -> Path:
    shutil.copytree(source, target)
    change(target)
    return target


def first_evidence_file(directory: Path) -> Path:
    return next(path for path in sorted((directory / "files" / "storage").rglob("*")) if path.is_file())


def flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda d: flip_a_byte(first_evidence_file(d)), "damaged (its size or SHA-256 differs from the manifest)"),
        (lambda d: first_evidence_file(d).unlink(), ": missing"),
        (lambda d: flip_a_byte(next(d.glob("database.*"))), "database."),
        (lambda d: (d / "manifest.json").unlink(), "has no manifest.json"),
        (lambda d: (d / "manifest.json").write_text("{not json"), "manifest.json is damaged"),
        (lambda d: (d / "files" / "storage" / "extra.bin").write_bytes(b"x"), "files/storage/extra.bin: not in the"),
    ],
    ids=["altered-file", "missing-file", "altered-database", "no-manifest", "broken-manifest", "unexpected-file"],
)
def test_a_damaged_or_incomplete_backup_is_refused_and_changes_nothing(backed_up, tmp_path, change, expected):
    app, directory = backed_up
    broken = damaged_copy(directory, tmp_path / "broken", change)
    result = restore(app, broken)
    assert result.exit_code != 0
    assert "Restore refused" in result.output and expected in result.output, result.output
    assert table_count(app) == 0
    assert instance_files(app) == {name: digest for name, digest in instance_files(app).items() if name == "secret_key"}


def test_restore_refuses_an_instance_that_is_not_empty(backed_up):
    from flask_migrate import upgrade

    app, directory = backed_up
    with app.app_context():
        upgrade(revision="heads")
    tables = table_count(app)
    result = restore(app, directory)
    assert result.exit_code != 0 and "the database is not empty" in result.output, result.output
    assert table_count(app) == tables


def test_backup_refuses_a_directory_that_is_not_empty(instance, tmp_path):
    target = tmp_path / "used"
    target.mkdir()
    (target / "old.txt").write_text("keep me")
    result = invoke(instance, "create", target)
    assert result.exit_code != 0 and "is not an empty directory" in result.output
    assert (target / "old.txt").read_text() == "keep me"


def test_the_backup_is_private_and_its_manifest_lists_every_file(instance, tmp_path):
    build_world(instance)
    backup(instance, tmp_path / "backup")
    directory = tmp_path / "backup"
    manifest = json.loads((directory / "manifest.json").read_text())
    listed = {entry["path"] for entry in manifest["files"]}
    on_disk = {p.relative_to(directory).as_posix() for p in directory.rglob("*") if p.is_file()} - {"manifest.json"}
    assert listed == on_disk
    assert manifest["database"]["revisions"] and manifest["secret_key"] == "file"
    assert directory.stat().st_mode & 0o077 == 0
    assert all((directory / name).stat().st_mode & 0o077 == 0 for name in listed)
    result = invoke(instance, "verify", directory)
    assert result.exit_code == 0 and "is complete" in result.output


def test_pg_dump_older_than_the_server_is_refused(monkeypatch, tmp_path):
    from app.core import backup as backup_module

    monkeypatch.setattr(backup_module, "_pg_tool", lambda name: (f"/usr/bin/{name}", 15))
    monkeypatch.setattr(backup_module, "_pg_server_major", lambda engine: 16)
    with pytest.raises(backup_module.BackupError) as refused:
        backup_module._pg_dump(None, tmp_path / "database.dump")
    assert "pg_dump 15 cannot dump a PostgreSQL 16 server: install postgresql-client-16" in str(refused.value)
    with pytest.raises(backup_module.BackupError) as refused:
        backup_module._pg_restore(None, tmp_path / "database.dump", dumped_by=16)
    assert "pg_restore 15 cannot read a dump of pg_dump 16" in str(refused.value)


def test_restore_into_a_database_that_does_not_exist_says_so(backed_up, tmp_path):
    app, directory = backed_up
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        missing = make_test_app(f"sqlite:///{tmp_path / 'no-such-dir' / 'x.sqlite'}", tmp_path / "other")
    else:
        url = sa.engine.make_url(app.config["SQLALCHEMY_DATABASE_URI"]).set(database="acquis_no_such_database")
        missing = make_test_app(url.render_as_string(hide_password=False), tmp_path / "other")
    result = restore(missing, directory)
    assert result.exit_code != 0 and "cannot reach the database (create it empty first)" in result.output
