"""Impact survey operations: answer once, invite returnees, moderate free text, load report data.

Nothing here writes anything that links an account to its answers: the participation row and the audit event
name the user and the questionnaire version only (the event with its exact time, for accountability); the answer
side names neither the user nor any time, so the event's time matches nothing there. Moderation events name the
moderator and the decision, not the comment (a comment id with a review time would bound when its respondent
answered). Operations flush; the request handler commits.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.auth.models import User
from app.core.audit import log_event
from app.core.mail import queue_email
from app.core.security import canonical_url
from app.extensions import db
from app.organisations.models import Membership, MembershipRole, MembershipState, Organisation, OrganisationKind
from app.survey.models import (
    CommentState,
    SurveyComment,
    SurveyParticipation,
    SurveyResponse,
    SurveyResponseOrganisation,
)
from app.survey.questionnaire import SCALE_VALUES, Questionnaire
from app.survey.reports import Answers


class SurveyError(Exception):
    """A refused action, with a translated message for the user."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


class AlreadyAnsweredError(SurveyError):
    def __init__(self):
        super().__init__(_l("You have already answered this version of the questionnaire. Thank you!"))


@dataclass(frozen=True)
class ResponseData:
    """What a respondent submits."""

    profile: dict[str, str]
    answers: dict[str, str]
    consent: bool
    organisation_ids: frozenset[int] = frozenset()
    comment: str = ""


# --- Answering ---


def has_answered(user: User, questionnaire: Questionnaire) -> bool:
    return (
        db.session.scalar(
            sa.select(SurveyParticipation.id).where(
                SurveyParticipation.user_id == user.id,
                SurveyParticipation.questionnaire_id == questionnaire.id,
                SurveyParticipation.questionnaire_version == questionnaire.version,
            )
        )
        is not None
    )


def attributable_organisations(user: User) -> list[Organisation]:
    """Sending NGOs the user is an active member of: the ones answers may be attributed to."""
    return list(
        db.session.scalars(
            sa.select(Organisation)
            .join(Membership)
            .where(
                Membership.user_id == user.id,
                Membership.state == MembershipState.ACTIVE,
                Organisation.kind == OrganisationKind.SENDING_NGO,
            )
            .order_by(Organisation.name)
        )
    )


def _validate(questionnaire: Questionnaire, data: ResponseData, allowed_orgs: set[int]) -> None:
    if not data.consent:
        raise SurveyError(_l("Please give your consent to the statistical use of your answers."))
    for question in questionnaire.profile:
        if data.profile.get(question.key) not in question.values:
            raise SurveyError(_l("Please answer every question about your profile."))
    for item in questionnaire.items:
        if data.answers.get(item.key) not in SCALE_VALUES:
            raise SurveyError(_l("Please answer every statement."))
    if set(data.profile) - {q.key for q in questionnaire.profile} or set(data.answers) - set(questionnaire.item_keys):
        raise SurveyError(_l("The answers do not match the questionnaire."))
    if not data.organisation_ids <= allowed_orgs:
        raise SurveyError(_l("You can only attribute your answers to organisations you belong to."))
    limit = questionnaire.free_text.max_length if questionnaire.free_text else 0
    if data.comment and (not questionnaire.free_text or len(data.comment) > limit):
        raise SurveyError(_l("Your comment is too long."))


