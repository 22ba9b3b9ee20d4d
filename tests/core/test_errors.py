"""Error pages: the translated template with the right status code."""

from __future__ import annotations

import pytest
from flask_babel import gettext

from app.core.errors import ERROR_TEXTS
from app.core.i18n import force_locale
from tests.fixtures.app import make_test_app

ENGLISH = {"Accept-Language": "en"}


def assert_error_page(response, code: int, language: str = "en") -> str:
    assert response.status_code == code
    html = response.get_data(as_text=True)
    assert f'<html lang="{language}">' in html
    title, message = ERROR_TEXTS[code]
    with force_locale(language):
        expected_title, expected_message = str(title), str(message)
        code_line = gettext("Error code: %(code)s", code=code)
    assert f"<h1>{expected_title}</h1>" in html.replace("&#39;", "'")
    assert expected_message in html.replace("&#39;", "'")
    assert code_line in html
    assert "Content-Security-Policy" in response.headers
    return html


def test_404(client):
    assert_error_page(client.get("/no/such/page", headers=ENGLISH), 404)


def test_404_for_unknown_objects(client, create_user, login):
    login(client, create_user(locale="en"))
    assert_error_page(client.get("/organisations/no-such-organisation"), 404)


def test_404_in_spanish(client):
    assert_error_page(client.get("/no/such/page", headers={"Accept-Language": "es"}), 404, "es")


def test_403(client, create_user, login):
    login(client, create_user(locale="en"))
    assert_error_page(client.get("/admin/"), 403)


def test_405(client):
    assert_error_page(client.get("/auth/logout", headers=ENGLISH), 405)


def test_413(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024)
    response = client.post("/auth/login", data={"email": "a@b.org", "password": "x" * 2048}, headers=ENGLISH)
    assert_error_page(response, 413)


def test_413_at_the_configured_limit(app, client):
    limit = app.config["MAX_CONTENT_LENGTH"]
    body = b"password=" + b"x" * limit
    response = client.post("/auth/login", data=body, content_type="application/x-www-form-urlencoded", headers=ENGLISH)
    assert_error_page(response, 413)


@pytest.fixture
def production_errors_app(database_url, tmp_path):
    """An app that turns unexpected exceptions into the 500 page (tests otherwise see tracebacks)."""
    return make_test_app(database_url, tmp_path, PROPAGATE_EXCEPTIONS=False)


def test_500_renders_page_and_rolls_back(production_errors_app, create_user, db_session, outbox, monkeypatch):
    import sqlalchemy as sa

    from app.auth import views
    from app.auth.models import User

    real_register = views.ops.register_user

    def failing_register(data):
        real_register(data)  # creates the user and queues the mail ...
        raise RuntimeError("boom")  # ... then something breaks

    monkeypatch.setattr(views.ops, "register_user", failing_register)
    client = production_errors_app.test_client()
    response = client.post(
        "/auth/register",
        data={
            "email": "half@example.org",
            "display_name": "Half",
            "password": "violet harbour lantern 1987",
            "locale": "en",
        },
        headers=ENGLISH,
    )
    html = assert_error_page(response, 500)
    assert "boom" not in html and "Traceback" not in html
    assert db_session.scalar(sa.select(sa.func.count(User.id)).where(User.email == "half@example.org")) == 0
    assert outbox == []  # the verification mail of the rolled-back account is never sent


def test_429_from_login_throttle_is_a_form_error_not_a_crash(client, create_user):
    user = create_user()
    for _attempt in range(6):
        response = client.post("/auth/login", data={"email": user.email, "password": "wrong"}, headers=ENGLISH)
    assert response.status_code == 429
    assert "Too many failed attempts." in response.get_data(as_text=True)
