"""Fixtures of the survey tests: anonymous responses inserted directly (no accounts needed)."""

from __future__ import annotations

import pytest


@pytest.fixture
def questionnaire():
    from app.survey.questionnaire import latest

    return latest()


@pytest.fixture
def v1():
    from app.survey.questionnaire import get_questionnaire

    return get_questionnaire("impact", 1)


@pytest.fixture
def make_responses(db_session):
    """Factory: ``n`` responses to ``questionnaire`` with the given profile / answers (defaults fill the rest)."""
    from app.survey.models import SurveyComment, SurveyResponse, SurveyResponseOrganisation

    def factory(questionnaire, n=1, *, profile=None, answers=None, organisations=(), comment=None, state=None):
        made = []
        for _ in range(n):
            full_profile = {q.key: "undisclosed" for q in questionnaire.profile} | (profile or {})
            full_answers = dict.fromkeys(questionnaire.item_keys, "4") | (answers or {})
            response = SurveyResponse(
                questionnaire_id=questionnaire.id,
                questionnaire_version=questionnaire.version,
                consent_version=questionnaire.consent_version,
                profile=full_profile,
                answers=full_answers,
            )
            response.organisation_links = [SurveyResponseOrganisation(organisation_id=o.id) for o in organisations]
            if comment is not None:
                response.comment = SurveyComment(text=comment, **({"state": state} if state else {}))
            db_session.add(response)
            made.append(response)
        db_session.flush()
        return made

    return factory


def form_data(questionnaire, *, status="VSI", answer="4", organisations=(), comment="", consent=True):
    """POST data of a complete questionnaire."""
    data = {f"profile_{q.key}": q.values[0] for q in questionnaire.profile}
    data["profile_status"] = status
    data |= {f"item_{key}": answer for key in questionnaire.item_keys}
    if consent:
        data["consent"] = "y"
    if comment:
        data["comment"] = comment
    data["organisations"] = [str(o.id) for o in organisations]
    return data
