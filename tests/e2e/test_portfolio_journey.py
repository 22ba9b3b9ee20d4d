"""The volunteer's portfolio in a real browser: add a mission and a training, claim three competences in
three frameworks with narratives and evidence (uploaded through the file input, then reused from the library),
see the coverage chart. Every page on the way passes the page checks (console, CSP, axe WCAG 2.2 AA)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests import cast
from tests.e2e.helpers import check_page, login, visit

pytestmark = pytest.mark.browser

COMPETENCIES = Path(__file__).resolve().parents[2] / "competencies"


@pytest.fixture(scope="module")
def shipped_frameworks(live_server):
    """The shipped frameworks and crosswalks in the live server's database (an import is idempotent)."""
    from app.frameworks import operations as framework_ops
    from app.frameworks.importers.yaml_format import parse_files

    with live_server.committing():
        framework_ops.import_batch(*parse_files([COMPETENCIES]))


def png_file() -> bytes:
    from PIL import Image

    output = io.BytesIO()
    Image.new("RGB", (120, 80), (30, 110, 160)).save(output, "PNG")
    return output.getvalue()


def pdf_file() -> bytes:
    return cast.blank_pdf(width=595, height=842)


def submit(page, button: str) -> None:
    page.get_by_role("button", name=button, exact=True).click()
    check_page(page)


def write_narrative(page, **parts) -> None:
    for label, text in parts.items():
        page.get_by_label(label.capitalize(), exact=True).fill(text)


