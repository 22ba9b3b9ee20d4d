"""What to tell the person who asked for a print when the renderer refused or failed (by
:attr:`RenderFailed.code <app.printing.sandbox.RenderFailed>`)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

RENDER_ERRORS = {
    "timeout": _l("The document took too long to print. Please print fewer experiences at a time."),
    "limits": _l("The document was too large to print. Please print fewer experiences at a time."),
    "busy": _l("The printer is busy. Please try again in a few minutes."),
    "error": _l("The document could not be printed. Please try again later."),
}
