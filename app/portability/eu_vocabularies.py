"""Concepts of the EU authority tables (Publications Office) and of the Europass vocabularies used by ELM exports.

Languages and countries are the authority tables' URIs (``…/authority/language/FRA``, ``…/authority/country/PER``),
not bare codes; the credential type is the Europass "Generic" credential profile. Only concepts whose URIs appear in
the official ELM samples are named here: none is guessed.
"""

from __future__ import annotations

from functools import lru_cache

from babel import Locale
from babel.core import get_global

AUTHORITY = "http://publications.europa.eu/resource/authority"
#: ISO 639-1 → the EU language authority table's code.
LANGUAGE_CODES = {"fr": "FRA", "en": "ENG", "es": "SPA"}
#: The Europass credential profile "Generic" and its scheme (the credential types table).
GENERIC_PROFILE = ("http://data.europa.eu/snb/credential/e34929035b", "http://data.europa.eu/snb/credential/25831c2")
BASE64_ENCODING = ("http://data.europa.eu/snb/encoding/6146cde7dd", "http://data.europa.eu/snb/encoding/25831c2")
#: Withdrawn ISO 3166 alpha-3 codes that CLDR still lists as aliases of current alpha-2 codes.
_WITHDRAWN_ALPHA3 = {"BUR", "DDR", "FXX", "TMP", "YMD", "ZAR"}


@lru_cache(maxsize=1)
def _alpha3() -> dict[str, str]:
    """ISO 3166-1 alpha-2 → alpha-3 (the EU country table's codes), from Babel's CLDR aliases."""
    table: dict[str, str] = {}
    for alias, targets in get_global("territory_aliases").items():
        if len(alias) == 3 and alias.isalpha() and alias not in _WITHDRAWN_ALPHA3 and len(targets) == 1:
            table[targets[0]] = alias
    return table


def _concept(uri: str, scheme: str, labels: dict[str, str], notation: str | None = None) -> dict:
    concept = {"id": uri, "type": "Concept", "inScheme": {"id": scheme, "type": "ConceptScheme"}, "prefLabel": labels}
    if notation:
        concept["notation"] = notation
    return concept


def language_concept(language: str) -> dict:
    """The EU authority table's concept for a supported interface language (fr, en, es)."""
    return _concept(
        f"{AUTHORITY}/language/{LANGUAGE_CODES[language]}",
        f"{AUTHORITY}/language",
        {"en": Locale("en").languages[language]},
        "language",
    )


def country_concept(alpha2: str | None) -> dict | None:
    """The EU authority table's concept for an ISO 3166-1 alpha-2 code; None when the code has no alpha-3."""
    code = _alpha3().get((alpha2 or "").upper())
    if code is None:
        return None
    name = Locale("en").territories.get(alpha2.upper(), alpha2.upper())
    return _concept(f"{AUTHORITY}/country/{code}", f"{AUTHORITY}/country", {"en": name}, "country")


def generic_profile() -> dict:
    return _concept(*GENERIC_PROFILE, {"en": "Generic"})


def png_media_object(identifier: str, png_base64: str) -> dict:
    """An ELM MediaObject holding a base64 PNG."""
    return {
        "id": identifier,
        "type": "MediaObject",
        "content": png_base64,
        "contentEncoding": _concept(*BASE64_ENCODING, {"en": "base64"}),
        "contentType": _concept(f"{AUTHORITY}/file-type/PNG", f"{AUTHORITY}/file-type", {"en": "PNG"}, "file-type"),
    }
