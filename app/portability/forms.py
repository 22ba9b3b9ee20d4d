"""Forms of the portability package."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms.fields import PasswordField, StringField
from wtforms.validators import InputRequired

from app.core.forms import SafeForm, max_length


class ImportForm(SafeForm):
    file = FileField(_l("Export file (.zip)"), validators=[FileRequired(message=_l("Choose the zip file to import."))])


class DeleteAccountForm(SafeForm):
    current_password = PasswordField(
        _l("Current password"),
        validators=[InputRequired(message=_l("Please enter your current password."))],
        render_kw={"autocomplete": "current-password"},
    )
    confirmation = StringField(
        _l("Type your e-mail address to confirm"),
        validators=[InputRequired(message=_l("Type your e-mail address to confirm.")), max_length(254)],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
