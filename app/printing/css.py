"""What the print templates share: safe CSS string literals for translated text in ``<style>``."""

from __future__ import annotations

from markupsafe import Markup


def css_string(text) -> Markup:
    """A CSS string literal of ``text`` with every character but letters, digits and spaces escaped (safe inside a
    ``<style>`` element whatever the translation contains)."""
    escaped = "".join(ch if ch.isalnum() or ch == " " else f"\\{ord(ch):06x}" for ch in str(text))
    return Markup(f'"{escaped}"')  # noqa: S704 - every special character is escaped above