def submit_response(user: User, questionnaire: Questionnaire, data: ResponseData) -> None:
    """Record the answers of ``user`` to ``questionnaire``, once.

    The participation (user side) is inserted first inside a SAVEPOINT: the unique constraint makes a second or
    concurrent submission fail cleanly before any answer is written. The response row gets a random id and no
    time; nothing returned to the caller identifies it.

    :raises AlreadyAnsweredError: the user already answered this version.
    :raises SurveyError: consent missing, incomplete answers, or an organisation the user does not belong to.
    """
    if not questionnaire.open:
        raise SurveyError(_l("This questionnaire is closed."))
    _validate(questionnaire, data, {o.id for o in attributable_organisations(user)})
    if has_answered(user, questionnaire):
        raise AlreadyAnsweredError
    try:
        with db.session.begin_nested():
            db.session.add(
                SurveyParticipation(
                    user_id=user.id, questionnaire_id=questionnaire.id, questionnaire_version=questionnaire.version
                )
            )
            db.session.flush()
    except IntegrityError:
        raise AlreadyAnsweredError from None
    crowd = _crowd(questionnaire, data.organisation_ids)
    split = random.SystemRandom().randint(0, len(crowd))
    _rewrite(crowd[:split])
    response = SurveyResponse(
        questionnaire_id=questionnaire.id,
        questionnaire_version=questionnaire.version,
        consent_version=questionnaire.consent_version,
        profile=dict(data.profile),
        answers=dict(data.answers),
    )
    response.organisation_links = [
        SurveyResponseOrganisation(organisation_id=oid) for oid in sorted(data.organisation_ids)
    ]
    if data.comment:
        response.comment = SurveyComment(text=data.comment, state=CommentState.PENDING)
    db.session.add(response)
    db.session.flush()
    _rewrite(crowd[split:])
    # No response id, no organisation, no answer: only that this person took part in this version.
    log_event("survey.answered", actor=user, data={"questionnaire": questionnaire.id, "version": questionnaire.version})


#: How many earlier responses are rewritten with each new one (see :func:`_crowd`).
BLEND_SIZE = 20


def _crowd(questionnaire: Questionnaire, organisation_ids: frozenset[int]) -> list[str]:
    """Up to BLEND_SIZE random earlier responses to the same version, attributed to exactly the same NGOs.

    Every row written by a transaction carries its id (PostgreSQL's ``xmin``) and lands next to the others in
    the table: the participation row and the audit event of the answering transaction would otherwise point at
    exactly one response, one attribution row and one comment. :func:`_rewrite` rewrites (no-op update) the
    crowd's response, attribution and comment rows in the same transaction, half before and half after the new
    rows (at a random split), so every answer table points at the same crowd of up to BLEND_SIZE + 1 responses,
    in no telling order. The crowd shares the new response's attribution, which whoever knows the respondent's
    memberships could narrow it down with.
    """
    query = (
        sa.select(SurveyResponse.id)
        .where(
            SurveyResponse.questionnaire_id == questionnaire.id,
            SurveyResponse.questionnaire_version == questionnaire.version,
        )
        .order_by(sa.func.random())
        .limit(BLEND_SIZE)
    )
    link = SurveyResponseOrganisation
    if organisation_ids:
        same = (
            sa.select(link.response_id)
            .group_by(link.response_id)
            .having(
                sa.func.count() == len(organisation_ids),
                sa.func.sum(sa.case((link.organisation_id.in_(organisation_ids), 1), else_=0)) == len(organisation_ids),
            )
        )
        query = query.where(SurveyResponse.id.in_(same))
    else:
        query = query.where(SurveyResponse.id.not_in(sa.select(link.response_id)))
    return list(db.session.scalars(query))


def _rewrite(response_ids: list[str]) -> None:
    """No-op update of the responses ``response_ids`` and of their attribution and comment rows."""
    if not response_ids:
        return
    for statement in (
        sa.update(SurveyResponse)
        .where(SurveyResponse.id.in_(response_ids))
        .values(questionnaire_version=SurveyResponse.questionnaire_version),
        sa.update(SurveyResponseOrganisation)
        .where(SurveyResponseOrganisation.response_id.in_(response_ids))
        .values(organisation_id=SurveyResponseOrganisation.organisation_id),
        sa.update(SurveyComment).where(SurveyComment.response_id.in_(response_ids)).values(state=SurveyComment.state),
    ):
        db.session.execute(statement.execution_options(synchronize_session=False))


# --- Invitations ---


def invite_returnees(organisation: Organisation, questionnaire: Questionnaire, *, actor: User) -> int:
    """E-mail every active volunteer member of ``organisation`` an invitation, each in their own language.

    Everyone is invited, whether they already answered or not: the number sent must not tell the admin how many
    members took part. Returns the number of invitations.
    """
    members = [
        m.user
        for m in organisation.memberships
        if m.is_active and m.role == MembershipRole.VOLUNTEER and m.user.disabled_at is None
    ]
    url = canonical_url("survey.answer", questionnaire_id=questionnaire.id, version=questionnaire.version)
    for user in members:
        queue_email(
            "survey_invitation",
            recipient=user.email,
            language=user.locale,
            subject=_l("%(organisation)s asks what your mission changed for you", organisation=organisation.name),
            user=user,
            organisation=organisation,
            title=questionnaire.title.get(user.locale),
            url=url,
        )
    log_event(
        "survey.invitations_sent",
        actor=actor,
        obj=organisation,
        organisation_id=organisation.id,
        data={"questionnaire": questionnaire.id, "version": questionnaire.version, "count": len(members)},
    )
    return len(members)


