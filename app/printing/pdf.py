"""HTML → archival PDF through a deny-by-default resource fetcher.

WeasyPrint fetches whatever an HTML document names (images, stylesheets, fonts, ``<link rel=attachment>``). Here it
may only reach:

- the **bundled assets** below — a fixed mapping from a name to a file shipped with the project or installed from
  PyPI (the fonts come from ``font-source-sans-pro`` / ``font-source-serif-pro``, never from the system by chance),
  addressed as ``acquis-asset:<name>``;
- ``data:`` URIs (the QR code is one).

Every other URL — ``http``, ``https``, ``file:``, relative paths, anything a redirect would lead to — raises, so
WeasyPrint skips the resource; the refused URLs are kept on the fetcher (``denied``) for logs and tests. Attachments
declared by the HTML (``<link rel=attachment>``, ``<a rel=attachment>``) are dropped: the only embedded files are the
ones the caller passes. Templates never render user HTML (Jinja autoescapes), so this is defence in depth.
"""

from __future__ import annotations

import base64
import importlib.util
import io
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote_to_bytes

from app.config import PACKAGE_DIR

logger = logging.getLogger(__name__)

ASSET_SCHEME = "acquis-asset"
DEFAULT_VARIANT = "pdf/a-3a"


def _font_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"the font package {package!r} is not installed (pip install -e .)")
    return Path(next(iter(spec.submodule_search_locations))) / "files"


def _asset_map() -> dict[str, tuple[Path, str]]:
    sans = _font_dir("font_source_sans_pro")
    serif = _font_dir("font_source_serif_pro")
    pdf_static = PACKAGE_DIR / "static" / "pdf"
    return {
        "font/sans-regular": (sans / "SourceSansPro-Regular.ttf", "font/ttf"),
        "font/sans-italic": (sans / "SourceSansPro-It.ttf", "font/ttf"),
        "font/sans-semibold": (sans / "SourceSansPro-Semibold.ttf", "font/ttf"),
        "font/sans-bold": (sans / "SourceSansPro-Bold.ttf", "font/ttf"),
        "font/serif-regular": (serif / "SourceSerifPro-Regular.ttf", "font/ttf"),
        "font/serif-bold": (serif / "SourceSerifPro-Bold.ttf", "font/ttf"),
        "css/document.css": (pdf_static / "document.css", "text/css"),
        "img/logo.svg": (pdf_static / "logo.svg", "image/svg+xml"),
    }


_ASSETS: dict[str, tuple[Path, str]] | None = None


def assets() -> dict[str, tuple[Path, str]]:
    """The bundled assets: name → (file path, MIME type)."""
    global _ASSETS
    if _ASSETS is None:
        _ASSETS = _asset_map()
    return _ASSETS


def asset_url(name: str) -> str:
    """The URL a template uses for a bundled asset."""
    if name not in assets():
        raise KeyError(name)
    return f"{ASSET_SCHEME}:{name}"


class FetchDenied(ValueError):
    """A resource outside the bundled assets and ``data:`` URIs."""


_DATA_URI = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(?:;[\w.+-]+=[\w.+-]+)*)(?P<b64>;base64)?,")
MAX_DATA_URI_BYTES = 2 * 1024 * 1024


def _make_fetcher_class():
    from weasyprint.urls import URLFetcher, URLFetcherResponse  # optional dependency

    class DenyByDefaultFetcher(URLFetcher):
        """Serves bundled assets and ``data:`` URIs; refuses everything else (no network, no files, no redirects)."""

        def __init__(self):
            super().__init__(allow_redirects=False, allowed_protocols=(ASSET_SCHEME, "data"))
            self.denied: list[str] = []
            self.served: list[str] = []

        def fetch(self, url, headers=None):
            if url.startswith(f"{ASSET_SCHEME}:"):
                entry = assets().get(url[len(ASSET_SCHEME) + 1 :])
                if entry is not None:
                    path, mime = entry
                    self.served.append(url)
                    return URLFetcherResponse(url, body=path.read_bytes(), headers={"Content-Type": mime})
            elif url.startswith("data:") and len(url) <= MAX_DATA_URI_BYTES * 2:
                match = _DATA_URI.match(url)
                if match:
                    payload = url[match.end() :]
                    body = base64.b64decode(payload) if match["b64"] else unquote_to_bytes(payload)
                    self.served.append(url[:40])
                    mime = match["mime"] or "text/plain"
                    return URLFetcherResponse("data:", body=body, headers={"Content-Type": mime})
            self.denied.append(url[:300])
            logger.warning("PDF render: refused to fetch %s", url[:300])
            raise FetchDenied(f"resource refused: {url[:100]}")

        # The base class is a urllib opener: make sure nothing reaches it.
        def open(self, url, data=None, timeout=None):
            full = url.full_url if hasattr(url, "full_url") else url
            return self.fetch(full)

    return DenyByDefaultFetcher


_FETCHER_CLASS = None


