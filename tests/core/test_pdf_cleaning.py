"""Uploaded PDFs lose their active content (JavaScript, automatic and launch actions, embedded files, XFA, rich
media) and keep their pages; the evidence remembers that it was cleaned and reviewers see it."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from pypdf import PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    ByteStringObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    NumberObject,
    StreamObject,
    TextStringObject,
)

from app.core import filecheck, storage

ACTIVE_KEYS = {"/JavaScript", "/JS", "/OpenAction", "/AA", "/EmbeddedFiles", "/XFA", "/RichMediaContent", "/Launch"}
ACTIVE_ACTIONS = {"/JavaScript", "/Launch", "/ImportData", "/SubmitForm", "/RichMediaExecute", "/GoToE", "/Rendition"}
ACTIVE_ANNOTATIONS = {"/RichMedia", "/FileAttachment", "/Screen", "/Movie", "/Sound", "/3D"}


def _name(value: str) -> NameObject:
    return NameObject(value)


def _js_action(code: str) -> DictionaryObject:
    return DictionaryObject({_name("/S"): _name("/JavaScript"), _name("/JS"): TextStringObject(code)})


def hostile_pdf(pages: int = 3) -> bytes:
    """A PDF with every kind of active content the issue names, on ``pages`` blank pages."""
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    writer.add_attachment("payload.exe", b"MZ not really")
    root = writer._root_object
    names = root["/Names"].get_object()
    names[_name("/JavaScript")] = DictionaryObject(
        {
            _name("/Names"): ArrayObject(
                [TextStringObject("init"), writer._add_object(_js_action("app.alert('names tree');"))]
            )
        }
    )
    root[_name("/OpenAction")] = _js_action("app.alert('open');")
    root[_name("/AA")] = DictionaryObject({_name("/WC"): _js_action("app.alert('close');")})
    xfa = StreamObject()
    xfa.set_data(b"<xdp:xdp/>")
    root[_name("/AcroForm")] = DictionaryObject(
        {_name("/Fields"): ArrayObject(), _name("/XFA"): writer._add_object(xfa)}
    )
    page = writer.pages[0]
    page[_name("/AA")] = DictionaryObject({_name("/O"): _js_action("app.alert('page');")})
    launch = DictionaryObject(
        {
            _name("/Type"): _name("/Annot"),
            _name("/Subtype"): _name("/Link"),
            _name("/Rect"): ArrayObject([NumberObject(0), NumberObject(0), NumberObject(10), NumberObject(10)]),
            _name("/A"): DictionaryObject({_name("/S"): _name("/Launch"), _name("/F"): TextStringObject("calc.exe")}),
        }
    )
    rich = DictionaryObject(
        {
            _name("/Type"): _name("/Annot"),
            _name("/Subtype"): _name("/RichMedia"),
            _name("/Rect"): ArrayObject([NumberObject(0), NumberObject(0), NumberObject(10), NumberObject(10)]),
            _name("/RichMediaContent"): DictionaryObject({_name("/Assets"): DictionaryObject()}),
        }
    )
    uri = DictionaryObject(
        {
            _name("/Type"): _name("/Annot"),
            _name("/Subtype"): _name("/Link"),
            _name("/Rect"): ArrayObject([NumberObject(0), NumberObject(0), NumberObject(10), NumberObject(10)]),
            _name("/A"): DictionaryObject(
                {_name("/S"): _name("/URI"), _name("/URI"): ByteStringObject(b"https://example.org/")}
            ),
        }
    )
    page[_name("/Annots")] = ArrayObject([writer._add_object(a) for a in (launch, rich, uri)])
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def active_content(data: bytes) -> set[str]:
    """Every active key, action type or annotation subtype reachable in the PDF."""
    reader = PdfReader(io.BytesIO(data))
    found: set[str] = set()
    seen: set[int] = set()
    stack = [reader.trailer["/Root"]]
    while stack:
        item = stack.pop()
        if isinstance(item, IndirectObject):
            if item.idnum in seen:
                continue
            seen.add(item.idnum)
            item = item.get_object()
        if isinstance(item, DictionaryObject):
            found |= {k for k in item if k in ACTIVE_KEYS}
            if item.get("/S") in ACTIVE_ACTIONS:
                found.add(str(item["/S"]))
            if item.get("/Subtype") in ACTIVE_ANNOTATIONS:
                found.add(str(item["/Subtype"]))
            stack.extend(v for k, v in item.items() if k != "/Parent")
        elif isinstance(item, ArrayObject):
            stack.extend(item)
    return found


def test_the_hostile_sample_has_every_active_part():
    assert active_content(hostile_pdf()) >= {
        "/JavaScript",
        "/OpenAction",
        "/AA",
        "/EmbeddedFiles",
        "/XFA",
        "/Launch",
        "/RichMedia",
    }


@pytest.mark.parametrize("pages", [1, 3, 12])
def test_cleaned_pdfs_keep_their_pages_and_lose_every_active_key(pages):
    meta, output = filecheck.inspect(hostile_pdf(pages), max_pixels=10**7, max_pages=50)
    assert meta["mime"] == "application/pdf" and meta["pages"] == pages
    assert meta["cleaned"] is True
    assert active_content(output) == set()
    assert len(PdfReader(io.BytesIO(output)).pages) == pages
    # a harmless link stays a link
    annotations = PdfReader(io.BytesIO(output)).pages[0].get("/Annots") or []
    actions = [a.get_object()["/A"]["/S"] for a in annotations if "/A" in a.get_object()]
    assert actions == ["/URI"]
    for marker in (b"/JavaScript", b"/OpenAction", b"/Launch", b"/EmbeddedFiles", b"/XFA", b"/RichMedia"):
        assert marker not in output, marker  # not even in an object left unreferenced


def test_a_clean_pdf_is_stored_as_uploaded():
    from tests.claims.conftest import pdf_bytes

    data = pdf_bytes()
    meta, output = filecheck.inspect(data, max_pixels=10**7, max_pages=50)
    assert output == data and not meta.get("cleaned")


def test_stored_upload_reports_the_cleaning(app):
    stored = storage.store_upload(hostile_pdf())
    try:
        assert stored.cleaned is True and stored.pages == 3
        assert active_content(storage.path_for(stored.key).read_bytes()) == set()
    finally:
        storage.delete_stored(stored.key)


def test_reviewers_see_that_a_file_was_cleaned(app, client, login, create_user, db_session):
    from app.claims.models import Evidence

    volunteer = create_user("cleaned@example.org", name="Cleo Volunteer", locale="en")
    login(client, volunteer)
    response = client.post(
        "/portfolio/evidence",
        data={"file": (io.BytesIO(hostile_pdf()), "scan.pdf"), "title": "Mission certificate"},
    )
    assert response.status_code in (200, 302, 303), response.status_code
    evidence = db_session.scalar(sa.select(Evidence).where(Evidence.owner_id == volunteer.id))
    assert evidence is not None and evidence.active_content_removed is True
    page = client.get("/portfolio/evidence").get_data(as_text=True)
    assert "Active content removed" in page


def test_trainers_reviewing_a_submission_see_the_flag(app, client, login, db_session):
    from flask import url_for

    from app.validation.snapshots import claim_snapshot
    from tests import cast

    w = cast.portfolio_world(db_session, validate=False)
    w.pdf.active_content_removed = True
    db_session.flush()
    assert claim_snapshot(w.claims[0])["evidence"][0]["active_content_removed"] is True
    w.pdf.active_content_removed = False
    assert "active_content_removed" not in claim_snapshot(w.claims[0])["evidence"][0]  # former snapshots unchanged
    w.pdf.active_content_removed = True
    submission = cast.submit_claims(w.volunteer, w.mission, w.ngo, w.claims[:1])
    db_session.flush()
    login(client, w.trainer)
    with app.test_request_context():
        url = url_for("validation.submission", submission_id=submission.id)
    page = client.get(url).get_data(as_text=True)
    assert "Contenu actif retiré" in page  # the trainer reads French
