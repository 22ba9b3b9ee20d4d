"""Short, human-typable verification codes: letters and digits only, with a check character.

New codes are 11 Crockford base32 characters and an ISO/IEC 7064 MOD 37-36 check character, printed as
``XXXX-XXXX-XXXX``: nothing to misread aloud or on paper (no ``*~$=U``, no I, L, O or U). MOD 37-36 catches every
single mistyped character; it misses a few swaps of neighbours in some contexts, so a new code is drawn again until
every swap of two neighbours in it would be caught too (about one draw in fifty is redrawn).

Codes printed before (12 Crockford characters and Crockford's mod-37 check symbol, which could be ``*~$=U``;
``XXXX-XXXX-XXXX-C``) keep verifying: the length tells the two apart, so each is checked by its own rule only.

Reading is forgiving: case, spaces and dashes are ignored, and the letters Crockford maps to digits (O → 0, I and
L → 1) are accepted.
"""

from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
#: Old codes' check symbols (Crockford): the 32 of the alphabet and ``*~$=U``.
CHECK_SYMBOLS = ALPHABET + "*~$=U"
#: Old codes: 12 characters and a check symbol.
BODY_LENGTH = 12
#: New codes: 11 characters and a MOD 37-36 check character.
NEW_BODY_LENGTH = 11
_VALUE = {char: index for index, char in enumerate(ALPHABET)}
_ALIASES = str.maketrans({"O": "0", "I": "1", "L": "1"})
#: ISO/IEC 7064 MOD 37-36 works on the 36 digits and Latin letters.
_ISO_SYMBOLS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ISO_VALUE = {char: index for index, char in enumerate(_ISO_SYMBOLS)}


def check_character(body: str) -> str:
    """Crockford's check symbol of ``body`` (old codes): its value modulo 37."""
    value = 0
    for char in body:
        value = (value * len(ALPHABET) + _VALUE[char]) % len(CHECK_SYMBOLS)
    return CHECK_SYMBOLS[value]


def iso7064_check(body: str) -> str:
    """The ISO/IEC 7064 MOD 37-36 (hybrid system, M = 36) check character of ``body``."""
    modulus = 36
    product = modulus
    for char in body:
        total = (product + _ISO_VALUE[char]) % modulus or modulus
        product = (total * 2) % (modulus + 1)
    return _ISO_SYMBOLS[(modulus + 1 - product) % modulus]


def _is_robust(code: str) -> bool:
    """Every swap of two different neighbours in ``code`` changes the check."""
    for index in range(len(code) - 1):
        a, b = code[index], code[index + 1]
        if a != b:
            swapped = code[:index] + b + a + code[index + 2 :]
            if iso7064_check(swapped[:-1]) == swapped[-1]:
                return False
    return True


def new_code() -> str:
    """A random code (55 bits) with its check character, without separators: letters and digits only."""
    while True:
        body = "".join(secrets.choice(ALPHABET) for _ in range(NEW_BODY_LENGTH))
        code = body + iso7064_check(body)
        if code[-1] in _VALUE and _is_robust(code):
            return code


def normalise(text: str | None) -> str | None:
    """The canonical form of a typed code, or ``None`` when it is malformed or its check character is wrong."""
    if not text or len(text) > 40:
        return None
    cleaned = "".join(text.split()).replace("-", "").upper().translate(_ALIASES)
    body, check = cleaned[:-1], cleaned[-1:]
    if any(char not in _VALUE for char in body):
        return None
    if len(body) == NEW_BODY_LENGTH:
        return cleaned if check in _VALUE and iso7064_check(body) == check else None
    if len(body) == BODY_LENGTH and check in CHECK_SYMBOLS:
        return cleaned if check_character(body) == check else None
    return None


def formatted(code: str) -> str:
    """``XXXX-XXXX-XXXX`` (new codes) or ``XXXX-XXXX-XXXX-C`` (old ones) for printing."""
    groups = [code[0:4], code[4:8], code[8:12]]
    return "-".join([*groups, code[12:]] if len(code) > 12 else groups)
