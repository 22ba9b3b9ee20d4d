"""Survey pages: answering in the user's language, reports, CSV export, moderation, statement counts."""

from __future__ import annotations

import base64
import csv
import io
import re

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from app.extensions import db
from app.survey.models import CommentState, SurveyParticipation, SurveyPendingAnswer, SurveyResponse
from tests.survey.conftest import form_data
from tests.translated import in_template


@pytest.fixture
def ngo_admin(create_user, create_org, add_member):
    org = create_org("Solidarité Ouest", slug="solidarite-ouest")
    admin = create_user("admin@solidarite.example", name="Ada Admin")
    add_member(org, admin, "admin")
    return org, admin


# --- Answering ---


def test_questionnaire_is_shown_in_the_users_language(client, login, create_respondent, questionnaire):
    login(client, create_respondent(locale="es"))
    page = client.get("/survey/impact/2").get_data(as_text=True)
    assert "Lo que la misión cambió para usted" in page
    assert "Tengo más confianza en mí mismo/a." in page
    assert "Totalmente de acuerdo" in page
    assert "Prefiero no responder" in page
    assert "<script" not in page


def test_answer_then_already_answered(client, login, create_respondent, create_org, questionnaire):
    org = create_org("Returnee NGO")
    user = create_respondent(org, locale="en")
    login(client, user)
    page = client.get("/survey/impact/2").get_data(as_text=True)
    assert 'id="comment-privacy"' in page  # respondents are told not to identify themselves
    response = client.post("/survey/impact/2", data=form_data(questionnaire, organisations=[org], comment="Thanks"))
    assert response.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SurveyPendingAnswer)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SurveyResponse)) == 0
    page = client.get("/survey/impact/2").get_data(as_text=True)
    assert "You have already answered this version" in page
    # A second POST (double click, back button) records nothing and says so.
    response = client.post("/survey/impact/2", data=form_data(questionnaire), follow_redirects=True)
    assert "already answered" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SurveyPendingAnswer)) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SurveyParticipation)) == 1
    assert "You have answered version 2" in client.get("/survey/").get_data(as_text=True)


def test_missing_consent_or_answers_are_reported_next_to_the_fields(client, login, create_respondent, questionnaire):
    login(client, create_respondent(locale="en"))
    data = form_data(questionnaire, consent=False)
    del data["item_confidence"]
    response = client.post("/survey/impact/2", data=data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Please give your consent" in page
    assert 'id="item_confidence-error"' in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SurveyPendingAnswer)) == 0


def test_closed_or_unknown_questionnaire_is_404(client, login, create_user):
    login(client, create_user())
    assert client.get("/survey/impact/1").status_code == 404
    assert client.get("/survey/impact/9").status_code == 404
    assert client.get("/survey/other/2").status_code == 404


# --- Reports ---


def _spread(make_responses, questionnaire, org=None, comment=None):
    orgs = [org] if org else []
    make_responses(questionnaire, 12, profile={"status": "VSI"}, answers={"confidence": "5"}, organisations=orgs)
    make_responses(questionnaire, 9, profile={"status": "SC"}, answers={"confidence": "4"}, organisations=orgs)
    make_responses(questionnaire, 6, profile={"status": "SC"}, answers={"confidence": "3"}, organisations=orgs)
    make_responses(questionnaire, 2, profile={"status": "BEN"}, answers={"confidence": "1"}, organisations=orgs)
    make_responses(questionnaire, 7, profile={"status": "ESC"}, answers={"confidence": "4"}, organisations=orgs)
    if comment:
        make_responses(
            questionnaire,
            1,
            organisations=orgs,
            comment=comment,
            state=CommentState.APPROVED,
            answers={"confidence": "5"},
        )


def test_org_report_shows_suppressed_table_and_chart(client, login, ngo_admin, make_responses, questionnaire):
    org, admin = ngo_admin
    _spread(make_responses, questionnaire, org)
    login(client, admin)
    response = client.get(f"/survey/orgs/{org.slug}/report")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<caption>" in page and 'scope="col"' in page and 'scope="row"' in page
    assert "&lt; 5" in page  # the two "strongly disagree" answers
    assert '<img src="data:image/svg+xml;base64,' in page
    assert "<script" not in page and "<svg" not in page and "style=" not in page
    svg = base64.b64decode(re.search(r'src="data:image/svg\+xml;base64,([^"]+)"', page).group(1)).decode()
    assert "<svg" in svg and "<script" not in svg.lower()


