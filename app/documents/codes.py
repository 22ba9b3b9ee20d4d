"""Short, human-typable verification codes: 12 Crockford base32 characters and a check character.

Printed as ``XXXX-XXXX-XXXX-C``. The check character is Crockford's: the code read as a base-32 number, modulo 37,
written with 37 symbols (the 32 of the alphabet and ``*~$=U``). Because 37 is a prime larger than 32, it catches
every single mistyped character and every swap of two neighbours (Luhn mod 32 misses the swap of 0 and Z).
Reading is forgiving: case, spaces and dashes are ignored, and the letters Crockford maps to digits (O → 0, I and
L → 1) are accepted.
"""

from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CHECK_SYMBOLS = ALPHABET + "*~$=U"
BODY_LENGTH = 12
_VALUE = {char: index for index, char in enumerate(ALPHABET)}
_ALIASES = str.maketrans({"O": "0", "I": "1", "L": "1"})


def check_character(body: str) -> str:
    """Crockford's check symbol of ``body`` (characters of :data:`ALPHABET`): its value modulo 37."""
    value = 0
    for char in body:
        value = (value * len(ALPHABET) + _VALUE[char]) % len(CHECK_SYMBOLS)
    return CHECK_SYMBOLS[value]


def new_code() -> str:
    """A random code (60 bits) with its check character, without separators."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY_LENGTH))
    return body + check_character(body)


def normalise(text: str | None) -> str | None:
    """The canonical form of a typed code, or ``None`` when it is malformed or its check character is wrong."""
    if not text or len(text) > 40:
        return None
    cleaned = "".join(text.split()).replace("-", "").upper().translate(_ALIASES)
    body, check = cleaned[:-1], cleaned[-1:]
    if len(body) != BODY_LENGTH or any(char not in _VALUE for char in body) or check not in CHECK_SYMBOLS:
        return None
    return cleaned if check_character(body) == check else None


def formatted(code: str) -> str:
    """``XXXX-XXXX-XXXX-C`` for printing."""
    return "-".join([code[0:4], code[4:8], code[8:12], code[12:]])
