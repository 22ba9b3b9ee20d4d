"""Fixtures of the survey tests: anonymous responses inserted directly (no accounts needed)."""

from __future__ import annotations

from datetime import UTC, datetime

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
        publish_exact(questionnaire)
        return made

    return factory


def publish_exact(questionnaire):
    """Publish the exact tallies of the released responses (what a release does, without its noise), so tests of
    the suppression rules and of the pages see exact numbers."""
    import sqlalchemy as sa

    from app.extensions import db
    from app.survey.models import SurveyResponse, SurveyTally, attribution_key
    from app.survey.privacy import exact_tally

    groups: dict[str, list] = {}
    for response in db.session.scalars(
        sa.select(SurveyResponse).where(
            SurveyResponse.questionnaire_id == questionnaire.id,
            SurveyResponse.questionnaire_version == questionnaire.version,
        )
    ):
        groups.setdefault(attribution_key(response.organisation_ids), []).append((response.profile, response.answers))
    for key, answers in groups.items():
        tally = db.session.get(SurveyTally, (questionnaire.id, questionnaire.version, key))
        if tally is None:
            tally = SurveyTally(
                questionnaire_id=questionnaire.id, questionnaire_version=questionnaire.version, attribution=key
            )
            db.session.add(tally)
        tally.counts = exact_tally(questionnaire, answers)
        tally.rho_spent = 0.0
    db.session.flush()


#: Before the shipped open version opened (2026-11-26): accounts, memberships and engagements of respondents.
BEFORE_OPENING = datetime(2026, 1, 5, tzinfo=UTC)


@pytest.fixture
def create_respondent(db_session, create_user, add_member):
    """Factory: a user who counts — account made before the opening, and for each organisation given a membership
    approved before the opening and a mission sent by it (the engagement the eligibility rule asks for)."""
    from tests import cast

    def factory(*organisations, **user_kwargs):
        user = create_user(**user_kwargs)
        user.created_at = BEFORE_OPENING
        for organisation in organisations:
            membership = add_member(organisation, user, "volunteer")
            membership.approved_at = BEFORE_OPENING
            cast.create_mission(user, title="Mission", sending_organisation_id=organisation.id)
        db_session.flush()
        return user

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
