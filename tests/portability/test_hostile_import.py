"""Imports that try to hurt the server or smuggle bad data: each is refused with a 4xx that explains what is wrong
and where (next to the upload field), changes nothing, within 2 s and in bounded memory.

The archives are built by hand around a minimal valid export, so each test changes exactly one thing."""

from __future__ import annotations

import io
import json
import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.portability.export import FORMAT

#: What one refused import may cost at most (the issue measured +133 MB and 13.4 s for a 724-byte YAML bomb).
MAX_SECONDS = 2.0
MAX_PEAK_BYTES = 16 * 1024 * 1024

MISSION = {
    "ref": "x0",
    "kind": "mission",
    "title": "Water project coordinator",
    "start_date": "2023-01-10",
    "end_date": "2023-12-20",
    "host_name": "Agua Viva",
    "host_country": "PE",
    "host_city": "Cusco",
    "status_code": None,
    "working_time": "full_time",
    "hours_per_week": 40,
    "team_size": 4,
    "budget_managed_eur": 12000,
    "people_served": 300,
    "languages_used": "Spanish",
    "context": "A rural water project.",
    "activities": "Coordinated the team.",
    "results": "Three wells.",
    "provider": "",
    "training_kind": None,
    "hours": None,
    "certificate": "",
    "sending_organisation": "Solidarity NGO",
    "claims": [],
    "referent_confirmations": [],
}


def base_document() -> dict:
    return {
        "format": FORMAT,
        "instance": "http://elsewhere.example",
        "frameworks": [],
        "crosswalks": [],
        "evidence": [],
        "experiences": [json.loads(json.dumps(MISSION))],
    }


def make_zip(document=None, *, raw_json: bytes | None = None, extra: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("export.json", raw_json if raw_json is not None else json.dumps(document or base_document()))
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _state(app) -> tuple:
    """Everything an import could change: row counts of the portfolio and catalogue tables, stored files."""
    from app.claims.models import Claim, Evidence
    from app.core.audit import AuditEvent
    from app.experiences.models import Experience
    from app.extensions import db
    from app.frameworks.models import Crosswalk, Framework, FrameworkNode, FrameworkVersion
    from app.portability.models import ImportedConfirmation, ImportedValidation

    tables = (
        Experience,
        Claim,
        Evidence,
        Framework,
        FrameworkVersion,
        FrameworkNode,
        Crosswalk,
        ImportedValidation,
        ImportedConfirmation,
        AuditEvent,
    )
    counts = tuple(db.session.scalar(sa.select(sa.func.count()).select_from(t)) for t in tables)
    files = sorted(str(p) for p in Path(app.config["STORAGE_DIR"]).rglob("*") if p.is_file())
    return counts, files


@pytest.fixture
def importer(app, client, login, create_user, db_session):
    user = create_user("importer@example.org", name="Ines Importer", locale="en")
    login(client, user)
    client.user = user

    def post(zip_bytes: bytes):
        """Post twice: timed without tracing (tracemalloc slows every allocation), then traced for memory."""

        def send():
            return client.post("/account/data/import", data={"file": (io.BytesIO(zip_bytes), "acquis-export.zip")})

        before = _state(app)
        started = time.perf_counter()
        response = send()
        elapsed = time.perf_counter() - started
        tracemalloc.start()
        try:
            send()
            _current, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        return response, elapsed, peak, before, _state(app)

    return post


def assert_refused(result, *expected):
    response, elapsed, peak, before, after = result
    page = response.get_data(as_text=True)
    assert 400 <= response.status_code < 500, (response.status_code, page[:300])
    assert 'id="file-error"' in page  # the explanation sits next to the upload field
    for text in expected:
        assert text in page, text
    assert after == before  # nothing changed: rows and stored files
    assert elapsed < MAX_SECONDS, elapsed
    assert peak < MAX_PEAK_BYTES, peak


def test_a_valid_minimal_export_is_imported(importer):
    response, _elapsed, _peak, before, after = importer(make_zip())
    assert response.status_code == 302
    assert after != before


def test_yaml_alias_bomb_is_refused(importer):
    # 10 levels, each a list of 10 aliases of the previous one: 10**10 leaves once expanded, a few hundred bytes.
    lines = ["format: acquis-framework/1", "id: bomb", 'version: "1"', "a0: &a0 [lol, lol, lol, lol, lol]"]
    for level in range(1, 11):
        previous = f"*a{level - 1}"
        lines.append(f"a{level}: &a{level} [{', '.join([previous] * 10)}]")
    lines.append("nodes: *a10")
    bomb = "\n".join(lines).encode()
    assert len(bomb) < 1000
    document = base_document()
    document["frameworks"] = [
        {"slug": "bomb", "version": "1", "content_hash": "0" * 64, "kind": "own", "file": "frameworks/bomb--1.yaml"}
    ]
    assert_refused(importer(make_zip(document, extra={"frameworks/bomb--1.yaml": bomb})), "frameworks/bomb--1.yaml")


def test_oversized_yaml_is_refused_before_parsing(importer):
    huge = b"format: acquis-framework/1\nid: big\nversion: '1'\nnodes:\n" + b"  - {code: X, kind: skill}\n" * 400_000
    document = base_document()
    document["frameworks"] = [
        {"slug": "big", "version": "1", "content_hash": "0" * 64, "kind": "own", "file": "frameworks/big--1.yaml"}
    ]
    assert_refused(importer(make_zip(document, extra={"frameworks/big--1.yaml": huge})), "frameworks/big--1.yaml")


def test_yaml_with_too_many_items_is_refused_before_composing(importer):
    """Under the size limit, but 400,000 items: composing it would take many seconds and hundreds of MB."""
    many = b"format: acquis-framework/1\nid: many\nversion: '1'\nnodes: [" + b"a," * 400_000 + b"a]\n"
    document = base_document()
    document["frameworks"] = [
        {"slug": "many", "version": "1", "content_hash": "0" * 64, "kind": "own", "file": "frameworks/many--1.yaml"}
    ]
    assert_refused(importer(make_zip(document, extra={"frameworks/many--1.yaml": many})), "too many items")


@pytest.fixture(scope="module")
def honest_huge_entry() -> bytes:
    """A zip of about 300 KB whose evidence entry honestly declares (and holds) 300 MB of zeros."""
    document = base_document()
    document["evidence"] = [{"ref": "e0", "title": "Scan", "file": "files/e0.pdf", "sha256": "0" * 64}]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("export.json", json.dumps(document))
        with archive.open("files/e0.pdf", "w", force_zip64=True) as entry:
            chunk = b"\0" * (1024 * 1024)
            for _ in range(300):
                entry.write(chunk)
    return buffer.getvalue()


def test_zip_with_an_honestly_declared_huge_entry_is_refused(importer, honest_huge_entry):
    assert len(honest_huge_entry) < 1024 * 1024
    assert_refused(importer(honest_huge_entry), "files/e0.pdf")


def test_zip_whose_entry_lies_about_its_size_is_refused(importer):
    """The declared size is small; the content is larger: the reader stops at the limit, whatever the header."""
    body = json.dumps(base_document()).encode() + b" " * (20 * 1024 * 1024)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("export.json", body)
    data = bytearray(buffer.getvalue())
    # Patch the uncompressed size (local header at offset 22, central directory at +24) down to 1 KB.
    data[22:26] = (1024).to_bytes(4, "little")
    central = data.rfind(b"PK\x01\x02")
    data[central + 24 : central + 28] = (1024).to_bytes(4, "little")
    assert_refused(importer(bytes(data)))


def test_too_many_entries_are_refused(importer):
    extra = {f"files/{i}.txt": b"" for i in range(6000)}
    assert_refused(importer(make_zip(extra=extra)), "entries")


def test_deep_json_is_refused(importer):
    deep = b'{"format": "acquis-export/1", "experiences": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert_refused(importer(make_zip(raw_json=deep)), "export.json")


def test_json_that_would_take_much_memory_is_refused(importer):
    """600,000 empty lists: 1.8 MB of text, about 40 MB of Python objects."""
    raw = b'{"format": "acquis-export/1", "experiences": [' + b"[]," * 600_000 + b"[]]}"
    assert_refused(importer(make_zip(raw_json=raw)), "export.json")


def test_huge_integer_is_refused(importer):
    document = base_document()
    document["experiences"][0]["team_size"] = 10**30
    assert_refused(importer(make_zip(document)), "team_size")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("title", "Water\x00coordinator", "control characters"),
        ("title", "Coordinator \u202egnp.exe", "direction"),
        ("host_name", "Agua \u2066Viva\u2069", "direction"),
        ("context", "x" * 2_000_000, "at most 5000 characters"),
        ("team_size", "lots", "team_size"),
        ("start_date", "not a date", "start_date"),
        ("kind", "spaceship", "kind"),
    ],
    ids=["nul", "rlo", "isolate", "2M-chars", "team-size-lots", "bad-date", "bad-kind"],
)
def test_records_pass_the_form_validators(importer, field, value, message):
    document = base_document()
    document["experiences"][0][field] = value
    assert_refused(importer(make_zip(document)), message, "Experience 1")


