"""The impact survey report as a signed PDF: same suppressed figures as the page, in the user's language."""

from __future__ import annotations

import io
import re
import shutil
import subprocess

import pytest

pypdf = pytest.importorskip("pypdf")

needs_pdftotext = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) missing")


def _text(pdf: bytes) -> str:
    result = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True)
    return result.stdout.decode()


def _responses(make_responses, questionnaire, orgs):
    """40 respondents; "strongly disagree" with the first statement has exactly 3 answers (3/40 = 7.5 %)."""
    make_responses(questionnaire, 3, profile={"status": "SC"}, answers={"confidence": "1"}, organisations=orgs)
    make_responses(questionnaire, 20, profile={"status": "VSI"}, answers={"confidence": "4"}, organisations=orgs)
    make_responses(questionnaire, 17, profile={"status": "VSI"}, answers={"confidence": "5"}, organisations=orgs)


@pytest.fixture
def spanish_admin(create_user, create_org, add_member):
    org = create_org("Solidaridad Sur", slug="solidaridad-sur")
    admin = create_user("admin@solidaridad.example", name="Sara Admin", locale="es")
    add_member(org, admin, "admin")
    return org, admin


@needs_pdftotext
def test_org_report_pdf_in_the_users_language_with_suppressed_cells(
    app, client, login, spanish_admin, make_responses, questionnaire
):
    from app.printing.signing import check_signature, signing_config

    org, admin = spanish_admin
    _responses(make_responses, questionnaire, [org])
    login(client, admin)
    response = client.get(f"/survey/orgs/{org.slug}/report.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == f'attachment; filename="survey-{org.slug}-v2.pdf"'
    assert "no-store" in response.headers["Cache-Control"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    pdf = response.data
    assert pdf.startswith(b"%PDF-")
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) >= 2

    text = _text(pdf)
    flat = " ".join(text.split())
    assert "Tengo más confianza en mí mismo/a." in flat  # item label in Spanish
    assert "Totalmente de acuerdo" in flat  # scale label in Spanish
    assert "I am more self-confident." not in flat
    assert "Solidaridad Sur" in flat
    # The 3 "strongly disagree" answers are shown as "< 5", never as 3 nor as their share (7.5 %).
    # (pdftotext drops the narrow space of "< 5"; pypdf keeps it.)
    extracted = "\n".join(page.extract_text() for page in reader.pages)
    assert "< 5" in extracted
    assert "7.5" not in flat and "7,5" not in flat and "7.5" not in extracted
    # The table row (the chart's axis label is on a line of its own).
    row = next(line for line in text.splitlines() if "Tengo más confianza" in line and "<5" in line)
    counts = re.findall(r"(?<![\d.,<])(\d+)(?![\d.,])", row)  # the counts the row shows
    assert "3" not in counts and counts == ["20", "40"]
    # Signed with the instance key.
    assert check_signature(pdf, signing_config(app.config).cert_path).ok


@needs_pdftotext
def test_admin_report_pdf_covers_all_organisations(
    client, login, create_user, create_org, make_responses, questionnaire
):
    _responses(make_responses, questionnaire, [create_org()])
    login(client, create_user(platform_admin=True, totp=True, locale="en"))
    response = client.get("/survey/admin/report.pdf?view=by:status")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == 'attachment; filename="survey-all-v2.pdf"'
    flat = " ".join(_text(response.data).split())
    assert "I am more self-confident." in flat
    assert "All organisations" in flat
    assert "7.5" not in flat


def test_another_ngos_admin_gets_404(client, login, spanish_admin, create_user, create_org, add_member):
    org, _admin = spanish_admin
    other_admin = create_user()
    add_member(create_org(), other_admin, "admin")
    login(client, other_admin)
    assert client.get(f"/survey/orgs/{org.slug}/report.pdf").status_code == 404
    assert client.get("/survey/orgs/no-such-org/report.pdf").status_code == 404
    assert client.get("/survey/admin/report.pdf").status_code == 403


def test_guest_is_sent_to_login(client, spanish_admin):
    org, _admin = spanish_admin
    response = client.get(f"/survey/orgs/{org.slug}/report.pdf")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_render_failure_returns_to_the_report_with_a_message(
    client, login, spanish_admin, make_responses, questionnaire, monkeypatch
):
    from app.printing.sandbox import RenderFailed
    from app.survey import printing

    def fail(*args, **kwargs):
        raise RenderFailed("busy", "no free render slot")

    monkeypatch.setattr(printing, "render_in_child", fail)
    org, admin = spanish_admin
    _responses(make_responses, questionnaire, [org])
    login(client, admin)
    response = client.get(f"/survey/orgs/{org.slug}/report.pdf?view=by:status")
    assert response.status_code == 302
    assert response.headers["Location"].startswith(f"/survey/orgs/{org.slug}/report?")
    assert "view=by" in response.headers["Location"]


def test_html_uses_the_reports_suppressed_cells_and_no_outside_resources(
    app, spanish_admin, make_responses, questionnaire
):
    """The printed HTML: no remote or file URL, chart as a data: URI, hidden cells as "< 5"."""
    from app.survey import operations as ops
    from app.survey.printing import PrintedReport, report_html
    from app.survey.reports import build_report

    org, _admin = spanish_admin
    _responses(make_responses, questionnaire, [org])
    report = build_report(questionnaire, ops.report_data(questionnaire, organisation=org).tally)
    printed = PrintedReport(questionnaire, report, [], [], [questionnaire], org.name)
    with app.test_request_context():
        html = report_html(printed, language="en")
    assert 'src="data:image/svg+xml;base64,' in html
    assert "&lt; 5" in html
    assert "7.5" not in html
    assert not re.search(r"(?:src|href)=\"(?:https?:|file:|/)", html)
    assert "<script" not in html


def test_report_pdf_tag_tree_has_well_formed_tables_and_lists(
    client, login, spanish_admin, make_responses, questionnaire
):
    """The report's tables head their columns and rows (/Scope), its lists hold list items only."""
    from tests.documents.test_pdf_structure import malformed, tag_tree

    org, admin = spanish_admin
    _responses(make_responses, questionnaire, [org])
    login(client, admin)
    tree = tag_tree(client.get(f"/survey/orgs/{org.slug}/report.pdf").data)
    assert malformed(tree) == []
    scopes = {tag.scope for tag in tree.walk() if tag.role == "/TH"}
    assert scopes == {"/Column", "/Row"}
