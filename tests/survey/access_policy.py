"""Access policy of the ``survey`` blueprint.

Answering is for any signed-in user; an organisation's report, CSV, invitations and moderation queue belong to
its admins (and platform admins, except the reports: they have the all-answers one only) — trainers and
volunteers of the NGO, and people of other NGOs, get 404. The moderation of one comment is open to admins of an
organisation the response is attributed to (world.ngo here).
"""

from tests.access import ORG_ADMIN, PLATFORM_ADMIN, USER, expect, rule


def build(world):
    """An anonymous response attributed to world.ngo, with a comment awaiting review."""
    from app.extensions import db
    from app.survey.models import SurveyComment, SurveyResponse, SurveyResponseOrganisation
    from app.survey.questionnaire import latest

    questionnaire = latest()
    response = SurveyResponse(
        questionnaire_id=questionnaire.id,
        questionnaire_version=questionnaire.version,
        consent_version=questionnaire.consent_version,
        profile={},
        answers={},
    )
    response.organisation_links = [SurveyResponseOrganisation(organisation_id=world.ngo.id)]
    response.comment = SurveyComment(text="A comment to review")
    db.session.add(response)
    db.session.flush()
    world.survey_questionnaire = questionnaire
    world.survey_comment = response.comment


#: Platform admins have the all-answers report only (scopes one person sees never overlap: app/survey/reports.py).
REPORT_OF_ORG = expect(404, guest="login", org_admin="ok")


def _org(world):
    return {"slug": world.ngo.slug}


POLICY = {
    "survey.index": rule(USER),
    "survey.answer": rule(
        USER,
        url=lambda w: {"questionnaire_id": w.survey_questionnaire.id, "version": w.survey_questionnaire.version},
        methods=("GET", "POST"),
        notes="an empty POST is refused with 422 and records nothing",
    ),
    "survey.org_report": rule(REPORT_OF_ORG, url=_org),
    "survey.org_report_csv": rule(REPORT_OF_ORG, url=_org),
    "survey.org_report_pdf": rule(REPORT_OF_ORG, url=_org, notes="rendered in the bounded child process"),
    "survey.invite": rule(ORG_ADMIN, url=_org, methods=("POST",)),
    "survey.invitations": rule(ORG_ADMIN, url=_org, notes="sent / opened / answered counts and the send button"),
    "survey.org_moderation": rule(ORG_ADMIN, url=_org),
    "survey.moderate": rule(
        expect(404, guest="login", org_admin="ok", platform_admin="ok"),
        url=lambda w: {"comment_id": w.survey_comment.id},
        methods=("POST",),
        data=lambda w: {"decision": "reject"},
        notes="moderators: admins of an organisation the response is attributed to, and platform admins",
    ),
    "survey.admin_report": rule(PLATFORM_ADMIN),
    "survey.admin_report_csv": rule(PLATFORM_ADMIN),
    "survey.admin_report_pdf": rule(PLATFORM_ADMIN, notes="rendered in the bounded child process"),
    "survey.admin_moderation": rule(PLATFORM_ADMIN),
}
