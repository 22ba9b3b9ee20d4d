"""Backups of an instance: the database, the stored files and the keys, with a manifest of SHA-256 checksums.

A backup is a directory::

    manifest.json            format, date, database kind and Alembic revision, every file with its size and SHA-256
    database.sqlite          SQLite: a consistent copy made with SQLite's online backup API (writers keep going)
    database.dump            PostgreSQL: ``pg_dump --format=custom`` (restored with ``pg_restore``)
    files/storage/…          evidence files (``STORAGE_DIR``)
    files/documents/…        issued PDFs (``DOCUMENTS_DIR``)
    files/signing/…          the instance's signing keys (``INSTANCE_DIR/signing``)
    files/secret_key         the instance's secret key (when it is not given by ``SECRET_KEY``)
    files/badges/…           Open Badges signing keys of the NGOs (``INSTANCE_DIR/badges``; ``files/badge-keys/…``
                             holds ``OB3_KEY_DIR`` when it is set elsewhere)
    files/signing-configured/{key,cert}.pem   a key and certificate configured by SIGNING_KEY_PATH/SIGNING_CERT_PATH

The database is copied first, then the files: a file is always written before the row that names it, so every
row of the copy finds its file (files added meanwhile are merely extra). The manifest is written last, under its
final name only once complete, so an interrupted backup has none and is refused.

Restoring checks everything before changing anything: the manifest, every checksum, no file missing or added, the
kind of database, and that the target instance is empty (no tables, no stored files). The backup holds personal
data and private keys: its directory and files are readable by their owner only.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

FORMAT = "acquis-backup/1"
MANIFEST = "manifest.json"
FILES = "files"
CHUNK = 1024 * 1024
#: Files of the instance directories that are never part of a backup: locks, unfinished writes.
SKIPPED_NAMES = re.compile(r"(^\.lock$|\.part$|^\.)")
#: How many problems a refusal lists at most (a damaged backup may have thousands).
MAX_PROBLEMS = 20


class BackupError(Exception):
    """A backup cannot be made or restored; ``problems`` says why, one line each."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems[:MAX_PROBLEMS]))
        self.problems = problems


@dataclass(frozen=True)
class Source:
    """A directory or a single file of the instance, and its place under ``files/`` in the backup."""

    name: str
    path: Path
    is_directory: bool = True


def _setting(config, name: str) -> str:
    return config.get(name) or os.environ.get(name, "")


def sources(config) -> list[Source]:
    """What a backup of the instance configured by ``config`` holds besides the database."""
    instance = Path(config["INSTANCE_DIR"])
    found = [
        Source("storage", Path(config["STORAGE_DIR"])),
        Source("documents", Path(_setting(config, "DOCUMENTS_DIR") or instance / "documents")),
        Source("signing", instance / "signing"),
        Source("secret_key", instance / "secret_key", is_directory=False),
        # Open Badges signing keys of each NGO (and the former instance key): badges already issued must verify.
        Source("badges", instance / "badges"),
    ]
    if _setting(config, "OB3_KEY_DIR"):
        found.append(Source("badge-keys", Path(_setting(config, "OB3_KEY_DIR"))))
    for variable, name in (("SIGNING_KEY_PATH", "key.pem"), ("SIGNING_CERT_PATH", "cert.pem")):
        if _setting(config, variable):
            found.append(Source(f"signing-configured/{name}", Path(_setting(config, variable)), is_directory=False))
    return found


def _files_of(source: Source) -> Iterator[tuple[str, Path]]:
    """``(name in the backup, path)`` of every regular file of ``source``, in a stable order (links skipped)."""
    if not source.is_directory:
        if source.path.is_file() and not source.path.is_symlink():
            yield f"{FILES}/{source.name}", source.path
        return
    if not source.path.is_dir():
        return
    for path in sorted(source.path.rglob("*")):
        relative = path.relative_to(source.path)
        if path.is_symlink() or not path.is_file() or any(SKIPPED_NAMES.search(part) for part in relative.parts):
            continue
        yield f"{FILES}/{source.name}/{relative.as_posix()}", path