def test_imported_names_pass_the_shared_validators(importer):
    document = base_document()
    document["experiences"][0]["referent_confirmations"] = [
        {"name": "Rosa \u202eReferent", "organisation_name": "Agua Viva", "role": "Coordinator", "comment": ""}
    ]
    assert_refused(importer(make_zip(document)), "direction")


@pytest.mark.parametrize("field", ["framework", "node_code"])
def test_identifiers_that_are_not_text_are_refused(importer, field):
    """Compared in SQL, a number or an object where a code belongs must be a refusal, not a database error."""
    document = base_document()
    claim = {"ref": "c0", "framework": "fw", "framework_version": "1", "node_code": "C1", "level_rank": None}
    claim[field] = {"$gt": ""} if field == "framework" else 12
    document["experiences"][0]["claims"] = [claim]
    document["frameworks"] = [{"slug": "fw", "version": "1", "content_hash": "0" * 64, "kind": "own", "file": None}]
    assert_refused(importer(make_zip(document)), "damaged")


def test_an_instance_address_with_a_bidi_control_is_refused(importer):
    document = base_document()
    document["instance"] = "https://‮elpmaxe.org"
    document["experiences"][0]["referent_confirmations"] = [{"name": "Rosa", "organisation_name": "", "role": ""}]
    assert_refused(importer(make_zip(document)), "direction")


def test_refusals_are_translated(importer, client, db_session):
    client.user.locale = "fr"
    db_session.flush()
    document = base_document()
    document["experiences"][0]["title"] = "Coordinator \u202egnp.exe"
    response, *_rest = importer(make_zip(document))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Expérience 1" in page and "sens de lecture" in page
