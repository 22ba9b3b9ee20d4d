"""Short, human-typable verification codes: 12 Crockford base32 characters and a check character.

Printed as ``XXXX-XXXX-XXXX-C``. The check character (Luhn mod 32 over the alphabet) catches any single mistyped
character and any swap of two neighbours. Reading is forgiving: case, spaces and dashes are ignored, and the letters
Crockford maps to digits (O → 0, I and L → 1) are accepted.
"""

from __future__ import annotations

import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
BODY_LENGTH = 12
_VALUE = {char: index for index, char in enumerate(ALPHABET)}
_ALIASES = str.maketrans({"O": "0", "I": "1", "L": "1"})


def check_character(body: str) -> str:
    """The Luhn mod 32 check character of ``body`` (characters of :data:`ALPHABET`)."""
    factor, total, n = 2, 0, len(ALPHABET)
    for char in reversed(body):
        addend = factor * _VALUE[char]
        factor = 1 if factor == 2 else 2
        total += addend // n + addend % n
    return ALPHABET[(n - total % n) % n]


def new_code() -> str:
    """A random code (60 bits) with its check character, without separators."""
    body = "".join(secrets.choice(ALPHABET) for _ in range(BODY_LENGTH))
    return body + check_character(body)


def normalise(text: str | None) -> str | None:
    """The canonical form of a typed code, or ``None`` when it is malformed or its check character is wrong."""
    if not text or len(text) > 40:
        return None
    cleaned = "".join(text.split()).replace("-", "").upper().translate(_ALIASES)
    if len(cleaned) != BODY_LENGTH + 1 or any(char not in _VALUE for char in cleaned):
        return None
    body, check = cleaned[:-1], cleaned[-1]
    return cleaned if check_character(body) == check else None


def formatted(code: str) -> str:
    """``XXXX-XXXX-XXXX-C`` for printing."""
    return "-".join([code[0:4], code[4:8], code[8:12], code[12:]])
