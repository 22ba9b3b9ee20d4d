"""Build step of the wheel: bundle the checkout's top-level resources into the ``app`` package.

The project's guide fixes the source layout (``templates/``, ``translations/``, ``migrations/``, ``competencies/``
beside ``app/``), so a checkout keeps using them in place. A wheel cannot install top-level folders, so
``build_py`` copies them to ``app/_resources/`` in the build directory and compiles the translation catalogs
(``.po`` -> ``.mo``) there; ``app/config.py`` looks for that folder first. Metadata stays in ``pyproject.toml``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
#: Keep in step with ``RESOURCE_NAMES`` in app/config.py and with MANIFEST.in (the sdist must carry them too).
RESOURCES = ("templates", "translations", "migrations", "competencies")
BUNDLE = Path("app") / "_resources"


def compile_catalogs(translations: Path) -> None:
    """Write ``messages.mo`` beside every ``messages.po`` (what ``pybabel compile`` does)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po_path in sorted(translations.glob("*/LC_MESSAGES/messages.po")):
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=po_path.parent.parent.name)
        with po_path.with_suffix(".mo").open("wb") as mo_file:
            write_mo(mo_file, catalog)


class BuildWithResources(build_py):
    """``build_py`` that also copies the resources into the package and compiles the catalogs."""

    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install runs from the checkout, which has the resources in place
        target = Path(self.build_lib) / BUNDLE
        shutil.rmtree(target, ignore_errors=True)
        for name in RESOURCES:
            shutil.copytree(ROOT / name, target / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.mo"))
        compile_catalogs(target / "translations")


setup(cmdclass={"build_py": BuildWithResources})
