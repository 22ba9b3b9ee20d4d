"""The one canonical JSON + hash helper keeps the bytes of each stored hash (known values pinned)."""

from __future__ import annotations

from app.core.canonical import canonical_json, content_hash
from app.frameworks import importers

SAMPLE = {"b": [1, "é", {"z": None, "a": 1.5}], "a": "x"}

#: Computed by the three serialisations this helper replaced, before it existed.
COMPACT_HASH = "d106a3fae877bf5c67f4382ec459ee88330ddef11bf5d8ed5ef2b15c032bf593"  # validation, documents
SPACED_HASH = "d132a047d80c42fa2a7e58468f29a21392da81c701eaded54d492ebf2a8c2327"  # framework versions


def test_compact_form_bytes_and_hash():
    assert canonical_json(SAMPLE) == '{"a":"x","b":[1,"é",{"a":1.5,"z":null}]}'.encode()
    assert content_hash(SAMPLE) == COMPACT_HASH


def test_spaced_form_kept_for_framework_versions():
    assert canonical_json(SAMPLE, spaced=True) == '{"a": "x", "b": [1, "é", {"a": 1.5, "z": null}]}'.encode()
    assert content_hash(SAMPLE, spaced=True) == SPACED_HASH
    assert importers.content_hash(SAMPLE) == SPACED_HASH
