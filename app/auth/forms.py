"""Account forms. Labels use ``_l`` so they are translated when rendered."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms.fields import BooleanField, PasswordField, SelectField, StringField
from wtforms.validators import InputRequired, ValidationError

from app.auth.passwords import MAX_PASSWORD_LENGTH, password_problems
from app.core.forms import NoMarkup, PrintableName, SafeForm, email_field, max_length, required
from app.core.i18n import LANGUAGE_NAMES


def _password_field(label, autocomplete: str) -> PasswordField:
    return PasswordField(
        label,
        validators=[required(_l("Please enter a password."))],
        render_kw={"autocomplete": autocomplete, "maxlength": MAX_PASSWORD_LENGTH},
    )


def _display_name_field() -> StringField:
    return StringField(
        _l("Name shown to others"),
        validators=[
            required(_l("Please enter your name.")),
            max_length(120),
            NoMarkup(),
            PrintableName(),
        ],
        render_kw={"autocomplete": "name"},
    )


def _language_field() -> SelectField:
    return SelectField(_l("Preferred language"), choices=list(LANGUAGE_NAMES.items()))


class NewPasswordMixin:
    """Checks the strength of ``password`` against the person's own details."""

    def personal_inputs(self) -> list[str]:
        return []

    def validate_password(self, field):
        for problem in password_problems(field.data or "", self.personal_inputs()):
            raise ValidationError(problem)


class RegisterForm(NewPasswordMixin, SafeForm):
    email = email_field()
    display_name = _display_name_field()
    password = _password_field(_l("Password (at least 12 characters)"), "new-password")
    locale = _language_field()

    def personal_inputs(self):
        return [self.email.data or "", self.display_name.data or ""]


class LoginForm(SafeForm):
    email = email_field()
    password = PasswordField(
        _l("Password"),
        validators=[InputRequired(message=_l("Please enter your password."))],
        render_kw={"autocomplete": "current-password"},
    )
    remember = BooleanField(_l("Keep me signed in on this device (30 days)"))


class SecondFactorForm(SafeForm):
    code = StringField(
        _l("Code from your authenticator app, or a recovery code"),
        validators=[required(_l("Please enter the code.")), max_length(20)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "text", "spellcheck": "false"},
    )


class ForgotPasswordForm(SafeForm):
    email = email_field()


class ResetPasswordForm(NewPasswordMixin, SafeForm):
    password = _password_field(_l("New password (at least 12 characters)"), "new-password")

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._user = user

    def personal_inputs(self):
        return [self._user.email, self._user.display_name] if self._user else []


class ResendVerificationForm(SafeForm):
    email = email_field()


class ProfileForm(SafeForm):
    display_name = _display_name_field()
    locale = _language_field()


class ChangePasswordForm(NewPasswordMixin, SafeForm):
    current_password = PasswordField(
        _l("Current password"),
        validators=[InputRequired(message=_l("Please enter your current password."))],
        render_kw={"autocomplete": "current-password"},
    )
    password = _password_field(_l("New password (at least 12 characters)"), "new-password")

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._user = user

    def personal_inputs(self):
        return [self._user.email, self._user.display_name] if self._user else []


class ChangeEmailForm(SafeForm):
    email = email_field(_l("New e-mail address"))
    current_password = PasswordField(
        _l("Current password"),
        validators=[InputRequired(message=_l("Please enter your current password."))],
        render_kw={"autocomplete": "current-password"},
    )


class PasswordConfirmForm(SafeForm):
    """Re-enter the password before a sensitive action."""

    current_password = PasswordField(
        _l("Current password"),
        validators=[InputRequired(message=_l("Please enter your current password."))],
        render_kw={"autocomplete": "current-password"},
    )


class EnableTotpForm(SafeForm):
    code = StringField(
        _l("6-digit code shown by the app"),
        validators=[required(_l("Please enter the code.")), max_length(10)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )


class LanguageForm(SafeForm):
    """The language switcher in the page header."""

    locale = SelectField(_l("Language"), choices=list(LANGUAGE_NAMES.items()))
    next = StringField()


class EmptyForm(SafeForm):
    """A form with only the CSRF token, for buttons that post."""
