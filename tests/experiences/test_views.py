"""Experiences through their pages: CRUD per kind, validation rules with messages next to the field, duration
warnings that inform without blocking, hostile input, and privacy (another person's experience is a 404)."""

from __future__ import annotations

import html as html_module
import re
from datetime import date

import pytest
import sqlalchemy as sa

from app.experiences.models import Experience, ExperienceKind
from app.extensions import db


@pytest.fixture
def signed_in(client, volunteer, login):
    login(client, volunteer)
    return client


def experience_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Experience))


def mission_form(**overrides) -> dict:
    data = {
        "title": "Chargée de projet eau et assainissement",
        "status_code": "VSI",
        "start_date": "2023-01-09",
        "end_date": "2024-06-30",
        "sending_organisation_id": "",
        "sending_organisation_name": "La Guilde",
        "host_name": "Asociación Agua Viva",
        "host_country": "PE",
        "host_city": "Cusco",
        "working_time": "full_time",
        "hours_per_week": "35",
        "team_size": "12",
        "budget_managed_eur": "45000",
        "people_served": "1200",
        "languages_used": "Spanish, Quechua",
        "context": "A rural district of the Andes.",
        "activities": "Built 14 water points with the municipality.",
        "results": "1 200 people with safe water.",
    }
    data.update(overrides)
    return data


def training_form(**overrides) -> dict:
    data = {
        "title": "Formation au départ",
        "provider": "France Volontaires",
        "training_kind": "pre_departure",
        "start_date": "2022-11-14",
        "end_date": "2022-11-18",
        "hours": "35",
        "certificate": "Attestation de formation",
        "activities": "Intercultural communication, security, project cycle.",
    }
    data.update(overrides)
    return data


def other_form(**overrides) -> dict:
    data = {
        "title": "Trésorier bénévole",
        "start_date": "2021-09-01",
        "end_date": "",
        "sending_organisation_id": "",
        "sending_organisation_name": "Amis du Pérou",
        "host_country": "FR",
        "context": "A small association twinning with Cusco.",
        "activities": "Accounts, grant applications.",
        "results": "",
    }
    data.update(overrides)
    return data


FORMS = {"mission": mission_form, "training": training_form, "other": other_form}


def error_of(html: str, field: str) -> str:
    """The error message shown next to ``field`` (empty when there is none)."""
    match = re.search(rf'<p class="error-message" id="{field}-error">(.*?)</p>', html, re.S)
    if not match:
        return ""
    text = re.sub(r'<span class="visually-hidden">.*?</span>', "", match.group(1), flags=re.S)
    return html_module.unescape(re.sub(r"<[^>]+>", "", text)).strip()


def only_experience() -> Experience:
    return db.session.scalars(sa.select(Experience)).one()


