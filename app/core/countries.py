"""ISO 3166-1 alpha-2 countries with names in the current language (from Babel's CLDR data)."""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from babel import Locale

from app.core.i18n import current_language

#: CLDR territories that are not countries (or are duplicates) for our purposes.
_NOT_COUNTRIES = {"EU", "EZ", "UN", "QO", "XA", "XB", "XK", "ZZ"}


@lru_cache(maxsize=8)
def _names(language: str) -> dict[str, str]:
    territories = Locale.parse(language).territories
    return {
        code: name
        for code, name in territories.items()
        if len(code) == 2 and code.isalpha() and code not in _NOT_COUNTRIES
    }


def country_name(code: str | None, language: str | None = None) -> str:
    """Localised name of a country code, or the code itself when unknown."""
    if not code:
        return ""
    return _names(language or current_language()).get(code.upper(), code)


def is_country_code(code: str | None) -> bool:
    return bool(code) and code.upper() in _names("en")


def country_choices(language: str | None = None) -> list[tuple[str, str]]:
    """(code, name) pairs sorted by localised name, for select fields."""
    names = _names(language or current_language())
    return sorted(names.items(), key=lambda item: _sort_key(item[1]))


def _sort_key(name: str) -> str:
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
