"""SafeForm and the shared validators: malformed input is refused next to the field, nothing else changes."""

from __future__ import annotations

import pytest
from wtforms.fields import StringField, TextAreaField

from app.core.forms import NoMarkup, PrintableName, SafeForm, email_field, max_length, required, text_problem
from app.core.i18n import force_locale


class SampleForm(SafeForm):
    class Meta:
        csrf = False

    name = StringField(
        "Name", validators=[required("Please enter a name."), max_length(20), NoMarkup(), PrintableName()]
    )
    notes = TextAreaField("Notes", validators=[max_length(200)])
    email = email_field()


def _form(app, body: bytes):
    with app.test_request_context(
        "/",
        method="POST",
        data=body,
        content_type="application/x-www-form-urlencoded",
        headers={"Accept-Language": "en"},
    ):
        form = SampleForm()
        valid = form.validate()
        # Lazy error messages are rendered while the request (and its English locale) is active.
        form.rendered_errors = {name: " ".join(str(e) for e in errors) for name, errors in form.errors.items()}
        return form, valid


@pytest.mark.parametrize(
    ("value", "multiline", "problem"),
    [
        ("plain text", False, None),
        ("Zoë Ngọc Ånne", False, None),
        ("two\nlines", True, None),
        ("tab\there", True, None),
        ("two\nlines", False, "control"),
        ("nul\x00byte", True, "control"),
        ("bell\x07", True, "control"),
        ("c1\x85control", True, "control"),
        ("line\u2028separator", True, "control"),
        ("bom\ufeff", False, "control"),
        ("bad \ufffd byte", False, "UTF-8"),
    ],
)
def test_text_problem(app, value, multiline, problem):
    with force_locale("en"):
        result = text_problem(value, multiline=multiline)
    if problem is None:
        assert result is None
    else:
        assert problem in result


def test_valid_input_is_stripped_and_lowercased(app):
    form, valid = _form(app, b"name=++Ana+Lima++&notes=line+one%0D%0Aline+two&email=+Ana%40Example.ORG+")
    assert valid, form.errors
    assert form.name.data == "Ana Lima"
    assert form.notes.data == "line one\r\nline two"
    assert form.email.data == "ana@example.org"


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (b"name=%FF%FEAna&email=a%40b.org", "name", "invalid UTF-8"),
        (b"name=Ana&email=a%FF%40b.org", "email", "invalid UTF-8"),
        (b"name=Ana&notes=%C3%28&email=a%40b.org", "notes", "invalid UTF-8"),
        (b"name=\xff\xfeAna&email=a%40b.org", "name", "invalid UTF-8"),  # raw, not percent-encoded
        (b"name=A%00na&email=a%40b.org", "name", "control characters"),
        (b"name=Ana&notes=x%00y&email=a%40b.org", "notes", "control characters"),
        (b"name=%3Cb%3EAna%3C%2Fb%3E&email=a%40b.org", "name", "< and >"),
        (b"name=" + b"a" * 21 + b"&email=a%40b.org", "name", "at most 20 characters"),
        (b"name=%21%21%21&email=a%40b.org", "name", "Please enter a name."),
        (b"name=++&email=a%40b.org", "name", "Please enter a name."),
        (b"name=Ana&email=not-an-address", "email", "valid e-mail address"),
        (b"name=Ana&email=" + b"a" * 250 + b"%40b.org", "email", "254"),
    ],
)
def test_malformed_input_is_refused_next_to_the_field(app, body, field, message):
    form, valid = _form(app, body)
    assert not valid
    assert message in form.rendered_errors.get(field, ""), form.rendered_errors
    others = {name for name in form.errors if name != field}
    assert not others, form.rendered_errors


def test_literal_percent_text_is_still_accepted(app):
    """A person may type "%FF" themselves: the browser sends %25FF, which is valid text."""
    form, valid = _form(app, b"name=Ana+%25FF&email=a%40b.org")
    assert valid, form.errors
    assert form.name.data == "Ana %FF"


def test_invalid_utf8_in_multipart_form_changes_nothing(client, db_session):
    import sqlalchemy as sa

    from app.auth.models import User

    boundary = "xyz"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="email"\r\n\r\nmp@example.org\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="display_name"\r\n\r\n'
        ).encode()
        + b"\xff\xfe"
        + (
            f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="password"\r\n\r\n'
            "violet harbour lantern 1987\r\n"
            f'--{boundary}\r\nContent-Disposition: form-data; name="locale"\r\n\r\nen\r\n--{boundary}--\r\n'
        ).encode()
    )
    response = client.post("/auth/register", data=body, content_type=f"multipart/form-data; boundary={boundary}")
    assert 400 <= response.status_code < 500
    assert db_session.scalar(sa.select(sa.func.count(User.id))) == 0