def make_fetcher():
    """A fresh deny-by-default fetcher (it records what it served and refused)."""
    global _FETCHER_CLASS
    if _FETCHER_CLASS is None:
        _FETCHER_CLASS = _make_fetcher_class()
    return _FETCHER_CLASS()


@dataclass(frozen=True)
class PdfAttachment:
    """A file to embed (PDF/A-3 associated file): ``relationship`` is Data, Source, Alternative or Supplement."""

    name: str
    data: bytes
    mime: str = "application/json"
    description: str = ""
    relationship: str = "Data"


def _unique_associated_files(_document, pdf) -> None:
    """List each attachment once in the catalog's AF array: WeasyPrint adds every file specification twice (from
    the EmbeddedFiles name tree and from the object list), which PDF/A-3 validators flag."""
    import pydyf  # optional dependency

    entries = pdf.catalog.get("AF")
    if entries:
        seen: set[str] = set()
        pdf.catalog["AF"] = pydyf.Array([e for e in entries if not (str(e) in seen or seen.add(str(e)))])


@dataclass
class RenderResult:
    pdf: bytes
    pages: int
    denied: list[str]


def render(
    html: str,
    *,
    attachments: tuple[PdfAttachment, ...] | list[PdfAttachment] = (),
    variant: str | None = DEFAULT_VARIANT,
    fetcher=None,
) -> bytes:
    """Render ``html`` (a trusted template's output) to PDF bytes; see :func:`render_full`."""
    return render_full(html, attachments=attachments, variant=variant, fetcher=fetcher).pdf


def render_full(html: str, *, attachments=(), variant: str | None = DEFAULT_VARIANT, fetcher=None) -> RenderResult:
    """Render ``html`` to a (PDF/A-3a by default: tagged, with bookmarks) PDF with only ``attachments`` embedded.

    Resources go through the deny-by-default fetcher; the HTML's own attachments are dropped.
    """
    from weasyprint import Attachment  # optional dependency
    from weasyprint.text.fonts import FontConfiguration  # optional dependency

    install_structure_attributes()
    install_page_reference_cache()
    install_stream_writer()
    fetcher = fetcher or make_fetcher()
    font_config = FontConfiguration()
    options = {"pdf_variant": variant} if variant else {}
    document = lean_html_class()(string=html, url_fetcher=fetcher, base_url=None).render(
        font_config=font_config, **options
    )
    # Drop attachments the HTML itself declared: only ours are embedded.
    document.metadata.attachments = []
    for page in document.pages:
        page.links[:] = [link for link in page.links if link[0] != "attachment"]
    embedded = [
        Attachment(
            string=item.data,
            name=item.name,
            description=item.description or item.name,
            relationship=item.relationship,
            url_fetcher=fetcher,
        )
        for item in attachments
    ]
    output = io.BytesIO()
    document.write_pdf(output, attachments=embedded, finisher=_unique_associated_files, **options)
    return RenderResult(pdf=output.getvalue(), pages=len(document.pages), denied=list(fetcher.denied))


# --- The user-agent style sheet, without the pseudo-elements our documents never have -------------------------------

#: Rules of WeasyPrint's HTML user-agent sheet whose selector is a bare pseudo-element, so that it matches *every*
#: element: the cascade then computes a style for six pseudo-elements of each of the ~5,000 elements of a dossier
#: (26,000 computed styles, most of its "style sheet" time), used by none of them. Our documents have no footnotes
#: or notes (``float: footnote``), and only list items have markers.
_UNIVERSAL_PSEUDO_RULES = {
    "::marker {": "li::marker, summary::marker {",
    "::footnote-call {": None,
    "::footnote-marker {": None,
    "::note-call {": None,
    "::note-marker {": None,
    "::note-callback {": None,
}
_LEAN_HTML_CLASS = None


def lean_user_agent_css(text: str) -> str | None:
    """WeasyPrint's user-agent sheet ``text`` with the rules above scoped or dropped; None when a rule is not found
    where expected (another WeasyPrint version: keep its own sheet)."""
    lines = text.splitlines()
    for prefix, replacement in _UNIVERSAL_PSEUDO_RULES.items():
        found = [index for index, line in enumerate(lines) if line.startswith(prefix)]
        if len(found) != 1:
            return None
        index = found[0]
        lines[index] = "" if replacement is None else replacement + lines[index][len(prefix) :]
    return "\n".join(lines)


def lean_html_class():
    """WeasyPrint's ``HTML`` with the lean user-agent sheet (built once per process: the warm pool's children
    inherit it); WeasyPrint's own ``HTML`` when its sheet is not the one expected."""
    global _LEAN_HTML_CLASS
    if _LEAN_HTML_CLASS is None:
        from weasyprint import CSS, HTML  # optional dependency
        from weasyprint import html as weasy_html  # optional dependency
        from weasyprint.css.counters import CounterStyle  # optional dependency

        lean = lean_user_agent_css(weasy_html.UA)
        if lean is None:
            logger.warning("PDF render: unexpected WeasyPrint user-agent sheet, using it as is")
            _LEAN_HTML_CLASS = HTML
        else:
            sheet = CSS(string=lean, counter_style=CounterStyle())

            class LeanHTML(HTML):
                def _ua_stylesheets(self, forms=False):
                    return [sheet, weasy_html.UA_FORM_STYLESHEET] if forms else [sheet]

            _LEAN_HTML_CLASS = LeanHTML
    return _LEAN_HTML_CLASS