def test_report_breakdown_filter_and_version_comparison(client, login, ngo_admin, make_responses, questionnaire, v1):
    org, admin = ngo_admin
    _spread(make_responses, questionnaire, org)
    make_responses(v1, 8, answers={"confidence": "4"}, organisations=[org])
    make_responses(v1, 7, answers={"confidence": "5"}, organisations=[org])
    make_responses(v1, 6, answers={"confidence": "3"}, organisations=[org])
    login(client, admin)
    page = client.get(f"/survey/orgs/{org.slug}/report").get_data(as_text=True)
    assert in_template("fr", "Comparison between questionnaire versions") in page  # the admin reads French
    page = client.get(f"/survey/orgs/{org.slug}/report?view=by:status").get_data(as_text=True)
    assert "Cadre de votre engagement</caption>" in page
    page = client.get(f"/survey/orgs/{org.slug}/report?view=where:status:BEN").get_data(as_text=True)
    assert 'id="nothing-shown"' in page  # 2 respondents
    page = client.get(f"/survey/orgs/{org.slug}/report?view=where:status:VSI").get_data(as_text=True)
    assert 'id="nothing-shown"' not in page
    assert client.get(f"/survey/orgs/{org.slug}/report?version=1").status_code == 200
    assert client.get(f"/survey/orgs/{org.slug}/report?version=7").status_code == 404


def test_other_ngos_answers_are_not_in_an_org_report(
    client, login, ngo_admin, create_org, make_responses, questionnaire
):
    org, admin = ngo_admin
    _spread(make_responses, questionnaire, create_org())
    login(client, admin)
    page = client.get(f"/survey/orgs/{org.slug}/report").get_data(as_text=True)
    assert 'id="nothing-shown"' in page


def test_no_page_shows_a_response_next_to_a_user(
    client, login, ngo_admin, make_responses, questionnaire, create_user, create_respondent
):
    org, admin = ngo_admin
    respondent = create_respondent(org, email="respondent@example.org", name="Rosa Respondent")
    login(client, respondent)
    client.post("/survey/impact/2", data=form_data(questionnaire, organisations=[org], comment="Ma mission"))
    _spread(make_responses, questionnaire, org)
    response_ids = list(db.session.scalars(sa.select(SurveyResponse.id)))
    admin_client = client.application.test_client()
    login(admin_client, admin)
    platform = client.application.test_client()
    login(platform, create_user(platform_admin=True, totp=True))
    pages = [
        admin_client.get(f"/survey/orgs/{org.slug}/report"),
        admin_client.get(f"/survey/orgs/{org.slug}/report?view=by:status"),
        admin_client.get(f"/survey/orgs/{org.slug}/report.csv"),
        admin_client.get(f"/survey/orgs/{org.slug}/moderation"),
        platform.get("/survey/admin/report"),
        platform.get("/survey/admin/moderation"),
    ]
    for page in pages:
        text = page.get_data(as_text=True)
        assert "Rosa Respondent" not in text and "respondent@example.org" not in text
        assert not any(rid in text for rid in response_ids)
    # The moderation queue shows released comments only (this one waits for its batch), and no profile answers.
    queue = pages[3].get_data(as_text=True)
    assert "Ma mission" not in queue
    assert "Volontariat de solidarité internationale" not in queue and "VSI" not in queue


def test_comments_appear_in_reports_only_once_approved(client, login, ngo_admin, make_responses, questionnaire):
    org, admin = ngo_admin
    _spread(make_responses, questionnaire, org)
    (pending,) = make_responses(questionnaire, organisations=[org], comment="Pending words")
    login(client, admin)
    assert "Pending words" not in client.get(f"/survey/orgs/{org.slug}/report").get_data(as_text=True)
    response = client.post(
        f"/survey/comments/{pending.comment.id}/moderate",
        data={"decision": "approve", "next": f"/survey/orgs/{org.slug}/moderation"},
    )
    assert response.status_code == 302 and response.headers["Location"].endswith("/moderation")
    assert "Pending words" in client.get(f"/survey/orgs/{org.slug}/report").get_data(as_text=True)
    # Filtered views never show comments (a filter would tie a comment to a profile).
    assert "Pending words" not in client.get(f"/survey/orgs/{org.slug}/report?view=where:status:VSI").get_data(
        as_text=True
    )


def test_moderator_of_another_ngo_gets_404(
    client, login, create_user, create_org, add_member, make_responses, questionnaire
):
    ngo, other = create_org(), create_org()
    other_admin = create_user()
    add_member(other, other_admin, "admin")
    (response,) = make_responses(questionnaire, organisations=[ngo], comment="Hidden")
    login(client, other_admin)
    assert (
        client.post(f"/survey/comments/{response.comment.id}/moderate", data={"decision": "approve"}).status_code == 404
    )
    assert client.post("/survey/comments/unknown/moderate", data={"decision": "approve"}).status_code == 404
    assert response.comment.state == CommentState.PENDING


def test_invite_sends_mail_to_volunteers(client, login, ngo_admin, create_user, add_member, outbox):
    org, admin = ngo_admin
    add_member(org, create_user("v-es@example.org", locale="es"), "volunteer")
    login(client, admin)
    response = client.post(f"/survey/orgs/{org.slug}/invite", follow_redirects=True)
    assert "Invitation sent to 1 returnees" in response.get_data(as_text=True) or "1" in response.get_data(as_text=True)
    assert [m.recipient for m in outbox] == ["v-es@example.org"]
    assert outbox[0].language == "es"


