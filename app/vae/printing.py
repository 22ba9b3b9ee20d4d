"""The project's documents for the certifier, printed through the documents package (the one module of ``vae``
that knows about printing: the engine behind ``app.documents`` may move without touching the rest)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

#: Kind → label of the documents a project prints (always in French, the certifiers' language).
DOCUMENTS = {
    "livret1": _l("Livret 1 draft (Cerfa 12818*02)"),
    "faisabilite": _l("Dossier de faisabilité draft"),
    "validation": _l("Dossier de validation (signed)"),
}


class NotReady(Exception):
    """The document cannot be printed yet; ``message`` says why (translated)."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


def print_project_document(project, kind: str, *, actor) -> str:
    """Print document ``kind`` of ``project``; returns the URL to follow (the document, or its print job)."""
    raise NotReady(_l("Printing is not available yet."))
