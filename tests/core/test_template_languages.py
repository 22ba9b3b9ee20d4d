"""Templates translate in the language of each rendering, including the macros they import: Jinja builds a macro
module imported without context once and keeps it for every later rendering, so nothing language-specific may be
remembered there."""

from types import SimpleNamespace

from flask_babel import force_locale

TEMPLATE = '{% from "_macros/forms.html" import error_summary %}{{ error_summary(form) }}'


def _summary(app, language: str) -> str:
    form = SimpleNamespace(errors={"csrf_token": ["expired"]})
    with app.test_request_context("/"), force_locale(language):
        return app.jinja_env.from_string(TEMPLATE).render(form=form)


def test_an_imported_macro_speaks_the_language_of_each_rendering(app):
    assert "Please correct the following:" in _summary(app, "en")
    french = _summary(app, "fr")
    assert "Please correct the following:" not in french and "corriger" in french
    spanish = _summary(app, "es")
    assert "Please correct the following:" not in spanish and "corrija" in spanish.lower()
    assert "Please correct the following:" in _summary(app, "en")