# --- Create, read, update, delete per kind -----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["mission", "training", "other"])
def test_new_form_renders_for_each_kind(signed_in, kind):
    response = signed_in.get(f"/experiences/new/{kind}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'name="title"' in html and 'name="start_date"' in html
    assert ('name="status_code"' in html) == (kind == "mission")
    assert ('name="provider"' in html) == (kind == "training")
    assert ('name="sending_organisation_id"' in html) == (kind != "training")


def test_unknown_kind_is_404(signed_in):
    assert signed_in.get("/experiences/new/holiday").status_code == 404


def test_create_mission_shows_every_fact(signed_in, volunteer):
    response = signed_in.post("/experiences/new/mission", data=mission_form())
    assert response.status_code == 302
    experience = only_experience()
    assert response.headers["Location"].endswith(f"/experiences/{experience.id}")
    assert experience.owner_id == volunteer.id
    assert experience.kind == ExperienceKind.MISSION
    assert (experience.start_date, experience.end_date) == (date(2023, 1, 9), date(2024, 6, 30))
    assert (experience.team_size, experience.budget_managed_eur, experience.people_served) == (12, 45000, 1200)
    assert experience.status_code == "VSI" and experience.host_country == "PE"
    page = signed_in.get(response.headers["Location"]).get_data(as_text=True)
    for text in (
        "Chargée de projet eau et assainissement",
        "Asociación Agua Viva",
        "Cusco",
        "Peru",
        "La Guilde",
        "International solidarity volunteering (VSI)",
        "Loi n° 2005-159",
        "Spanish, Quechua",
        "Built 14 water points",
    ):
        assert text in page, text
    assert "has been saved" in page  # the flash message
    assert "flash-warning" not in page  # 18 months of VSI is within the legal bounds


def test_create_mission_with_an_acquis_ngo(signed_in, create_org):
    ngo = create_org("Délégation Catholique pour la Coopération")
    response = signed_in.post(
        "/experiences/new/mission", data=mission_form(sending_organisation_id=str(ngo.id), sending_organisation_name="")
    )
    assert response.status_code == 302
    assert only_experience().sending_organisation_id == ngo.id
    assert "Délégation Catholique pour la Coopération" in signed_in.get(response.headers["Location"]).get_data(
        as_text=True
    )


def test_create_training_and_other(signed_in):
    assert signed_in.post("/experiences/new/training", data=training_form()).status_code == 302
    assert signed_in.post("/experiences/new/other", data=other_form()).status_code == 302
    training, other = db.session.scalars(sa.select(Experience).order_by(Experience.id)).all()
    assert training.kind == ExperienceKind.TRAINING and training.hours == 35
    assert training.training_kind.value == "pre_departure" and training.provider == "France Volontaires"
    assert training.status_code is None and training.host_country == ""
    assert other.kind == ExperienceKind.OTHER and other.end_date is None
    listing = signed_in.get("/experiences/").get_data(as_text=True)
    assert "Formation au départ" in listing and "Trésorier bénévole" in listing
    assert "ongoing" in listing  # the engagement without an end date
    # Most recent first
    assert listing.index("Formation au départ") < listing.index("Trésorier bénévole")


def test_training_requires_a_provider(signed_in):
    response = signed_in.post("/experiences/new/training", data=training_form(provider=""))
    assert response.status_code == 422
    assert error_of(response.get_data(as_text=True), "provider") == "Please name the provider."
    assert experience_count() == 0


def test_edit_prefills_and_saves(signed_in):
    signed_in.post("/experiences/new/mission", data=mission_form())
    experience = only_experience()
    form_page = signed_in.get(f"/experiences/{experience.id}/edit").get_data(as_text=True)
    assert 'value="Chargée de projet eau et assainissement"' in form_page
    assert '<option selected value="VSI">' in form_page or 'value="VSI" selected' in form_page
    assert re.search(r'<option (selected )?value="full_time"( selected)?', form_page)
    response = signed_in.post(
        f"/experiences/{experience.id}/edit", data=mission_form(title="Coordinatrice", team_size="")
    )
    assert response.status_code == 302
    db.session.expire_all()
    experience = only_experience()
    assert experience.title == "Coordinatrice" and experience.team_size is None
    assert experience.kind == ExperienceKind.MISSION


def test_delete_asks_for_confirmation(signed_in):
    signed_in.post("/experiences/new/training", data=training_form())
    experience = only_experience()
    confirm = signed_in.get(f"/experiences/{experience.id}/delete")
    assert confirm.status_code == 200
    assert "Do you really want to delete" in confirm.get_data(as_text=True)
    assert experience_count() == 1  # GET changes nothing
    response = signed_in.post(f"/experiences/{experience.id}/delete")
    assert response.status_code == 302 and response.headers["Location"].endswith("/experiences/")
    assert experience_count() == 0
    assert signed_in.get(f"/experiences/{experience.id}").status_code == 404


# --- Validation rules -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["mission", "training", "other"])
def test_end_before_start_is_refused_next_to_end_date(signed_in, kind):
    response = signed_in.post(
        f"/experiences/new/{kind}", data=FORMS[kind](start_date="2024-03-01", end_date="2024-02-28")
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert error_of(html, "end_date") == "The end date cannot be before the start date."
    assert 'id="end_date" aria-invalid="true"' in html or re.search(r'aria-invalid="true"[^>]*id="end_date"', html)
    assert experience_count() == 0
    # What was typed is kept
    assert 'value="2024-02-28"' in html and 'value="2024-03-01"' in html


def test_end_before_start_is_refused_on_edit_too(signed_in):
    signed_in.post("/experiences/new/mission", data=mission_form())
    experience = only_experience()
    response = signed_in.post(
        f"/experiences/{experience.id}/edit", data=mission_form(start_date="2024-01-01", end_date="2023-01-01")
    )
    assert response.status_code == 422
    assert error_of(response.get_data(as_text=True), "end_date") == "The end date cannot be before the start date."
    db.session.expire_all()
    assert only_experience().end_date == date(2024, 6, 30)


def test_missing_start_date_and_title(signed_in):
    response = signed_in.post("/experiences/new/other", data=other_form(title="", start_date=""))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert error_of(html, "title") == "Please give a title."
    assert error_of(html, "start_date") == "Please enter the start date."
    assert 'class="error-summary"' in html
    assert experience_count() == 0


def test_vsi_over_two_years_is_saved_but_flagged(signed_in):
    response = signed_in.post(
        "/experiences/new/mission", data=mission_form(start_date="2021-01-01", end_date="2023-06-30")
    )
    assert response.status_code == 302
    assert experience_count() == 1
    page = signed_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "flash-warning" in page
    warning = "This mission lasts 911 days, more than the usual maximum of 730 days"
    assert page.count(warning) == 2  # the flash after saving, and the notice on the page itself
    assert 'class="notice"' in page
    # The notice stays on the page (the flash does not)
    again = signed_in.get(response.headers["Location"]).get_data(as_text=True)
    assert again.count(warning) == 1 and "flash-warning" not in again


def test_esc_too_short_is_flagged(signed_in):
    response = signed_in.post(
        "/experiences/new/mission", data=mission_form(status_code="CES", start_date="2024-07-01", end_date="2024-07-05")
    )
    assert response.status_code == 302
    page = signed_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "less than the usual minimum of 14 days" in page
    assert "European Solidarity Corps" in page


def test_warning_after_an_edit(signed_in):
    signed_in.post("/experiences/new/mission", data=mission_form())
    experience = only_experience()
    response = signed_in.post(
        f"/experiences/{experience.id}/edit",
        data=mission_form(status_code="SCI", end_date="2025-06-30"),
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    assert "flash-warning" in html and "more than the usual maximum of 366 days" in html


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("team_size", "-3", "Please enter a number between 0 and 100000."),
        ("hours_per_week", "35 hours", None),
        ("budget_managed_eur", "1e4", None),
        ("people_served", "-1", "Please enter a number between 0 and 100000000."),
        ("hours_per_week", "170", "Please enter a number between 0 and 100."),
    ],
)
def test_bad_numbers_are_field_errors(signed_in, field, value, message):
    response = signed_in.post("/experiences/new/mission", data=mission_form(**{field: value}))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    error = error_of(html, field)
    assert error, html
    if message:
        assert error == message
    assert experience_count() == 0


def test_text_in_training_hours_is_a_field_error(signed_in):
    response = signed_in.post("/experiences/new/training", data=training_form(hours="thirty"))
    assert response.status_code == 422
    assert error_of(response.get_data(as_text=True), "hours")
    assert experience_count() == 0


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("status_code", "NOPE", "Please choose a status from the list."),
        ("status_code", "", "Please choose a status from the list."),
        ("host_country", "XX", "Please choose a country from the list."),
        ("host_country", "", "Please choose the country of the mission."),
        ("sending_organisation_id", "999999", "Please choose an organisation from the list."),
        ("sending_organisation_id", "abc", "Please choose an organisation from the list."),
        ("working_time", "always", None),
    ],
)
def test_unknown_choices_are_field_errors(signed_in, field, value, message):
    response = signed_in.post("/experiences/new/mission", data=mission_form(**{field: value}))
    assert response.status_code == 422
    error = error_of(response.get_data(as_text=True), field)
    assert error
    if message:
        assert error == message
    assert experience_count() == 0