def _copy(source: Path, target: Path) -> tuple[int, str]:
    """Copy ``source`` to ``target`` (mode 0600), streamed; ``(size, sha256)`` of what was written."""
    digest = hashlib.sha256()
    size = 0
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with open(source, "rb") as reader, os.fdopen(fd, "wb") as writer:
        while chunk := reader.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            writer.write(chunk)
        writer.flush()
        os.fsync(writer.fileno())
    return size, digest.hexdigest()


def _checksum(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as reader:
        while chunk := reader.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


# --- Databases ---------------------------------------------------------------------------------------------------


def _revisions(engine) -> list[str]:
    if "alembic_version" not in sa.inspect(engine).get_table_names():
        return []
    with engine.connect() as connection:
        return sorted(connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalars())


def _sqlite_path(engine) -> Path:
    database = engine.url.database
    if not database or database == ":memory:":
        raise BackupError(["an in-memory SQLite database cannot be backed up or restored"])
    return Path(database)


def _sqlite_copy(source: Path, target: Path) -> None:
    """Copy a SQLite database with the online backup API (a consistent snapshot, even while others write)."""
    reader = sqlite3.connect(source)
    writer = sqlite3.connect(target)
    try:
        reader.backup(writer)
        writer.execute("PRAGMA journal_mode=DELETE")  # one self-contained file (no -wal beside it)
        check = writer.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        writer.close()
        reader.close()
    if check != "ok":
        raise BackupError([f"the SQLite copy {target} failed its integrity check: {check}"])


def _pg_environment(engine) -> dict[str, str]:
    """libpq settings for ``pg_dump``/``pg_restore`` (the password in the environment, never on a command line)."""
    url = engine.url
    environment = {**os.environ}
    values = {
        "PGHOST": url.host or url.query.get("host"),
        "PGPORT": str(url.port) if url.port else url.query.get("port"),
        "PGUSER": url.username,
        "PGPASSWORD": url.password,
        "PGDATABASE": url.database,
    }
    environment.update({key: str(value) for key, value in values.items() if value})
    return environment


def _major(version: str) -> int:
    match = re.search(r"(\d+)(?:\.(\d+))?", version)
    if match is None:
        raise BackupError([f"cannot read a PostgreSQL version in {version!r}"])
    return int(match.group(1))


def _pg_tool(name: str) -> tuple[str, int]:
    """The absolute path of the PostgreSQL client program ``name`` and its major version."""
    path = shutil.which(name)
    if path is None:
        raise BackupError([f"{name} is not installed (Debian: apt-get install postgresql-client)"])
    output = subprocess.run([path, "--version"], capture_output=True, text=True, check=True).stdout  # noqa: S603
    return path, _major(output)


def _pg_server_major(engine) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.text("SHOW server_version_num")).scalar()) // 10000


