"""Bidirectional and other invisible format controls are refused, with a translated message next to the field, in
names and titles everywhere (SafeForm checks every text field) — and by the importer, which uses the same check."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.core.forms import text_problem
from app.core.i18n import force_locale

BIDI_CONTROLS = [chr(c) for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]]


@pytest.mark.parametrize("control", BIDI_CONTROLS, ids=[f"U+{ord(c):04X}" for c in BIDI_CONTROLS])
@pytest.mark.parametrize("multiline", [False, True], ids=["name", "free-text"])
def test_bidi_controls_are_refused(app, control, multiline):
    with force_locale("en"):
        problem = text_problem(f"Ana{control}gnp.exe", multiline=multiline)
    assert problem is not None and "direction" in problem


@pytest.mark.parametrize(
    "control", ["\u200e", "\u200f", "\u061c", "\u00ad", "\u2060", "\u200b", "\U000e0041"], ids=str.encode
)
def test_other_format_controls_are_refused_in_names(app, control):
    with force_locale("en"):
        assert text_problem(f"Ana{control}Lima", multiline=False) is not None
        # marks that right-to-left prose may need stay allowed in free text
        if control in ("\u200e", "\u200f", "\u061c"):
            assert text_problem(f"Ana{control}Lima", multiline=True) is None


@pytest.mark.parametrize(
    "text",
    ["\u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645", "👩\u200d💻 Ana", "Zoë Ngọc", "\u05e9\u05dc\u05d5\u05dd"],
)
def test_joiners_and_right_to_left_scripts_stay_allowed(app, text):
    with force_locale("en"):
        assert text_problem(text, multiline=False) is None


def test_the_message_is_translated(app):
    with force_locale("fr"):
        assert "sens de lecture" in text_problem("Ana\u202e", multiline=False)
    with force_locale("es"):
        assert "dirección" in text_problem("Ana\u202e", multiline=False)


def test_registration_refuses_a_name_with_a_bidi_override(client, db_session):
    from app.auth.models import User

    response = client.post(
        "/auth/register",
        data={
            "email": "rlo@example.org",
            "display_name": "Ana \u202eatiL",
            "password": "violet harbour lantern 1987",
            "locale": "en",
        },
        headers={"Accept-Language": "en"},
    )
    page = response.get_data(as_text=True)
    assert 400 <= response.status_code < 500
    assert 'id="display_name-error"' in page and "direction" in page
    assert db_session.scalar(sa.select(sa.func.count(User.id))) == 0


def test_an_experience_title_with_an_isolate_is_refused(client, login, create_user, db_session):
    from app.experiences.models import Experience

    user = create_user("iso@example.org", locale="en")
    login(client, user)
    response = client.post(
        "/experiences/new/training",
        data={
            "title": "Course \u2067evil\u2069",
            "start_date": "2024-01-01",
            "provider": "CCFD",
            "training_kind": "other",
        },
    )
    page = response.get_data(as_text=True)
    assert 400 <= response.status_code < 500
    assert 'id="title-error"' in page and "direction" in page
    assert db_session.scalar(sa.select(sa.func.count(Experience.id))) == 0