# --- Moderation ---


def get_comment(comment_id: str) -> SurveyComment | None:
    if not comment_id or len(comment_id) > 32:
        return None
    return db.session.scalar(
        sa.select(SurveyComment)
        .where(SurveyComment.id == comment_id)
        .options(selectinload(SurveyComment.response).selectinload(SurveyResponse.organisation_links))
    )


def moderation_queue(*, organisation: Organisation | None) -> list[SurveyComment]:
    """Pending comments (of responses attributed to ``organisation``, or all for ``None``) in random order.

    Only the text is meant to be shown: no profile, no order that could follow submission time.
    """
    query = sa.select(SurveyComment).where(SurveyComment.state == CommentState.PENDING)
    if organisation is not None:
        query = query.where(
            SurveyComment.response_id.in_(
                sa.select(SurveyResponseOrganisation.response_id).where(
                    SurveyResponseOrganisation.organisation_id == organisation.id
                )
            )
        )
    comments = list(db.session.scalars(query))
    random.SystemRandom().shuffle(comments)
    return comments


def moderate_comment(comment: SurveyComment, approve: bool, *, actor: User) -> None:
    """Approve or reject a pending comment; a conditional update gives one winner when two moderators decide.

    :raises SurveyError: the comment was already reviewed.
    """
    state = CommentState.APPROVED if approve else CommentState.REJECTED
    changed = db.session.execute(
        sa.update(SurveyComment)
        .where(SurveyComment.id == comment.id, SurveyComment.state == CommentState.PENDING)
        .values(state=state)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        raise SurveyError(_l("This comment has already been reviewed."))
    db.session.expire(comment, ["state"])
    # Who decided, and when; not which comment (its id with this time would bound when its respondent answered).
    log_event(f"survey.comment_{state.value}", actor=actor)


# --- Report data ---


@dataclass(frozen=True)
class ReportData:
    rows: list[Answers]
    comments: list[str]


def administered_organisation_ids(user: User) -> set[int]:
    return {m.organisation_id for m in user.memberships if m.is_active and m.role == MembershipRole.ADMIN}


def can_view_organisation_report(user: User, organisation: Organisation) -> bool:
    """Admins of ``organisation`` who are not platform admins (see "Scopes" in :mod:`app.survey.reports`)."""
    return not user.is_platform_admin and organisation.id in administered_organisation_ids(user)


def report_data(
    questionnaire: Questionnaire, *, organisation: Organisation | None, exclude: frozenset[int] = frozenset()
) -> ReportData:
    """Answers (and approved comments) of one questionnaire version, for one organisation or for all.

    ``exclude``: leave out the responses also attributed to one of these organisations (the other NGOs the
    viewer administers, so that the scopes one person sees never overlap). Two statements whatever the number
    of responses.
    """
    scope = [
        SurveyResponse.questionnaire_id == questionnaire.id,
        SurveyResponse.questionnaire_version == questionnaire.version,
    ]
    if organisation is not None:
        scope.append(
            SurveyResponse.id.in_(
                sa.select(SurveyResponseOrganisation.response_id).where(
                    SurveyResponseOrganisation.organisation_id == organisation.id
                )
            )
        )
    if exclude:
        scope.append(
            SurveyResponse.id.not_in(
                sa.select(SurveyResponseOrganisation.response_id).where(
                    SurveyResponseOrganisation.organisation_id.in_(exclude)
                )
            )
        )
    rows = [
        Answers(profile=profile or {}, answers=answers or {})
        for profile, answers in db.session.execute(
            sa.select(SurveyResponse.profile, SurveyResponse.answers).where(*scope)
        )
    ]
    comments = list(
        db.session.scalars(
            sa.select(SurveyComment.text)
            .join(SurveyResponse)
            .where(SurveyComment.state == CommentState.APPROVED, *scope)
        )
    )
    random.SystemRandom().shuffle(comments)
    return ReportData(rows=rows, comments=comments)
