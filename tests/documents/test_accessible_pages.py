"""What a screen reader gets from the documents pages: named groups, titles that say what the page is, text in
another language marked as such, an error summary that takes the focus."""

from __future__ import annotations

import re

from tests.documents.conftest import print_document


def _fieldset(html: str, legend: str) -> str:
    match = re.search(r"<fieldset[^>]*>\s*<legend[^>]*>" + re.escape(legend) + r"</legend>.*?</fieldset>", html, re.S)
    assert match, f"no fieldset with the legend {legend!r}"
    return match.group(0)


def test_documents_page_groups_are_fieldsets_with_legends(client, login, docworld):
    login(client, docworld.volunteer)
    html = client.get("/documents/").get_data(as_text=True)
    assert html.count('<legend class="label">Language of the document</legend>') == 3
    experiences = _fieldset(html, "Experiences to include")
    assert 'aria-describedby="portfolio-experience_ids-hint"' in experiences
    assert 'id="portfolio-experience_ids-hint"' in experiences
    languages = _fieldset(html, "Language of the document")
    # each language named in its own language (Français on an English page is French)
    assert re.search(r'<label for="portfolio-language-0" lang="fr">Français</label>', languages)
    assert 'type="radio"' in languages and "required" in languages
    # nothing points a label at a list, nothing asks a list to be required
    ids_of_lists = re.findall(r"<ul[^>]*id=\"([^\"]+)\"", html)
    assert not [i for i in ids_of_lists if f'for="{i}"' in html]
    assert not re.search(r"<ul[^>]*required", html)


def test_failed_print_shows_a_focused_summary_linking_to_the_group(client, login, docworld):
    login(client, docworld.volunteer)
    response = client.post("/documents/print", data={"portfolio-kind": "portfolio", "portfolio-language": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "<title>Error: My documents · Acquis</title>" in html
    summary = re.search(r'<div class="error-summary"[^>]*>.*?</div>', html, re.S).group(0)
    assert 'tabindex="-1"' in summary and "autofocus" in summary and 'role="alert"' in summary
    assert "Please correct the following:" in summary
    assert 'href="#portfolio-language-0"' in summary  # the first radio of the group: the link lands on a control
    group = _fieldset(html, "Language of the document")
    assert 'aria-describedby="portfolio-language-error"' in group and 'aria-invalid="true"' in group


def test_document_and_verify_titles_name_the_document_and_the_result(client, login, docworld):
    login(client, docworld.volunteer)
    document, response = print_document(client, "portfolio", language="fr")
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "<title>Portfolio dossier of Valentine Doc · Acquis</title>" in html
    from app.documents import codes

    code = codes.formatted(document.code)
    verify = client.get(f"/verify/{code}").get_data(as_text=True)
    assert f"<title>Verification of {code}: issued by Acquis · Acquis</title>" in verify
    # The competence titles are those of the French document, on an English page: marked as French.
    assert re.search(r'<td>[^<]+ — <span lang="fr">[^<]+</span></td>', verify)
    missing = client.get("/verify/0000-0000-0000-0")
    assert missing.status_code == 404
    assert re.search(r"<title>Error: [^<]+ \(404\) · Acquis</title>", missing.get_data(as_text=True))


def test_signing_out_keeps_the_language_of_the_account(client, login, docworld):
    login(client, docworld.trainer)  # a French account, in an English browser
    client.post("/auth/logout", headers={"Accept-Language": "en"})
    html = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="fr">' in html
