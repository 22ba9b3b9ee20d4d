"""The interface's own font: served by the app (the PDFs' packaged files), declared in the stylesheet."""

from __future__ import annotations

import re
from pathlib import Path

from app.main.views import WEB_FONTS

CSS = Path(__file__).resolve().parents[2] / "app" / "static" / "css" / "acquis.css"


def test_each_web_font_is_served_as_a_cacheable_truetype_file(client):
    for name in WEB_FONTS:
        response = client.get(f"/fonts/{name}")
        assert response.status_code == 200, name
        assert response.mimetype == "font/ttf"
        assert response.data[:4] == b"\x00\x01\x00\x00"  # a TrueType font, not an error page
        assert "max-age=604800" in response.headers["Cache-Control"]
        response.close()


def test_only_the_listed_fonts_are_served(client):
    for name in ("SourceSansPro-Regular.ttf", "../pdf.py", "source-serif-regular.ttf", "x"):
        assert client.get(f"/fonts/{name}").status_code == 404, name


def test_the_stylesheet_uses_the_served_fonts_and_no_system_ui():
    css = CSS.read_text(encoding="utf-8")
    declared = set(re.findall(r'url\("\.\./\.\./fonts/([^"]+)"\)', css))
    assert declared == set(WEB_FONTS)
    assert "system-ui" not in css.replace("no system-ui", "")
    assert re.search(r'font-family: "Source Sans Pro", [^;]*sans-serif;', css)