def test_only_sending_ngos_are_offered(signed_in, create_org):
    from app.organisations.models import OrganisationKind

    partner = create_org("Host Partner Org", kind=OrganisationKind.HOST_PARTNER)
    form_page = signed_in.get("/experiences/new/mission").get_data(as_text=True)
    assert "Host Partner Org" not in form_page
    response = signed_in.post("/experiences/new/mission", data=mission_form(sending_organisation_id=str(partner.id)))
    assert response.status_code == 422
    assert error_of(response.get_data(as_text=True), "sending_organisation_id")
    assert experience_count() == 0


# --- Hostile input --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("title", "Coordinatrice\x00", "This field contains control characters; please retype it."),
        ("title", "x" * 10_000, "Please use at most 200 characters."),
        ("title", "<script>alert(1)</script>", "Please remove the characters < and >."),
        ("host_city", "Cusco<img src=x onerror=alert(1)>", "Please remove the characters < and >."),
        ("activities", "a" * 5001, "Please use at most 5000 characters."),
        ("activities", "line\x00", "This field contains control characters; please retype it."),
        ("title", "Coordi\nnatrice", "This field contains control characters; please retype it."),
    ],
)
def test_hostile_input_is_a_field_error(signed_in, field, value, message):
    response = signed_in.post("/experiences/new/mission", data=mission_form(**{field: value}))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert error_of(html, field) == message
    assert "<script>alert(1)</script>" not in html
    assert experience_count() == 0


