"""The tag tree of every kind of printed document, read back with pypdf: what a screen reader walks through.

Lists are ``/L`` → ``/LI`` → ``/Lbl`` + ``/LBody`` (a ``/Div`` inside a list made readers announce an empty list),
every header cell carries ``/Scope``, and a passage in another language than the document's is tagged ``/Lang``
(the French legal line of an English attestation or opinion).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import pytest

from tests.documents.test_printed_documents import DEMO_VOLUNTEER, demo_runner  # noqa: F401 - fixture

#: Children a structure element may have in a well-formed list or table (PDF 1.7, 14.8.4.3).
ALLOWED_KIDS = {
    "/L": {"/LI", "/L", "/Caption"},
    "/LI": {"/Lbl", "/LBody"},
    "/Table": {"/Caption", "/THead", "/TBody", "/TFoot", "/TR"},
    "/THead": {"/TR"},
    "/TBody": {"/TR"},
    "/TFoot": {"/TR"},
    "/TR": {"/TH", "/TD"},
}


@dataclass
class Tag:
    role: str
    lang: str | None
    scope: str | None
    kids: list[Tag] = field(default_factory=list)
    text: str = ""

    def walk(self):
        yield self
        for kid in self.kids:
            yield from kid.walk()


def tag_tree(data: bytes) -> Tag:
    """The structure tree of a PDF as :class:`Tag` objects (roles, /Lang, /Scope)."""
    from pypdf import PdfReader

    root = PdfReader(io.BytesIO(data)).trailer["/Root"]["/StructTreeRoot"]

    def read(node) -> Tag:
        node = node.get_object()
        attributes = node.get("/A")
        attributes = attributes.get_object() if attributes is not None else {}
        scope = attributes.get("/Scope") if hasattr(attributes, "get") else None
        lang = node.get("/Lang")
        tag = Tag(str(node["/S"]), str(lang) if lang is not None else None, str(scope) if scope else None)
        kids = node.get("/K", [])
        for kid in kids if isinstance(kids, list) else [kids]:
            if hasattr(kid, "get_object") and hasattr(kid.get_object(), "get") and kid.get_object().get("/S"):
                tag.kids.append(read(kid))
        return tag

    kids = root["/K"]
    return read(kids[0] if isinstance(kids, list) else kids)


def malformed(tree: Tag) -> list[str]:
    """Every list or table element holding a child it may not hold, and every header cell without a scope."""
    problems = []
    for tag in tree.walk():
        allowed = ALLOWED_KIDS.get(tag.role)
        if allowed is not None:
            problems += [f"{tag.role} holds {kid.role}" for kid in tag.kids if kid.role not in allowed]
        if tag.role == "/TH" and tag.scope not in ("/Column", "/Row"):
            problems.append(f"/TH without /Scope ({tag.scope})")
    return problems


KINDS = [
    ("portfolio", "fr", False),
    ("attestation", "en", True),  # the demo mission is a VSI: the legal line stays in French
    ("vae", "es", False),
    ("opinion", "en", True),  # the legal line of the association's opinion is French law
]


@pytest.mark.parametrize(("kind", "language", "french_line"), KINDS, ids=[kind for kind, *_ in KINDS])
def test_tag_tree_of_each_document_kind(demo_runner, tmp_path, kind, language, french_line):  # noqa: F811
    out = tmp_path / f"{kind}.pdf"
    result = demo_runner.invoke(
        args=["dossier", "render", "--user", DEMO_VOLUNTEER, "--kind", kind, "--lang", language, "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    tree = tag_tree(out.read_bytes())
    roles = [tag.role for tag in tree.walk()]
    assert "/L" in roles and "/LBody" in roles
    assert malformed(tree) == []
    if kind == "portfolio":  # a bulleted list: its bullets are labels, and the tables have column headers
        assert "/Lbl" in roles
        assert any(tag.scope == "/Column" for tag in tree.walk())
    foreign = {tag.lang for tag in tree.walk() if tag.role == "/P" and tag.lang}
    assert foreign == ({"fr"} if french_line else set())


def test_the_checks_catch_a_div_in_a_list_and_a_header_without_scope():
    """The walker itself: a /Div inside a /L and a /TH without /Scope are both reported."""
    tree = Tag("/Document", None, None, [Tag("/L", None, None, [Tag("/Div", None, None)]), Tag("/TH", None, None)])
    assert malformed(tree) == ["/L holds /Div", "/TH without /Scope (None)"]
