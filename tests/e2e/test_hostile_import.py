"""A refused data import in a real browser: the reason, in the person's language and naming the record and the
field, is next to the upload field (linked by aria-describedby), the page passes axe, and nothing was imported."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import check_page, login, visit
from tests.portability.test_hostile_import import base_document, make_zip

pytestmark = pytest.mark.browser


def test_a_refused_import_explains_next_to_the_field(live_server, page, tmp_path):
    user = live_server.create_user(name="Iris Import", locale="fr")
    login(page, user.email, user.password)
    visit(page, "/account/data")
    document = base_document()
    document["experiences"][0]["title"] = "Coordinatrice \u202egnp.exe"
    archive = tmp_path / "acquis-export.zip"
    archive.write_bytes(make_zip(document))
    page.locator("#file").set_input_files(str(archive))
    page.locator("#file").locator("xpath=ancestor::form").locator("button[type=submit]").click()
    check_page(page)
    error = page.locator("#file-error")
    expect(error).to_contain_text(live_server.translate("fr", "Experience %(number)d", number=1))
    expect(error).to_contain_text("U+202E")
    expect(page.locator("#file")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#file")).to_have_attribute("aria-describedby", "file-error")
    visit(page, "/experiences/")
    expect(page.locator("main")).not_to_contain_text("Coordinatrice")