# --- Tag tree: what WeasyPrint leaves out --------------------------------------------------------------------------


def _structure_attributes(box, element) -> None:
    """Copy ``scope`` (as ``/Scope``) and ``lang`` (as ``/Lang``) of ``box``'s HTML element onto its tag.

    PDF/UA asks for both: a header cell says whether it heads a column or a row, and a passage in another language
    than the document's (the French legal line of an English attestation, a title shown in its fallback language)
    is read with that language's voice.
    """
    import pydyf  # optional dependency

    html = getattr(box, "element", None)
    if html is None or box.element_tag in ("html", "body"):
        return
    lang = html.get("lang")
    if lang and "Lang" not in element:
        element["Lang"] = pydyf.String(lang)
    scope = html.get("scope")
    if box.element_tag == "th" and element.get("S") == "/TH" and scope in ("col", "row"):
        element["A"]["Scope"] = "/Column" if scope == "col" else "/Row"


def install_structure_attributes() -> None:
    """Wrap WeasyPrint's tag-tree builder so that every tag made from an element gets its ``/Scope`` and ``/Lang``.

    WeasyPrint (up to 70 at least) maps ``th`` to ``/TH`` and ``lang`` only to the catalog's ``/Lang``; its builder
    is a recursive generator that yields each box's tag after building it, and calls itself through the module, so
    one wrapper sees every box with its finished tag. Idempotent; a WeasyPrint without that builder is left as is.
    """
    from weasyprint.formatting_structure import boxes  # optional dependency
    from weasyprint.pdf import tags  # optional dependency

    original = getattr(tags, "_build_box_tree", None)
    if original is None or getattr(original, "acquis_structure_attributes", False):
        return

    def build_box_tree(box, parent, *args):
        for element in original(box, parent, *args):
            if not isinstance(box, (boxes.PageBox, boxes.MarginBox)):
                _structure_attributes(box, element)
            yield element

    build_box_tree.acquis_structure_attributes = True
    tags._build_box_tree = build_box_tree


def install_page_reference_cache() -> None:
    """Make pydyf's ``PDF.page_references`` build its tuple once per page count instead of at every access.

    WeasyPrint's tag-tree builder reads ``pdf.page_references[page]`` for every structure element it makes (some
    12,000 in a 36-page dossier), and pydyf rebuilds the tuple of all page references each time: half a second of
    a dossier's CPU. Pages are only ever appended (``add_page``), so the page count identifies the tuple. Idempotent.
    """
    import pydyf  # optional dependency

    if getattr(pydyf.PDF.page_references.fget, "acquis_cached", False):
        return
    original = pydyf.PDF.page_references.fget

    def page_references(pdf):
        count = len(pdf.pages["Kids"])
        cached = pdf.__dict__.get("_acquis_page_references")
        if cached is None or cached[0] != count:
            cached = pdf.__dict__["_acquis_page_references"] = (count, original(pdf))
        return cached[1]

    page_references.acquis_cached = True
    pydyf.PDF.page_references = property(page_references)


#: zlib level of the PDF's streams. pydyf deflates every stream at level 9: on a 36-page dossier's 5.2 MB of content
#: streams that cost 0.29 s of CPU; level 6 (zlib's default) 0.08 s, for streams 4.5 % larger (599 -> 626 kB before
#: the object streams). Any level is the same /FlateDecode filter to a reader and to PDF/A.
STREAM_COMPRESSION_LEVEL = 6


def install_stream_writer() -> None:
    """Make pydyf's ``Stream.data`` deflate at :data:`STREAM_COMPRESSION_LEVEL` and skip ``_to_bytes`` for bytes.

    Same output format as pydyf 0.13's (the operators joined by line feeds, then ``/FlateDecode`` when compressed);
    nearly all of a content stream's half-million operators are already bytes, for which the call was pure cost.
    Idempotent.
    """
    import zlib

    import pydyf  # optional dependency

    if getattr(pydyf.Stream.data.fget, "acquis_stream_writer", False):
        return
    to_bytes = pydyf._to_bytes

    def data(stream):
        body = b"\n".join(item if item.__class__ is bytes else to_bytes(item) for item in stream.stream)
        extra = pydyf.Dictionary(stream.extra.copy())
        if stream.compress:
            extra["Filter"] = "/FlateDecode"
            body = zlib.compress(body, STREAM_COMPRESSION_LEVEL)
        extra["Length"] = len(body)
        return b"\n".join((extra.data, b"stream", body, b"endstream"))

    data.acquis_stream_writer = True
    pydyf.Stream.data = property(data)
