"""The error family (app.core.errors): a UserError lands on its form field, or is flashed; the RH base reloads and
answers a Conflict, and flashes a UserError that no form showed."""

from __future__ import annotations

from flask import get_flashed_messages
from flask_wtf import FlaskForm
from wtforms import StringField

from app.core.errors import Conflict, UserError, populate_errors, user_errors
from app.core.views import RHPublic


class _Form(FlaskForm):
    class Meta:
        csrf = False

    name = StringField()
    comment = StringField()


def test_a_user_error_goes_onto_its_field_else_the_fallback(app):
    with app.test_request_context("/", method="POST", data={"name": "x"}):
        form = _Form()
        assert form.validate()
        assert populate_errors(form, UserError("Bad name.", "name"))
        assert populate_errors(form, UserError("No such field.", "nowhere"), fallback="comment")
        assert not populate_errors(form, UserError("Form-level."))
        assert form.name.errors == ["Bad name."]
        assert form.comment.errors == ["No such field."]


def test_user_errors_shows_the_error_and_goes_on_after_the_block(app):
    with app.test_request_context("/", method="POST"):
        form = _Form()
        reached = []
        with user_errors(form, fallback="comment"):
            raise UserError("Please say why.")
        reached.append(True)
        with user_errors():
            raise UserError("Nothing to put it on.")
        assert reached == [True]
        assert form.comment.errors == ["Please say why."]
        assert get_flashed_messages(with_categories=True) == [("error", "Nothing to put it on.")]


class _RHConflict(RHPublic):
    methods = ("GET", "POST")
    loads = 0

    def _load(self):
        type(self).loads += 1

    def _process(self):
        raise Conflict("Someone was faster.")


class _RHRefusalPostOnly(RHPublic):
    methods = ("POST",)

    def _process(self):
        raise UserError("Not like this.")


def test_the_base_reloads_on_a_conflict_and_shows_the_explanation(app):
    _RHConflict.loads = 0
    with app.test_request_context("/somewhere?x=1", method="POST"):
        response = _RHConflict.as_view("conflict")()
        assert _RHConflict.loads == 2  # loaded again after the conflict
        assert response.status_code == 302
        assert response.location == "/somewhere?x=1"
        assert get_flashed_messages(with_categories=True) == [("warning", "Someone was faster.")]


def test_the_base_flashes_a_user_error_no_form_showed(app):
    with app.test_request_context("/act", method="POST", headers={"Referer": "http://localhost/page?a=b"}):
        response = _RHRefusalPostOnly.as_view("refusal")()
        assert response.status_code == 302
        assert response.location == "/page?a=b"
        assert get_flashed_messages(with_categories=True) == [("error", "Not like this.")]
    with app.test_request_context("/act", method="POST", headers={"Referer": "https://elsewhere.example/page"}):
        response = _RHRefusalPostOnly.as_view("refusal")()
        assert response.location == "/"
