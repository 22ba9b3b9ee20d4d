"""VAE journey in a real browser: a volunteer starts a VAE project on the example certification, invites the demo
adviser, who comments on a bloc; the volunteer writes the bloc and prints the livret 1 draft. Every page passes
axe and the Nu HTML checker."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import check_page, login, open_from_menu, visit

pytestmark = pytest.mark.browser

COMPETENCIES = Path(__file__).resolve().parents[2] / "competencies"
DEMO_ADVISER = "conseillere@demo.acquis.example"


def _prepare(live_server):
    """The shipped frameworks (the example certification) and the demo adviser's account."""
    from app.auth import operations as auth_ops
    from app.demo.cli import DEMO_USERS
    from app.frameworks import operations as framework_ops
    from app.frameworks.importers.yaml_format import parse_files
    from tests.fixtures.app import TEST_PASSWORD

    with live_server.committing():
        framework_ops.import_batch(*parse_files([COMPETENCIES]))
        if auth_ops.get_user_by_email(DEMO_ADVISER) is None:
            _email, name, locale, _roles, _memberships = next(u for u in DEMO_USERS if u[0] == DEMO_ADVISER)
            auth_ops.create_user(DEMO_ADVISER, name, TEST_PASSWORD, locale="en", verified=True, is_adviser=True)
            del locale


def test_vae_project_companion_writing_and_livret1(live_server, page, new_page):
    _prepare(live_server)
    volunteer = live_server.create_user(name="Véra Vae", locale="en")
    with live_server.committing():
        from app.auth.models import User
        from app.extensions import db
        from tests import cast as worlds

        owner = db.session.get(User, volunteer.id)
        worlds.create_mission(owner, title="Programme coordinator in Lima", status_code=None)

    # 1. The volunteer starts a project on the example certification.
    login(page, volunteer.email)
    open_from_menu(page, "VAE")
    expect(page).to_have_url(f"{live_server.url}/vae/")
    page.get_by_role("link", name="Start a VAE project").click()
    check_page(page)
    page.get_by_label("Target certification").select_option(label=_example_title())
    page.get_by_label("Certification outside France VAE (livret 1, Cerfa 12818*02)").check()
    page.get_by_role("button", name="Start the project").click()
    expect(page.get_by_role("status")).to_contain_text("Your VAE project is started")
    check_page(page)
    project_path = page.url.removeprefix(live_server.url)
    expect(page.get_by_role("table", name="Competences of each bloc")).to_contain_text("RNCP00000BC01")

    # 2. It invites the demo adviser.
    page.get_by_label("Companion's e-mail address").fill(DEMO_ADVISER)
    page.get_by_role("button", name="Invite", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("is invited to accompany your project")
    check_page(page)

    # 3. The adviser finds the candidate and comments on bloc 1.
    adviser = new_page()
    login(adviser, DEMO_ADVISER)
    visit(adviser, "/vae/companion")
    adviser.get_by_role("link", name="Véra Vae").click()
    check_page(adviser)
    adviser.get_by_role("link", name="RNCP00000BC01").click()
    check_page(adviser)
    adviser.get_by_role("textbox", name="Comment", exact=True).fill("Décrivez le diagnostic mené avec les familles.")
    adviser.get_by_role("button", name="Post a comment").click()
    expect(adviser.get_by_role("status")).to_contain_text("Your comment is posted")
    check_page(adviser)

    # 4. The volunteer reads the comment, writes the bloc (without waiting for the autosave) and saves it.
    visit(page, project_path)
    page.get_by_role("link", name="RNCP00000BC01").click()
    check_page(page)
    expect(page.get_by_text("Décrivez le diagnostic mené avec les familles.")).to_be_visible()
    page.get_by_label("Context (organisation, sector, country, public, team size, hierarchy, means)").fill(
        "Une association d'éducation populaire à Lima, 12 salariés."
    )
    page.get_by_label("What you did (the activities of the bloc, in detail)").fill(
        "J'ai conduit le diagnostic du quartier avec les familles et les écoles."
    )
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#flash-messages")).to_contain_text("Your writing for this bloc is saved")
    check_page(page)
    page.get_by_label("Reply").first.fill("Merci, c'est ajouté.")
    page.get_by_role("button", name="Reply").first.click()
    expect(page.locator("#flash-messages")).to_contain_text("Your comment is posted")
    check_page(page)

    # 5. The livret 1 draft is printed (in French) and downloaded.
    visit(page, project_path)
    page.get_by_role("button", name="Livret 1 draft (Cerfa 12818*02)").click()
    expect(page.get_by_role("link", name="Download the PDF")).to_be_visible(timeout=120_000)
    check_page(page)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the PDF").click()
    data = open(download_info.value.path(), "rb").read()  # noqa: SIM115
    from pypdf import PdfReader

    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    assert "Livret 1" in text and "12818*02" in text and "Programme coordinator in Lima" in text


def _example_title() -> str:
    import yaml

    data = yaml.safe_load((COMPETENCIES / "example-rncp-coordination-projets-solidarite.yaml").read_text())
    return data["title"]["en"]


def test_platform_admin_imports_an_rncp_certification_from_the_project_form(live_server, page):
    """From the new-project page, a platform admin uploads the RNCP open data tables and comes back to the form
    with the certification chosen; both pages pass axe and the Nu checker."""
    fixtures = Path(__file__).resolve().parents[1] / "frameworks" / "fixtures" / "rncp"
    admin = live_server.create_user(name="Ada Admin", platform_admin=True, totp=True, locale="en")
    login(page, admin.email, admin.password, totp_secret=admin.totp_secret)
    visit(page, "/vae/new")
    page.get_by_role("link", name="Import a certification from the RNCP open data").click()
    check_page(page)
    page.get_by_label("RNCP number").fill("RNCP99901")
    page.get_by_label("Standard table (CSV)").set_input_files(str(fixtures / "standard.csv"))
    page.get_by_label("Blocs table (CSV)").set_input_files(str(fixtures / "blocs.csv"))
    page.get_by_role("button", name="Import the certification").click()
    expect(page.get_by_role("status")).to_contain_text("is imported: you can start a project on it")
    check_page(page)
    chosen = page.get_by_label("Target certification")
    expect(chosen.locator("option:checked")).to_have_text(
        "Coordinateur de projets de solidarité internationale (fictif)"
    )
