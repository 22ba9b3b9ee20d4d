"""Where issued documents' files are kept: one PDF per document under ``DOCUMENTS_DIR``.

A module of its own, without the documents' operations, so that account erasure (which deletes a person's files)
imports it downward at the top of its module, with no cycle.
"""

from __future__ import annotations

from pathlib import Path

from flask import current_app

from app.documents.models import Document
from app.printing.sandbox import setting


def documents_dir() -> Path:
    """The directory of the issued PDFs (``DOCUMENTS_DIR``, else ``INSTANCE_DIR/documents``)."""
    return Path(setting(current_app.config, "DOCUMENTS_DIR") or Path(current_app.config["INSTANCE_DIR"]) / "documents")


def document_path(document: Document) -> Path:
    """The file of ``document``."""
    return documents_dir() / f"{document.storage_key}.pdf"
