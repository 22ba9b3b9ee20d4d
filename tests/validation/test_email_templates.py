"""Every e-mail template renders with its line breaks: no sentence glued to the next line's, a blank line after
the greeting, and plural forms instead of "competence(s)"."""

from __future__ import annotations

import re
import types
from datetime import UTC, datetime
from pathlib import Path

import pytest

from app.core import mail

TEMPLATES = sorted(
    p.stem for p in (Path(__file__).resolve().parents[2] / "templates" / "emails").glob("*.txt") if p.stem[0] != "_"
)
#: A sentence end (or a colon) directly followed by a capital letter: two lines glued together.
GLUED = re.compile(r"[a-zà-ÿ)”][.!?:](?=[A-ZÀ-Þ])")


def _person(name, email="someone@example.org"):
    return types.SimpleNamespace(display_name=name, email=email, name=name)


def _item(code, label, comment=""):
    return types.SimpleNamespace(
        snapshot={"node": {"code": code}}, decision=types.SimpleNamespace(label=label), comment=comment
    )


def _context(**overrides):
    context = {
        "user": _person("Valentine"),
        "admin": _person("Ada Admin"),
        "applicant": _person("Paul Applicant", "paul@example.org"),
        "inviter": _person("Ines Inviter"),
        "owner": _person("Olga Owner"),
        "trainer": _person("Théo Trainer"),
        "volunteer": _person("Valentine"),
        "referent": _person("Rosa Quispe"),
        "organisation": types.SimpleNamespace(name="Solidarité Monde"),
        "role": types.SimpleNamespace(label="Trainer"),
        "experience": types.SimpleNamespace(title="Water project"),
        "share": types.SimpleNamespace(expires_at=datetime(2030, 1, 1, tzinfo=UTC)),
        "items": [_item("C1", "Validated"), _item("C2", "Changes requested", "Add the report."), _item("C3", "OK")],
        "url": "http://acquis.example/link",
        "login_url": "http://acquis.example/login",
        "reset_url": "http://acquis.example/reset",
        "new_email": "new@example.org",
        "title": "Mission survey",
        "days": 30,
        "hours": 2,
        "count": 3,
        "round": 1,
        "reason": "Wrong NGO",
        "previous_state": "",
        # VAE reminders (templates/emails/vae_reminder.txt).
        "certification": "Coordinateur de projets de solidarité internationale",
        "deadline_key": "start_path",
        "due": datetime(2027, 6, 1, tzinfo=UTC).date(),
        "days_left": 7,
    }
    context.update(overrides)
    return context


def _body(template, language="en", **overrides):
    return mail.render_email(
        template, recipient="x@example.org", language=language, subject="s", **_context(**overrides)
    ).body


@pytest.mark.parametrize("language", ["en", "fr", "es"])
@pytest.mark.parametrize("template", TEMPLATES)
def test_every_email_keeps_its_line_breaks(app, template, language):
    with app.test_request_context():
        body = _body(template, language)
    lines = body.split("\n")
    assert lines[0].strip() and lines[1] == "", f"{template}: no blank line after the greeting:\n{body}"
    assert not GLUED.search(body), f"{template}: two lines glued together:\n{body}"
    assert "\n\n\n" not in body, f"{template}: two blank lines in a row:\n{body}"
    assert "(s)" not in body


def test_withdrawal_reason_and_item_lists_stand_on_their_own_lines(app):
    with app.test_request_context():
        withdrawn = _body("validation_withdrawn")
        decided = _body("validation_decided")
    assert "decide on it.\n\nReason given: Wrong NGO\n\n" in withdrawn
    assert ":\n\n- C1: Validated\n- C2: Changes requested — Add the report.\n- C3: OK\n\n" in decided


@pytest.mark.parametrize(("count", "text"), [(1, "with 1 competence to"), (3, "with 3 competences to")])
def test_the_number_of_competences_is_pluralised(app, count, text):
    with app.test_request_context():
        assert text in _body("validation_submitted", count=count)


@pytest.mark.parametrize(
    ("previous_state", "expected", "absent"),
    [
        ("returned", "the volunteer made the changes you asked for", "withdrawn"),
        ("withdrawn", "had withdrawn the previous round before any decision", "changes you asked for"),
        ("decided", "after your decisions on the previous round", "changes you asked for"),
    ],
)
def test_a_new_round_says_why_it_comes_back(app, previous_state, expected, absent):
    with app.test_request_context():
        body = _body("validation_submitted", round=2, previous_state=previous_state)
    assert f"This is round 2: {expected}" in body.replace("\n", " ") or expected in body
    assert absent not in body
    with app.test_request_context():
        first = _body("validation_submitted", round=1, previous_state="")
    assert "This is round" not in first
