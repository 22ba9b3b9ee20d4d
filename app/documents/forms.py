"""Forms of the documents package."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms.fields import BooleanField, HiddenField, PasswordField, RadioField, SelectField, StringField, TextAreaField

from app.claims.forms import MultiCheckboxField
from app.core.forms import NoMarkup, SafeForm, max_length, required
from app.core.i18n import LANGUAGE_NAMES

TEXT_LIMIT = 6000


def _language_field():
    return RadioField(
        _l("Language of the document"),
        choices=list(LANGUAGE_NAMES.items()),
        default="fr",
        validators=[required(_l("Please choose a language."))],
    )


class PortfolioForm(SafeForm):
    kind = HiddenField(default="portfolio")
    language = _language_field()
    experience_ids = MultiCheckboxField(
        _l("Experiences to include"),
        coerce=int,
        validate_choice=False,
        description=_l("Leave everything unticked to include all your experiences."),
    )


class AttestationForm(SafeForm):
    kind = HiddenField(default="attestation")
    language = _language_field()
    experience_id = SelectField(_l("Mission"), coerce=int, validate_choice=False)


class VaeForm(SafeForm):
    kind = HiddenField(default="vae")
    language = _language_field()
    framework = SelectField(_l("Target certification"), validate_choice=False)
    annex_evidence = BooleanField(
        _l("Annex my evidence files to the PDF (each listed with the competences it supports)")
    )


class PrintOpinionForm(SafeForm):
    kind = HiddenField(default="opinion")
    language = _language_field()


class OpinionForm(SafeForm):
    author_role = StringField(_l("Your role in the association"), validators=[max_length(120), NoMarkup()])
    target_certification = StringField(
        _l("Certification the volunteer is applying for"), validators=[max_length(200), NoMarkup()]
    )
    relationship_text = TextAreaField(
        _l("How the association knows the volunteer"), validators=[max_length(TEXT_LIMIT)]
    )
    engagement = TextAreaField(_l("The volunteer's engagement"), validators=[max_length(TEXT_LIMIT)])
    competences = TextAreaField(_l("Competences the association observed"), validators=[max_length(TEXT_LIMIT)])
    opinion = TextAreaField(
        _l("The association's opinion"),
        validators=[required(_l("Please write the association's opinion.")), max_length(TEXT_LIMIT)],
    )


class VerifyCodeForm(SafeForm):
    class Meta:
        csrf = False  # a GET form: looking a code up changes nothing

    code = StringField(_l("Verification code"), validators=[required(_l("Please enter the code.")), max_length(40)])


class VerifyUploadForm(SafeForm):
    file = FileField(_l("PDF document"), validators=[required(_l("Please choose a PDF file."))])


class SigningUploadForm(SafeForm):
    """An NGO admin's own certificate and key (PKCS#12) with its passphrase."""

    file = FileField(
        _l("Certificate and key (PKCS#12: .p12 or .pfx)"),
        validators=[required(_l("Please choose a PKCS#12 file."))],
    )
    passphrase = PasswordField(
        _l("Passphrase of the file"),
        validators=[max_length(200)],
        render_kw={"autocomplete": "off"},
    )


class SigningResetForm(SafeForm):
    """Go back to a certificate the instance issues (no field: the CSRF token only)."""
