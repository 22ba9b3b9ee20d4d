"""French typography for printed documents: a narrow no-break space (U+202F) before ``:`` ``;`` ``!`` ``?``.

Applied to the text of the rendered HTML only (never inside tags, ``<style>`` or ``<script>``), so attributes, CSS
and URLs are untouched; a colon glued to a word ("Pays:") gets its space, a plain space before the sign becomes the
narrow no-break one (so the sign never starts a line), and ``https://`` or ``10:30`` keep theirs (the sign is not
followed by a space there).
"""

from __future__ import annotations

import re

NARROW_NBSP = "\u202f"
_CHUNKS = re.compile(r"(<style\b.*?</style>|<script\b.*?</script>|<[^>]*>)", re.IGNORECASE | re.DOTALL)
#: A sign after a letter, a closing bracket or quote, or after spaces, and followed by a space or the end.
_SIGN = re.compile(r"(?<=[\w)\]»”\u2019])[ \u00a0\u202f]*([:;!?])(?=\s|$|<)|[ \u00a0]+([:;!?])(?=\s|$)")


_ENTITY = re.compile(r"(&#?\w+;)")


def _fix(text: str) -> str:
    """Space the signs of a text node, leaving character references (``&amp;``, ``&#39;``) whole."""
    parts = _ENTITY.split(text)
    return "".join(
        part if index % 2 else _SIGN.sub(lambda m: NARROW_NBSP + (m.group(1) or m.group(2)), part)
        for index, part in enumerate(parts)
    )


def french_typography(html: str) -> str:
    """``html`` with French spacing before high punctuation in its text nodes."""
    parts = _CHUNKS.split(html)
    return "".join(part if index % 2 else _fix(part) for index, part in enumerate(parts))
