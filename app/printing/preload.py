"""What the warm render pool's server process imports once, before it forks a child per render.

WeasyPrint (with Pango, Cairo and fontTools), pyHanko (with the HTTP client of the time-stamping authority, used
when ``TSA_URL`` is set), the restrictive fetcher and the signer: loading them is most of the second a fresh
interpreter needs before it can render.
"""

import pyhanko.sign.signers  # noqa: F401
import weasyprint  # noqa: F401
from PIL import Image, ImageChops, ImageSequence  # noqa: F401 - WeasyPrint's image decoding (the QR code)
from pyhanko.sign.timestamps import aiohttp_client  # noqa: F401

from app.printing import pdf, sandbox, signing  # noqa: F401

sandbox.quiet_logging()
Image.preinit()  # Pillow's image plugins, else imported by each render child (30 ms)
pdf.install_structure_attributes()
pdf.install_page_reference_cache()
pdf.install_stream_writer()
pdf.lean_html_class()
