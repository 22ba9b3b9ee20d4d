"""Search form and the administrators' import forms (YAML, ESCO CSV, RNCP CSV)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileRequired, MultipleFileField
from flask_wtf.file import FileField as WTFileField
from wtforms.fields import BooleanField, StringField, SubmitField
from wtforms.validators import Optional, Regexp

from app.core.forms import SafeForm, max_length, required


class SearchForm(SafeForm):
    """GET search form (no CSRF: it changes nothing)."""

    class Meta(SafeForm.Meta):
        csrf = False

    q = StringField(_l("Words to look for"), validators=[max_length(200)])


class _VersionChoice:
    """An imported version becomes current only when it is newer; this box makes it current whatever its version."""

    make_current = BooleanField(_l("Make the imported version current even if its version is not newer"))


class YamlImportForm(_VersionChoice, SafeForm):
    files = MultipleFileField(
        _l("Framework or crosswalk files (YAML)"),
        validators=[FileRequired(_l("Please choose at least one YAML file."))],
    )
    submit = SubmitField(_l("Import the files"))


class EscoImportForm(_VersionChoice, SafeForm):
    files = MultipleFileField(
        _l("ESCO package (zip) or its CSV files"),
        validators=[FileRequired(_l("Please choose the ESCO zip file or its CSV files."))],
    )
    version = StringField(
        _l("ESCO version"),
        validators=[
            required(_l("Please enter the ESCO version, like 1.2.0.")),
            max_length(60),
            Regexp(r"^[0-9A-Za-z._-]+$", message=_l("Use digits, letters, dots and dashes only, like 1.2.0.")),
        ],
        default="1.2.0",
    )
    languages = StringField(
        _l("Languages"),
        validators=[
            Optional(),
            max_length(60),
            Regexp(r"^[a-z]{2}(\s*,\s*[a-z]{2})*$", message=_l("Two-letter codes separated by commas, like fr,en.")),
        ],
    )
    submit = SubmitField(_l("Import ESCO"))


class RncpImportForm(_VersionChoice, SafeForm):
    standard = WTFileField(
        _l("Standard table (CSV)"),
        validators=[FileRequired(_l("Please choose the Standard CSV file.")), FileAllowed(["csv"], _l("CSV only."))],
    )
    blocs = WTFileField(
        _l("Blocs table (CSV)"),
        validators=[FileRequired(_l("Please choose the Blocs CSV file.")), FileAllowed(["csv"], _l("CSV only."))],
    )
    fiche = StringField(
        _l("RNCP number"),
        validators=[
            required(_l("Please enter the RNCP number, like RNCP35658.")),
            max_length(20),
            Regexp(r"^(?i:rncp)?\s*\d{1,6}$", message=_l("An RNCP number looks like RNCP35658.")),
        ],
    )
    submit = SubmitField(_l("Import the certification"))