# --- CSV ---


def test_csv_export_is_suppressed_and_neutralised(client, login, ngo_admin, make_responses, questionnaire):
    org, admin = ngo_admin
    _spread(make_responses, questionnaire, org, comment='=HYPERLINK("http://evil.example","click")')
    make_responses(
        questionnaire,
        1,
        organisations=[org],
        comment="@SUM(1+1)",
        state=CommentState.APPROVED,
        answers={"confidence": "5"},
    )
    login(client, admin)
    response = client.get(f"/survey/orgs/{org.slug}/report.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    raw = response.get_data()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM for spreadsheet software
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    cells = [cell for row in rows for cell in row]
    assert '\'=HYPERLINK("http://evil.example","click")' in cells
    assert "'@SUM(1+1)" in cells
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in cells)
    # Small counts are hidden in the export as on the page.
    for cell in cells:
        if cell.isdigit():
            assert int(cell) >= 5, cell
    assert "< 5" in cells


def test_platform_admin_report_covers_every_response(
    client, login, create_user, create_org, make_responses, questionnaire
):
    _spread(make_responses, questionnaire, create_org())
    _spread(make_responses, questionnaire)
    login(client, create_user(platform_admin=True, totp=True))
    page = client.get("/survey/admin/report").get_data(as_text=True)
    assert re.search(r'<p class="figure">\s*72\s*</p>', page)
    assert client.get("/survey/admin/report.csv").status_code == 200


# --- A fixed number of statements whatever the data size ---


def _statements(client, url):
    count = 0

    def before(*args, **kwargs):
        nonlocal count
        count += 1

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        assert client.get(url).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
    return count


def test_report_runs_the_same_number_of_statements_for_10_and_200_responses(
    client, login, ngo_admin, make_responses, questionnaire, v1
):
    org, admin = ngo_admin
    login(client, admin)
    make_responses(questionnaire, 5, organisations=[org], comment="c", state=CommentState.APPROVED)
    make_responses(questionnaire, 5, organisations=[org], profile={"status": "SC"})
    make_responses(v1, 10, organisations=[org])
    url = f"/survey/orgs/{org.slug}/report"
    small = _statements(client, url)
    small_breakdown = _statements(client, url + "?view=by:status")
    make_responses(questionnaire, 95, organisations=[org], comment="d", state=CommentState.APPROVED)
    make_responses(questionnaire, 95, organisations=[org], profile={"status": "VSI"})
    make_responses(v1, 190, organisations=[org])
    assert _statements(client, url) == small
    assert _statements(client, url + "?view=by:status") == small_breakdown


# --- Differencing across scopes ---


def test_cross_scope_differencing_is_impossible(
    app, client, login, create_user, create_org, add_member, make_responses, questionnaire
):
    """All answers minus NGO X would be the answers outside X (6 vs 5 in one cell reveals one answer): no person
    can open two overlapping scopes. Platform admins have the all-answers report only (even for an NGO they
    administer); an admin of two NGOs sees each NGO's report without the answers attributed to both."""
    x, y = create_org("NGO X", slug="ngo-x"), create_org("NGO Y", slug="ngo-y")
    make_responses(questionnaire, 10, organisations=[x])
    make_responses(questionnaire, 6, organisations=[x, y])
    make_responses(questionnaire, 10, organisations=[y])
    make_responses(questionnaire, 1, answers={"confidence": "1"})  # outside every NGO

    platform_admin = create_user(platform_admin=True, totp=True)
    add_member(x, platform_admin, "admin")
    login(client, platform_admin)
    assert re.search(r'<p class="figure">\s*27\s*</p>', client.get("/survey/admin/report").get_data(as_text=True))
    for suffix in ("report", "report.csv", "report.pdf"):
        assert client.get(f"/survey/orgs/ngo-x/{suffix}").status_code == 404
    assert "/survey/orgs/ngo-x/report" not in client.get("/survey/").get_data(as_text=True)

    both = create_user("both@example.org")
    add_member(x, both, "admin")
    add_member(y, both, "admin")
    client = app.test_client()
    login(client, both)
    for slug in ("ngo-x", "ngo-y"):
        page = client.get(f"/survey/orgs/{slug}/report").get_data(as_text=True)
        assert re.search(r'<p class="figure">\s*10\s*</p>', page), slug  # the 6 shared answers are in neither

    only_x = create_user("onlyx@example.org")
    add_member(x, only_x, "admin")
    client = app.test_client()
    login(client, only_x)
    page = client.get("/survey/orgs/ngo-x/report").get_data(as_text=True)
    assert re.search(r'<p class="figure">\s*16\s*</p>', page)
