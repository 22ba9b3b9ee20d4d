"""Translations: complete catalogs in fr, en, es, a template in step with the code, and language selection."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from app.config import PROJECT_DIR
from app.core.i18n_tools import LANGUAGES, catalog_problems

TRANSLATIONS = PROJECT_DIR / "translations"


def _msgids(path: Path) -> set[tuple[str | None, str]]:
    with path.open("rb") as handle:
        catalog = read_po(handle)
    return {(message.context, str(message.id)) for message in catalog if message.id}


def _describe(ids, limit: int = 20) -> str:
    shown = [repr(msgid) if context is None else f"{context}|{msgid!r}" for context, msgid in sorted(ids, key=str)]
    return "; ".join(shown[:limit]) + ("; …" if len(shown) > limit else "")


# --- Catalogs -----------------------------------------------------------------------------------------------


def test_catalogs_have_no_untranslated_or_fuzzy_entry():
    """fr, en and es translate every message of the template; nothing fuzzy (``make i18n-check``)."""
    problems = catalog_problems(TRANSLATIONS)
    template = _msgids(TRANSLATIONS / "messages.pot")
    for lang in LANGUAGES:
        path = TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po"
        if path.exists():
            missing = template - _msgids(path)
            if missing:
                problems.append(
                    f"{path}: {len(missing)} messages of messages.pot missing (e.g. {_describe(missing, 5)})"
                )
    assert not problems, "\n".join(problems)


def test_messages_pot_matches_the_code(tmp_path):
    """Extracting the messages again (as ``make i18n-extract`` does) gives exactly the ids of messages.pot."""
    output = tmp_path / "messages.pot"
    pybabel = Path(sys.executable).with_name("pybabel")
    subprocess.run(
        [
            str(pybabel),
            "-q",
            "extract",
            "-F",
            "translations/babel.cfg",
            "-k",
            "_l",
            "-k",
            "lazy_gettext",
            "-k",
            "pgettext:1c,2",
            "--ignore-dirs",
            ".*",  # pybabel skips folders starting with "_" by default: templates/_macros/ held untranslated text
            "-o",
            str(output),
            ".",
        ],
        cwd=PROJECT_DIR,
        check=True,
        capture_output=True,
    )
    in_code = _msgids(output)
    in_template = _msgids(TRANSLATIONS / "messages.pot")
    new = in_code - in_template
    stale = in_template - in_code
    problems = []
    if new:
        problems.append(f"{len(new)} messages in the code are missing from messages.pot: {_describe(new)}")
    if stale:
        problems.append(f"{len(stale)} messages of messages.pot are no longer in the code: {_describe(stale)}")
    assert not problems, "run `make i18n-update`:\n" + "\n".join(problems)


def used_messages() -> set[tuple[str | None, str]]:
    """(context, msgid) of every message the code and the templates use, extracted with Babel's own API.

    Only folders starting with a dot are skipped (Babel's command line also skipped ``templates/_macros/``, so
    "Please correct the following:" never reached a catalog).
    """
    import os

    from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
    from babel.messages.frontend import parse_mapping_cfg

    with (TRANSLATIONS / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    keywords = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "pgettext": ((1, "c"), 2)}
    found = extract_from_dir(
        str(PROJECT_DIR),
        method_map,
        options_map,
        keywords=keywords,
        directory_filter=lambda path: not os.path.basename(path).startswith("."),
    )
    return {(context, message[0] if isinstance(message, tuple) else message) for _f, _l, message, _c, context in found}


def _translated_msgids(path: Path) -> set[tuple[str | None, str]]:
    with path.open("rb") as handle:
        catalog = read_po(handle)
    translated = set()
    for message in catalog:
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.id and not message.fuzzy and all(strings):
            translated.add((message.context, str(message.id if isinstance(message.id, str) else message.id[0])))
    return translated


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_message_used_is_translated_in_each_catalog(lang):
    """A msgid used in a template or in the code but missing (or untranslated, or fuzzy) in a catalog would show
    in English on that language's pages."""
    used = used_messages()
    assert "Please correct the following:" in {msgid for _context, msgid in used}, "extraction missed _macros/"
    missing = used - _translated_msgids(TRANSLATIONS / lang / "LC_MESSAGES" / "messages.po")
    assert not missing, f"{len(missing)} messages missing from the {lang} catalog: {_describe(missing)}"


# --- Language selection -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept_language", "lang", "text"),
    [
        ("es-ES,es;q=0.9", "es", "Iniciar sesión"),
        ("en-GB,en;q=0.8", "en", "Sign in"),
        ("fr-FR", "fr", "Se connecter"),
        ("de-DE", "fr", "Se connecter"),  # unsupported: French, the default
        (None, "fr", "Se connecter"),
    ],
)
def test_pages_render_in_the_browser_language(client, accept_language, lang, text):
    headers = {"Accept-Language": accept_language} if accept_language else {}
    page = client.get("/auth/login", headers=headers).get_data(as_text=True)
    assert f'<html lang="{lang}">' in page
    assert text in page


def test_guest_choice_is_kept_in_the_session(client):
    response = client.post("/language", data={"locale": "es", "next": "/auth/login"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/login"
    with client.session_transaction() as session:
        assert session["locale"] == "es"
    # The choice wins over the browser's language.
    page = client.get("/auth/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<html lang="es">' in page


def test_users_choice_is_stored_on_the_account(client, login, db_session, create_user):
    user = create_user(locale="fr")
    login(client, user)
    response = client.post("/language", data={"locale": "en", "next": "/auth/account"})
    assert response.headers["Location"] == "/auth/account"
    db_session.expire_all()
    assert user.locale == "en"
    # It follows the user to another browser.
    other = client.application.test_client()
    login(other, user)
    assert '<html lang="en">' in other.get("/", headers={"Accept-Language": "es"}).get_data(as_text=True)


def test_unsupported_language_is_ignored(client, login, db_session, create_user):
    user = create_user(locale="es")
    login(client, user)
    client.post("/language", data={"locale": "de", "next": "/"})
    db_session.expire_all()
    assert user.locale == "es"
    with client.session_transaction() as session:
        assert "locale" not in session or session["locale"] in LANGUAGES


def test_guest_choice_survives_signing_in(client, login, db_session, create_user):
    user = create_user()
    client.post("/language", data={"locale": "es", "next": "/"})
    login(client, user)
    with client.session_transaction() as session:
        assert session.get("locale") == "es"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/path",
        "/\\evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "http:/evil.example",
        "evil.example",
        "/ok\nLocation: https://evil.example",
        "",
    ],
)
def test_language_switcher_only_returns_to_local_paths(client, target):
    response = client.post("/language", data={"locale": "en", "next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_language_switcher_keeps_a_local_path_with_query(client):
    response = client.post("/language", data={"locale": "en", "next": "/organisations/?page=2"})
    assert response.headers["Location"] == "/organisations/?page=2"