def _pg_dump(engine, target: Path) -> dict:
    (tool, client), server = _pg_tool("pg_dump"), _pg_server_major(engine)
    if client < server:
        raise BackupError(
            [f"pg_dump {client} cannot dump a PostgreSQL {server} server: install postgresql-client-{server}"]
        )
    result = subprocess.run(  # noqa: S603 - fixed arguments, no shell
        [tool, "--format=custom", "--no-owner", "--no-privileges", f"--file={target}"],
        env=_pg_environment(engine),
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise BackupError([f"pg_dump failed: {result.stderr.strip()[-500:]}"])
    os.chmod(target, 0o600)
    return {"pg_dump": client, "server": server}


def _pg_restore(engine, source: Path, dumped_by: int) -> None:
    (tool, client), server = _pg_tool("pg_restore"), _pg_server_major(engine)
    if client < dumped_by:
        raise BackupError([f"pg_restore {client} cannot read a dump of pg_dump {dumped_by}: upgrade the client"])
    if client < server:
        raise BackupError([f"pg_restore {client} is older than the PostgreSQL {server} server: upgrade the client"])
    result = subprocess.run(  # noqa: S603 - fixed arguments, no shell
        [
            tool,
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            f"--dbname={engine.url.database}",
            str(source),
        ],
        env=_pg_environment(engine),
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise BackupError([f"pg_restore failed (nothing was restored): {result.stderr.strip()[-500:]}"])


# --- Create ------------------------------------------------------------------------------------------------------


def create_backup(config, engine, target: Path) -> dict:
    """Back up the instance (``config``, database ``engine``) into the new or empty directory ``target``.

    :returns: the manifest. :raises BackupError: the target is not empty, or a tool failed.
    """
    target = Path(target)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise BackupError([f"{target} already exists and is not an empty directory"])
    target.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(target, 0o700)
    database = {"dialect": engine.dialect.name, "revisions": _revisions(engine)}
    if engine.dialect.name == "sqlite":
        database["file"] = "database.sqlite"
        _sqlite_copy(_sqlite_path(engine), target / database["file"])
        os.chmod(target / database["file"], 0o600)
    elif engine.dialect.name == "postgresql":
        database["file"] = "database.dump"
        database["versions"] = _pg_dump(engine, target / database["file"])
    else:
        raise BackupError([f"backups of {engine.dialect.name} databases are not supported"])
    entries = [_entry(database["file"], *_checksum(target / database["file"]))]
    for source in sources(config):
        for name, path in _files_of(source):
            entries.append(_entry(name, *_copy(path, target / name)))
    manifest = {
        "format": FORMAT,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": database,
        "secret_key": "file" if any(e["path"] == f"{FILES}/secret_key" for e in entries) else "environment",
        "files": entries,
    }
    partial = target / f"{MANIFEST}.part"
    partial.write_text(json.dumps(manifest, indent=1, sort_keys=True))
    os.chmod(partial, 0o600)
    os.replace(partial, target / MANIFEST)
    return manifest


def _entry(path: str, size: int, sha256: str) -> dict:
    return {"path": path, "size": size, "sha256": sha256}


# --- Verify ------------------------------------------------------------------------------------------------------


def verify_backup(source: Path) -> dict:
    """The manifest of the backup in ``source`` once every file is there, unchanged, and nothing else is.

    :raises BackupError: listing what is wrong (missing manifest, missing, altered or unexpected files).
    """
    source = Path(source)
    manifest = _read_manifest(source)
    problems = []
    listed = set()
    for entry in manifest["files"]:
        name = entry.get("path", "")
        listed.add(name)
        path = source / name
        if not _is_safe_name(name):
            problems.append(f"{name!r}: not a path inside the backup")
        elif not path.is_file():
            problems.append(f"{name}: missing")
        elif _checksum(path) != (entry.get("size"), entry.get("sha256")):
            problems.append(f"{name}: damaged (its size or SHA-256 differs from the manifest)")
    for path in sorted(source.rglob("*")):
        name = path.relative_to(source).as_posix()
        if path.is_file() and name != MANIFEST and name not in listed:
            problems.append(f"{name}: not in the manifest")
    if problems:
        raise BackupError(problems)
    return manifest


def _read_manifest(source: Path) -> dict:
    path = source / MANIFEST
    if not path.is_file():
        raise BackupError([f"{source} has no {MANIFEST}: it is not a backup, or the backup did not finish"])
    try:
        manifest = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError):
        raise BackupError([f"{MANIFEST} is damaged (not JSON)"]) from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError([f"{MANIFEST} is not an {FORMAT} manifest"])
    database = manifest.get("database")
    if not isinstance(database, dict) or not isinstance(manifest.get("files"), list):
        raise BackupError([f"{MANIFEST} is incomplete (no database or file list)"])
    if not any(isinstance(e, dict) and e.get("path") == database.get("file") for e in manifest["files"]):
        raise BackupError([f"{MANIFEST} lists no database file"])
    if not all(isinstance(e, dict) for e in manifest["files"]):
        raise BackupError([f"{MANIFEST} is damaged (a file entry is not an object)"])
    return manifest


def _is_safe_name(name: str) -> bool:
    parts = name.split("/")
    return bool(name) and not name.startswith("/") and ".." not in parts and "" not in parts


# --- Restore -----------------------------------------------------------------------------------------------------


def restore_backup(config, engine, source: Path) -> dict:
    """Restore the backup in ``source`` into the empty instance (``config``, database ``engine``).

    Everything is checked first (see :func:`verify_backup` and :func:`_refusals`); then the database is restored,
    then the files, each checked again once written. :returns: the manifest. :raises BackupError:
    """
    source = Path(source)
    manifest = verify_backup(source)
    database = manifest["database"]
    targets = _file_targets(config)
    problems = _refusals(config, engine, manifest, targets)
    if problems:
        raise BackupError(problems)
    if database["dialect"] == "sqlite":
        path = _sqlite_path(engine)
        engine.dispose()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        _sqlite_copy(source / database["file"], path)
    else:
        _pg_restore(engine, source / database["file"], int(database.get("versions", {}).get("pg_dump", 0)))
    for entry in manifest["files"]:
        if entry["path"] == database["file"]:
            continue
        target = _target_of(entry["path"], targets)
        if target.exists():  # a configured key already in place and identical (see _refusals), or a fresh secret
            target.unlink()
        if _copy(source / entry["path"], target) != (entry["size"], entry["sha256"]):
            raise BackupError([f"{target}: written, but differs from the backup (disk full?)"])
    signing = Path(config["INSTANCE_DIR"]) / "signing"
    if signing.is_dir():
        os.chmod(signing, 0o700)
    return manifest


def _file_targets(config) -> dict[str, Source]:
    return {source.name: source for source in sources(config)}


def _target_of(name: str, targets: dict[str, Source]) -> Path:
    """Where the backup's file ``name`` (``files/<source>/<relative path>``) goes in this instance."""
    relative = name.removeprefix(f"{FILES}/")
    for source_name, source in targets.items():
        if not source.is_directory and relative == source_name:
            return source.path
        if source.is_directory and relative.startswith(f"{source_name}/"):
            return source.path / relative.removeprefix(f"{source_name}/")
    raise BackupError([f"{name}: this instance has no place for it (set SIGNING_KEY_PATH/SIGNING_CERT_PATH?)"])


def _refusals(config, engine, manifest: dict, targets: dict[str, Source]) -> list[str]:
    """Why the backup cannot be restored here (empty when it can)."""
    problems = []
    dialect = manifest["database"]["dialect"]
    if dialect != engine.dialect.name:
        problems.append(f"the backup holds a {dialect} database; DATABASE_URL is a {engine.dialect.name} database")
    tables = sa.inspect(engine).get_table_names()
    if tables:
        problems.append(
            f"the database is not empty ({len(tables)} tables): restore into a new database, or drop this one first"
        )
    for name in ("storage", "documents"):
        if next(_files_of(targets[name]), None) is not None:
            problems.append(f"{targets[name].path} holds files: restore into an empty instance")
    for entry in manifest["files"]:
        name = entry["path"]
        if name == manifest["database"]["file"]:
            continue
        try:
            target = _target_of(name, targets)
        except BackupError as error:
            problems.extend(error.problems)
            continue
        # A configured key or certificate is the operator's file: never replaced by a different one.
        configured = name.startswith(f"{FILES}/signing-configured/") and target.exists()
        if configured and _checksum(target) != (entry["size"], entry["sha256"]):
            problems.append(f"{target} exists and differs from the backup's {name}")
    return problems[:MAX_PROBLEMS]