def test_invalid_utf8_is_a_field_error(signed_in):
    from urllib.parse import urlencode

    body = urlencode(mission_form(title="PLACEHOLDER")).replace("PLACEHOLDER", "Coordinatrice%FF%FE").encode()
    response = signed_in.post("/experiences/new/mission", data=body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 422
    assert error_of(response.get_data(as_text=True), "title") == (
        "This field contains characters that are not valid text (invalid UTF-8)."
    )
    assert experience_count() == 0


def test_html_in_free_text_is_stored_literally_and_rendered_escaped(signed_in):
    hostile = 'We <b>built</b> wells <script>alert("x")</script> & trained "staff"'
    response = signed_in.post("/experiences/new/mission", data=mission_form(activities=hostile, results="<i>ok</i>"))
    assert response.status_code == 302
    experience = only_experience()
    assert experience.activities == hostile
    html = signed_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "&lt;script&gt;alert(" in html
    assert '<script>alert("x")' not in html and "<b>built</b>" not in html and "<i>ok</i>" not in html
    edit = signed_in.get(f"/experiences/{experience.id}/edit").get_data(as_text=True)
    assert "&lt;b&gt;built&lt;/b&gt;" in edit and "<b>built</b>" not in edit


def test_typed_values_are_kept_when_validation_fails(signed_in):
    response = signed_in.post(
        "/experiences/new/mission",
        data=mission_form(team_size="-4", context="Un contexte très précis", host_name="Asociación Agua Viva"),
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Un contexte très précis" in html
    assert 'value="Asociación Agua Viva"' in html
    assert 'value="-4"' in html


# --- Privacy --------------------------------------------------------------------------------------------------


def test_another_persons_experience_is_404(app, signed_in, create_user, login):
    signed_in.post("/experiences/new/mission", data=mission_form())
    experience = only_experience()
    intruder = app.test_client()
    login(intruder, create_user(locale="en"))
    for url in (
        f"/experiences/{experience.id}",
        f"/experiences/{experience.id}/edit",
        f"/experiences/{experience.id}/delete",
    ):
        assert intruder.get(url).status_code == 404, url
    assert intruder.post(f"/experiences/{experience.id}/delete").status_code == 404
    assert intruder.post(f"/experiences/{experience.id}/edit", data=mission_form(title="Pwned")).status_code == 404
    assert "Chargée de projet" not in intruder.get("/experiences/").get_data(as_text=True)
    db.session.expire_all()
    assert only_experience().title == "Chargée de projet eau et assainissement"


def test_guests_are_sent_to_login(client):
    response = client.get("/experiences/")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
