"""Hostile text in printed fields stays text; nothing is fetched; only our file is embedded; limits hold."""

from __future__ import annotations

import http.server
import io
import threading

import pytest

from tests.documents.conftest import embedded_files, pdf_text, print_document


@pytest.fixture
def canary():
    """A local HTTP server counting the requests it receives."""
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"canary")

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()


def _no_active_content(data: bytes) -> None:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    seen = set()

    def walk(obj, depth=0):
        if depth > 40:
            return
        obj = obj.get_object() if hasattr(obj, "get_object") else obj
        if id(obj) in seen:
            return
        seen.add(id(obj))
        if isinstance(obj, dict):
            assert "/JavaScript" not in obj and "/JS" not in obj and "/Launch" not in obj
            if obj.get("/S") in ("/JavaScript", "/Launch", "/URI"):
                raise AssertionError(f"active action {obj.get('/S')}")
            for value in obj.values():
                walk(value, depth + 1)
        elif isinstance(obj, list):
            for value in obj:
                walk(value, depth + 1)

    walk(reader.trailer["/Root"])
    assert set(embedded_files(data)) == {"snapshot.json"}


def test_core_renderer_refuses_everything_but_bundled_assets(canary):
    from app.printing.pdf import PdfAttachment, render_full

    url, hits = canary
    html = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>t</title>
    <link rel="stylesheet" href="{url}/style.css"><link rel="attachment" href="{url}/attach">
    <link rel="attachment" href="file:///etc/passwd"><style>body {{ background: url("{url}/bg.png") }}</style></head>
    <body><h1>Title</h1><img src="file:///etc/passwd" alt="x"><img src="{url}/img.png" alt="y">
    <img src="relative.png" alt="z"><a rel="attachment" href="{url}/a">a</a><iframe src="{url}/frame"></iframe>
    <script>app.alert(1)</script><object data="{url}/obj"></object></body></html>"""
    result = render_full(html, attachments=[PdfAttachment("snapshot.json", b"{}")])
    assert hits == []
    assert any("etc/passwd" in denied for denied in result.denied)
    assert any(url in denied for denied in result.denied)
    _no_active_content(result.pdf)


def test_hostile_text_in_every_field_is_printed_literally(client, login, docworld, canary):
    from app.extensions import db

    url, hits = canary
    hostile = f'<img src="file:///etc/passwd"> <link rel=attachment href="{url}/x"> {url}/y'
    mission = docworld.mission
    for field in ("title", "host_name", "host_city", "context", "activities", "results", "languages_used"):
        setattr(mission, field, f"{field} {hostile}"[:200] if field in ("title", "host_name") else f"{field} {hostile}")
    for claim in docworld.claims:
        for part in ("situation", "task", "actions", "result", "reflection", "transfer"):
            setattr(claim, part, f"{part} {hostile}")
    docworld.pdf.title = f"evidence {hostile}"[:200]
    docworld.volunteer.display_name = "Val <b>bold</b>"[:120]
    db.session.flush()
    login(client, docworld.volunteer)
    document, _ = print_document(client, "portfolio", language="en")
    data = client.get(f"/documents/{document.id}/download").data
    text = pdf_text(data).replace("\n", " ")
    assert '<img src="file:///etc/passwd">' in text
    assert "<link rel=attachment" in text
    assert f"{url}/y" in text
    assert "Val <b>bold</b>" in text
    assert hits == []
    _no_active_content(data)


def test_render_over_its_limits_fails_cleanly_and_the_app_keeps_serving(app, client, login, docworld, monkeypatch):
    from app.documents.models import JobState, RenderJob
    from app.extensions import db

    monkeypatch.setitem(app.config, "DOCUMENT_RENDER_WALL_SECONDS", 0.3)
    login(client, docworld.volunteer)
    response = client.post("/documents/print", data={"portfolio-kind": "portfolio", "portfolio-language": "en"})
    assert response.status_code == 302 and "/jobs/" in response.headers["Location"]
    job = db.session.query(RenderJob).one()
    assert job.state == JobState.FAILED and job.error == "timeout"
    page = client.get(response.headers["Location"])
    assert "took too long to print" in page.get_data(as_text=True)
    assert client.get("/healthz").status_code == 200
    monkeypatch.setitem(app.config, "DOCUMENT_RENDER_WALL_SECONDS", 60)
    monkeypatch.setitem(app.config, "DOCUMENT_RENDER_MEMORY_BYTES", 64 * 1024 * 1024)
    response = client.post("/documents/print", data={"portfolio-kind": "portfolio", "portfolio-language": "en"})
    assert "/jobs/" in response.headers["Location"]
    page = client.get(response.headers["Location"])
    assert "too large to print" in page.get_data(as_text=True)


def test_render_slots_are_bounded(app, tmp_path):
    from app.printing.sandbox import RenderFailed, RenderLimits, render_slot

    limits = RenderLimits(slots=1, slot_wait_seconds=0.2)
    with render_slot(str(tmp_path), limits):
        with pytest.raises(RenderFailed) as failure, render_slot(str(tmp_path), limits):
            pass
        assert failure.value.code == "busy"
    with render_slot(str(tmp_path), limits) as slot:
        assert slot == 0
