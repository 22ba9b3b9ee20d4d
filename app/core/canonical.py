"""Canonical JSON and its SHA-256: one home for the serialisation whose hashes are stored.

Stored hashes must stay identical for existing rows, and two forms exist:

- the **compact** form (sorted keys, no spaces, UTF-8 without ``\\u`` escapes): what a reviewed claim, an
  experience's facts and a document's snapshot hash (``SubmissionItem``, ``ClaimValidation``, ``Submission``,
  ``Document``), and the snapshot embedded in a PDF;
- the **spaced** form (sorted keys, ``json``'s default ``", "`` and ``": "`` separators): what framework versions
  have hashed since their first import (``FrameworkVersion.content_hash``), kept so that re-importing an unchanged
  framework is still recognised as unchanged.

tests/core/test_canonical.py pins known hashes of both forms.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def canonical_json(data: Any, *, spaced: bool = False) -> bytes:
    """UTF-8 bytes of ``data`` as JSON with sorted keys, in the compact form (or the spaced one, see above)."""
    separators = (", ", ": ") if spaced else (",", ":")
    return json.dumps(data, sort_keys=True, separators=separators, ensure_ascii=False).encode("utf-8")


def content_hash(data: Any, *, spaced: bool = False) -> str:
    """SHA-256 hex digest of :func:`canonical_json` of ``data``."""
    return hashlib.sha256(canonical_json(data, spaced=spaced)).hexdigest()