def test_mission_training_three_claims_and_coverage(live_server, shipped_frameworks, page):
    volunteer = live_server.create_user(name="Valentine Volontaire", locale="en")
    login(page, volunteer.email, volunteer.password)

    visit(page, "/portfolio/")
    expect(page.get_by_role("heading", level=1)).to_have_text("My portfolio")

    # --- A mission; a first attempt with the dates the wrong way round is refused next to the end date ---
    page.get_by_role("main").get_by_role("link", name="Add a mission").click()
    check_page(page)
    page.get_by_label("Title or role").fill("Chargée de projet eau et assainissement")
    page.get_by_label("Engagement status").select_option("VSI")
    page.get_by_label("Start date").fill("2023-01-09")
    page.get_by_label("End date (leave empty if it is still going on)").fill("2022-06-30")
    page.get_by_label("Or its name, if it is not on Acquis").fill("La Guilde")
    page.get_by_label("Host partner (name)").fill("Asociación Agua Viva")
    page.get_by_label("Country").select_option("PE")
    page.get_by_label("City").fill("Cusco")
    page.get_by_label("Size of the team you worked in").fill("12")
    page.get_by_label("Activities").fill("Built 14 water points with the municipality <and> the water committees.")
    submit(page, "Save")
    expect(page.locator("#end_date-error")).to_contain_text("The end date cannot be before the start date.")
    expect(page.get_by_label("Title or role")).to_have_value("Chargée de projet eau et assainissement")
    page.get_by_label("End date (leave empty if it is still going on)").fill("2024-06-30")
    submit(page, "Save")
    expect(page.get_by_role("heading", level=1)).to_have_text("Chargée de projet eau et assainissement")
    expect(page.get_by_role("status")).to_contain_text("has been saved")
    expect(page.get_by_role("main")).to_contain_text("<and>")  # typed text shown as text
    mission_url = page.url

    # --- A training ---
    visit(page, "/experiences/")
    page.get_by_role("main").get_by_role("link", name="Add a training").click()
    check_page(page)
    page.get_by_label("Title or role").fill("Formation au départ")
    page.get_by_label("Training provider").fill("France Volontaires")
    page.get_by_label("Kind of training").select_option("pre_departure")
    page.get_by_label("Start date").fill("2022-11-14")
    page.get_by_label("End date (leave empty if it is still going on)").fill("2022-11-18")
    page.get_by_label("Duration in hours").fill("35")
    submit(page, "Save")
    expect(page.get_by_role("heading", level=1)).to_have_text("Formation au départ")
    training_url = page.url

    # --- Claim 1: an SI competence chosen from the list, with a level, a narrative and a PNG ---
    visit(page, mission_url.replace(live_server.url, ""))
    page.get_by_role("link", name="Add a competence").click()
    check_page(page)
    page.get_by_label("Competence", exact=True).select_option(label="SI.2.3 — Planning and organising activities")
    submit(page, "Continue")
    expect(page.get_by_role("heading", level=2, name=re.compile("SI.2.3"))).to_be_visible()
    page.get_by_label("Level", exact=True).select_option("3")
    write_narrative(
        page,
        situation="District rural de Cusco, 18 mois, équipe de 12 personnes.",
        task="Piloter la construction de 14 points d'eau avec la mairie.",
        actions="Planning, suivi budgétaire, réunions mensuelles avec les comités de l'eau.",
        result="1 200 personnes ont accès à l'eau potable.",
    )
    page.get_by_label("Add a new evidence file (PDF, JPEG or PNG, up to 10 MB)").set_input_files(
        files=[{"name": "chantier.png", "mimeType": "image/png", "buffer": png_file()}]
    )
    page.get_by_label("Title of the new file (optional)").fill("Photo du chantier")
    submit(page, "Save the claim")
    expect(page.get_by_role("heading", level=1)).to_contain_text("SI.2.3")
    main = page.get_by_role("main")
    expect(main).to_contain_text("4 of 6 parts written")
    expect(main.get_by_role("link", name="Photo du chantier")).to_be_visible()
    expect(main).to_contain_text("Related competences in other frameworks")
    expect(main).to_contain_text("KC7")  # SI.2.3 → entrepreneurship competence (crosswalk)

    # --- Claim 2: a key competence found by search (no scale), with a PDF ---
    visit(page, mission_url.replace(live_server.url, ""))
    page.get_by_role("link", name="Add a competence").click()
    check_page(page)
    page.get_by_label("Words to look for").fill("cultural awareness")
    submit(page, "Search")
    page.get_by_role("link", name=re.compile(r"^KC8 — ")).click()
    check_page(page)
    expect(page.get_by_label("Level", exact=True)).to_have_value("")
    write_narrative(page, situation="Fête interculturelle du quartier.", reflection="J'ai appris à écouter.")
    page.get_by_label("Add a new evidence file (PDF, JPEG or PNG, up to 10 MB)").set_input_files(
        files=[{"name": "attestation.pdf", "mimeType": "application/pdf", "buffer": pdf_file()}]
    )
    page.get_by_label("Title of the new file (optional)").fill("Attestation de mission")
    submit(page, "Save the claim")
    expect(page.get_by_role("main")).to_contain_text("2 of 6 parts written")
    expect(page.get_by_role("main")).to_contain_text("SI.1.1")  # read from the other end of the crosswalk

    # --- Claim 3: on the training, the RNCP example, reusing the attestation from the library ---
    visit(page, training_url.replace(live_server.url, ""))
    page.get_by_role("link", name="Add a competence").click()
    check_page(page)
    competence = page.get_by_label("Competence", exact=True)
    competence.select_option(label=_option_label(competence))
    submit(page, "Continue")
    write_narrative(page, task="Diagnostic de territoire avant le départ.")
    page.get_by_label("Attestation de mission").check()
    submit(page, "Save the claim")
    expect(page.get_by_role("main").get_by_role("link", name="Attestation de mission")).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text("SI.2.1")

    # --- The evidence library: two files, the attestation supports two claims ---
    visit(page, "/portfolio/evidence")
    library = page.get_by_role("table", name="Library")
    expect(library.get_by_role("row").filter(has_text="Attestation de mission")).to_contain_text("2 claims")
    expect(library.get_by_role("row").filter(has_text="Photo du chantier")).to_contain_text("1 claim")

    # --- The dashboard: the coverage chart and the same figures as a table ---
    visit(page, "/portfolio/")
    chart = page.locator("figure.chart img")
    expect(chart).to_be_visible()
    assert page.evaluate("(img) => img.complete && img.naturalWidth > 0", chart.element_handle())
    table = page.get_by_role("table", name="Competences claimed per framework")
    expect(table.get_by_role("row")).to_have_count(4)  # header + three frameworks
    expect(table.get_by_role("row").filter(has_text="International solidarity competences")).to_contain_text(
        "level 3: 1"
    )
    expect(page.get_by_role("main")).to_contain_text("Timeline")
    expect(page.get_by_role("main")).to_contain_text("Formation au départ")

    # --- The other pages of the portfolio pass the checks too ---
    visit(page, mission_url.replace(live_server.url, ""))
    expect(page.get_by_role("table", name="Competences shown in this experience").get_by_role("row")).to_have_count(3)
    page.get_by_role("link", name=re.compile(r"^SI\.2\.3 — ")).click()
    check_page(page)
    page.get_by_role("main").get_by_role("link", name="Edit", exact=True).click()
    check_page(page)
    expect(page.get_by_label("Photo du chantier")).to_be_checked()
    page.get_by_role("link", name="Cancel").click()
    check_page(page)
    page.get_by_role("main").get_by_role("link", name="Delete", exact=True).click()
    check_page(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete a claim")
    visit(page, mission_url.replace(live_server.url, "") + "/edit")
    visit(page, mission_url.replace(live_server.url, "") + "/delete")
    visit(page, "/portfolio/evidence")
    page.get_by_role("link", name="Delete Photo du chantier").click()
    check_page(page)


def _option_label(select) -> str:
    """The full label of the first option of ``select`` whose text starts with the RNCP example's first code."""
    labels = select.locator("option").all_inner_texts()
    return next(label.strip() for label in labels if label.strip().startswith("RNCP00000BC01.C1 — "))
