"""PNG pictures of credentials, drawn with Pillow: the Open Badges image, an NGO's issuer image, and the page image
a European Digital Credential displays.

Nothing here parses markup: names and titles typed by people are drawn as plain text with the bundled Source Sans
font (from the ``font-source-sans-pro`` package, never a system font), so a name such as ``<svg onload=…>`` is only
ever a row of glyphs. No SVG — ours or a user's — is rendered.
"""

from __future__ import annotations

import importlib.util
import io
import textwrap
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

INK = (31, 41, 55)
ACCENT = (14, 116, 144)
PAPER = (255, 255, 255)
PALE = (224, 242, 246)
#: Pixel sizes of the square badge and of the landscape credential page.
BADGE_SIZE = 400
PAGE_SIZE = (1240, 877)


@lru_cache(maxsize=8)
def _font(weight: str, size: int) -> ImageFont.FreeTypeFont:
    spec = importlib.util.find_spec("font_source_sans_pro")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the font package 'font_source_sans_pro' is not installed (pip install -e .)")
    directory = Path(next(iter(spec.submodule_search_locations))) / "files"
    return ImageFont.truetype(str(directory / f"SourceSansPro-{weight}.ttf"), size)


def _lines(text: str, width: int, limit: int) -> list[str]:
    """``text`` wrapped at ``width`` characters, at most ``limit`` lines (control characters dropped)."""
    clean = "".join(ch if ch.isprintable() else " " for ch in text or "").strip()
    lines = textwrap.wrap(clean, width=width) or [""]
    if len(lines) > limit:
        lines = [*lines[: limit - 1], textwrap.shorten(" ".join(lines[limit - 1 :]), width=width, placeholder="…")]
    return lines


def _centred(draw: ImageDraw.ImageDraw, lines: list[str], top: int, width: int, font, fill) -> int:
    """Draw lines centred horizontally from ``top``; returns the y below the last line."""
    y = top
    for line in lines:
        draw.text((width / 2, y), line, font=font, fill=fill, anchor="ma")
        y += int(font.size * 1.2)
    return y


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def badge_png(competence: str, organisation: str, caption: str) -> bytes:
    """A round badge: the competence in the middle, the NGO's name below, a short caption above."""
    size = BADGE_SIZE
    image = Image.new("RGB", (size, size), PAPER)
    draw = ImageDraw.Draw(image)
    draw.ellipse((8, 8, size - 8, size - 8), fill=PALE, outline=ACCENT, width=10)
    draw.ellipse((34, 34, size - 34, size - 34), outline=ACCENT, width=2)
    _centred(draw, _lines(caption, 26, 1), 78, size, _font("Semibold", 20), ACCENT)
    y = _centred(draw, _lines(competence, 22, 4), 128, size, _font("Bold", 28), INK)
    draw.line((size / 2 - 60, y + 10, size / 2 + 60, y + 10), fill=ACCENT, width=3)
    _centred(draw, _lines(organisation, 28, 2), y + 24, size, _font("Regular", 20), INK)
    return _png(image)


def issuer_png(organisation: str) -> bytes:
    """The NGO's issuer image: its initials in a disc and its name (NGOs have no logo of their own here)."""
    size = BADGE_SIZE
    initials = "".join(word[0] for word in (organisation or "?").split() if word[:1].isalnum())[:3].upper() or "?"
    image = Image.new("RGB", (size, size), PAPER)
    draw = ImageDraw.Draw(image)
    draw.ellipse((90, 40, size - 90, size - 140), fill=ACCENT)
    draw.text((size / 2, 150), initials, font=_font("Bold", 88), fill=PAPER, anchor="mm")
    _centred(draw, _lines(organisation, 28, 2), size - 120, size, _font("Semibold", 26), INK)
    return _png(image)


def page_png(title: str, subtitle: str, items: list[str], footer: str) -> bytes:
    """A landscape page: a title, a subtitle (the holder), a list of items and a footer (issuer, note)."""
    width, height = PAGE_SIZE
    image = Image.new("RGB", PAGE_SIZE, PAPER)
    draw = ImageDraw.Draw(image)
    draw.rectangle((20, 20, width - 20, height - 20), outline=ACCENT, width=6)
    y = _centred(draw, _lines(title, 50, 2), 70, width, _font("Bold", 48), INK)
    y = _centred(draw, _lines(subtitle, 60, 1), y + 20, width, _font("Semibold", 36), ACCENT)
    item_font = _font("Regular", 28)
    y += 30
    for item in items[:10]:
        for index, line in enumerate(_lines(item, 80, 2)):
            draw.text((110, y), ("• " if index == 0 else "  ") + line, font=item_font, fill=INK)
            y += 34
    if len(items) > 10:
        draw.text((110, y), f"… (+{len(items) - 10})", font=item_font, fill=INK)
    _centred(draw, _lines(footer, 90, 2), height - 120, width, _font("Regular", 24), INK)
    return _png(image)
