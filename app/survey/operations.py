"""Impact survey operations: answer once, invite returnees, moderate free text, load report data.

Nothing here writes anything that links an account to its answers: the participation row names the user and the
questionnaire version only, and is committed apart from the answers, which wait in a pending pool (no user, no
time) until a background release (:mod:`app.survey.release`) moves them, in shuffled batches, into the report
tables. No audit event records answering. Moderation events name the moderator and the decision, not the comment
(a comment id with a review time would bound when its respondent answered). Operations flush; the request
handler commits (answering excepted, see :func:`submit_response`).
"""

from __future__ import annotations

import random
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app.auth.models import User, sha256_hex
from app.core.audit import log_event
from app.core.db import utcnow
from app.core.dbfiles import forget_log
from app.core.errors import UserError
from app.core.mail import queue_email
from app.core.security import canonical_url
from app.extensions import db
from app.organisations.models import Membership, MembershipRole, MembershipState, Organisation, OrganisationKind
from app.survey.models import (
    CommentState,
    SurveyComment,
    SurveyInvitation,
    SurveyInvitationLink,
    SurveyParticipation,
    SurveyPendingAnswer,
    SurveyRelease,
    SurveyResponse,
    SurveyResponseOrganisation,
    SurveyTally,
    attribution_ids,
    attribution_key,
)
from app.survey.privacy import add_tallies
from app.survey.questionnaire import SCALE_VALUES, Questionnaire
from app.survey.reports import THRESHOLD


class AlreadyAnsweredError(UserError):
    """The user already answered this version of the questionnaire (the page sends them back to the list)."""

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


#: The experiences table, read as a plain table: the survey sits below ``experiences`` in the package floors,
#: and it only needs to know whether a person recorded an engagement with an NGO (one EXISTS).
_ENGAGEMENTS = sa.table("experiences", sa.column("owner_id"), sa.column("sending_organisation_id"))


def opening_time(questionnaire: Questionnaire) -> datetime | None:
    """Midnight UTC of the day ``questionnaire`` opened (``None`` for a questionnaire that never opened)."""
    if questionnaire.opened_on is None:
        return None
    return datetime.combine(questionnaire.opened_on, time.min, tzinfo=UTC)


def account_counts(user: User, questionnaire: Questionnaire) -> bool:
    """Whether ``user``'s answers can count at all: their account predates the opening of ``questionnaire``.

    Accounts made after the opening (puppets made to fill a small cell, say) are not asked to answer.
    """
    opened = opening_time(questionnaire)
    return opened is not None and user.created_at is not None and user.created_at < opened


def attributable_organisations(user: User, questionnaire: Questionnaire) -> list[Organisation]:
    """Sending NGOs the answers of ``user`` may be attributed to (and count toward the threshold of).

    An NGO qualifies when the user is an active member whose membership was approved before the questionnaire
    opened and who recorded at least one engagement (an experience) with that NGO as sending organisation.
    """
    opened = opening_time(questionnaire)
    if opened is None or not account_counts(user, questionnaire):
        return []
    engaged = sa.exists().where(
        _ENGAGEMENTS.c.owner_id == user.id, _ENGAGEMENTS.c.sending_organisation_id == Organisation.id
    )
    return list(
        db.session.scalars(
            sa.select(Organisation)
            .join(Membership)
            .where(
                Membership.user_id == user.id,
                Membership.state == MembershipState.ACTIVE,
                Membership.approved_at < opened,
                Organisation.kind == OrganisationKind.SENDING_NGO,
                engaged,
            )
            .order_by(Organisation.name)
        )
    )


def _validate(questionnaire: Questionnaire, data: ResponseData, allowed_orgs: set[int]) -> None:
    if not data.consent:
        raise UserError(_l("Please give your consent to the statistical use of your answers."))
    for question in questionnaire.profile:
        if data.profile.get(question.key) not in question.values:
            raise UserError(_l("Please answer every question about your profile."))
    for item in questionnaire.items:
        if data.answers.get(item.key) not in SCALE_VALUES:
            raise UserError(_l("Please answer every statement."))
    if set(data.profile) - {q.key for q in questionnaire.profile} or set(data.answers) - set(questionnaire.item_keys):
        raise UserError(_l("The answers do not match the questionnaire."))
    if not data.organisation_ids <= allowed_orgs:
        raise UserError(_l("You can only attribute your answers to organisations you belong to."))
    limit = questionnaire.free_text.max_length if questionnaire.free_text else 0
    if data.comment and (not questionnaire.free_text or len(data.comment) > limit):
        raise UserError(_l("Your comment is too long."))


#: E-mail addresses, and phone numbers (8 digits or more, with the usual separators), removed from comments.
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"(?<![\w])\+?\(?\d(?:[\s.\-/()]{0,2}\d){7,}(?![\w])")
#: What replaces them (kept neutral and language-independent).
REMOVED = "[…]"


def clean_comment(text: str) -> str:
    """``text`` without e-mail addresses and phone numbers (replaced by :data:`REMOVED`), trimmed."""
    return _PHONE.sub(REMOVED, _EMAIL.sub(REMOVED, text)).strip()


def submit_response(user: User, questionnaire: Questionnaire, data: ResponseData) -> None:
    """Record that ``user`` answered ``questionnaire``, then pool the answers, in two separate transactions.

    The one operation that commits, because anonymity needs it: the participation (user side) is committed
    first — its unique constraint makes a second or concurrent submission fail before any answer is written —
    then the answers go to the pending pool (no user, no time, a random key) in a transaction of their own. On
    SQLite the write-ahead log is checkpointed and truncated after each commit (:func:`app.survey.storage.
    forget_log`), so the log never holds both. The answers reach the reports only through
    :func:`app.survey.release.release_pending`, in batches.

    :raises AlreadyAnsweredError: the user already answered this version.
    :raises UserError: closed questionnaire, an account too recent to count, consent missing, incomplete
        answers, or an organisation the answers cannot be attributed to.
    """
    if not questionnaire.open:
        raise UserError(_l("This questionnaire is closed."))
    if not account_counts(user, questionnaire):
        raise UserError(_l("Only accounts created before this questionnaire opened can answer it."))
    _validate(questionnaire, data, {o.id for o in attributable_organisations(user, questionnaire)})
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
    db.session.commit()
    forget_log()
    db.session.add(
        SurveyPendingAnswer(
            questionnaire_id=questionnaire.id,
            questionnaire_version=questionnaire.version,
            consent_version=questionnaire.consent_version,
            attribution=attribution_key(data.organisation_ids),
            profile=dict(data.profile),
            answers=dict(data.answers),
            comment=clean_comment(data.comment) or None,
        )
    )
    db.session.commit()
    forget_log()
    # No audit event: an event naming the person at the time they answered is exactly the link to avoid.


# --- Invitations ---


def invite_returnees(organisation: Organisation, questionnaire: Questionnaire, *, actor: User) -> int:
    """E-mail every active volunteer member of ``organisation`` an invitation, each in their own language.

    Everyone is invited, whether they already answered or not: the number sent must not tell the admin how many
    members took part. Each e-mail carries its own link token, stored only as a hash beside the sending (never
    with the recipient), so the invitation page can count opened links. Returns the number of invitations.
    """
    members = db.session.scalars(
        sa.select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.organisation_id == organisation.id,
            Membership.state == MembershipState.ACTIVE,
            Membership.role == MembershipRole.VOLUNTEER,
            User.disabled_at.is_(None),
        )
        .order_by(User.id)
    ).all()
    invitation = SurveyInvitation(
        organisation_id=organisation.id,
        questionnaire_id=questionnaire.id,
        questionnaire_version=questionnaire.version,
        sent_count=len(members),
    )
    db.session.add(invitation)
    db.session.flush()
    for user in members:
        token = secrets.token_urlsafe(24)
        db.session.add(SurveyInvitationLink(token_hash=sha256_hex(token), invitation_id=invitation.id))
        url = canonical_url("survey.answer", questionnaire_id=questionnaire.id, version=questionnaire.version, i=token)
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
    db.session.flush()
    log_event(
        "survey.invitations_sent",
        actor=actor,
        obj=organisation,
        organisation_id=organisation.id,
        data={"questionnaire": questionnaire.id, "version": questionnaire.version, "count": len(members)},
    )
    return len(members)


def mark_invitation_opened(token: str) -> None:
    """Record that the invitation link with ``token`` was opened (the first time only; unknown tokens are
    ignored)."""
    db.session.execute(
        sa.update(SurveyInvitationLink)
        .where(SurveyInvitationLink.token_hash == sha256_hex(token), SurveyInvitationLink.opened_at.is_(None))
        .values(opened_at=utcnow())
    )


@dataclass(frozen=True)
class InvitationCounts:
    """What the invitation page shows for one questionnaire version."""

    sent: int
    opened: int
    sendings: int
    last_sent_at: datetime | None


def invitation_counts(organisation: Organisation, questionnaire: Questionnaire) -> InvitationCounts:
    """Invitations sent and links opened for ``questionnaire`` by ``organisation``, with the last sending date (one
    statement)."""
    invitations = sa.select(SurveyInvitation.id).where(
        SurveyInvitation.organisation_id == organisation.id,
        SurveyInvitation.questionnaire_id == questionnaire.id,
        SurveyInvitation.questionnaire_version == questionnaire.version,
    )
    scope = (
        SurveyInvitation.organisation_id == organisation.id,
        SurveyInvitation.questionnaire_id == questionnaire.id,
        SurveyInvitation.questionnaire_version == questionnaire.version,
    )
    row = db.session.execute(
        sa.select(
            sa.select(sa.func.coalesce(sa.func.sum(SurveyInvitation.sent_count), 0)).where(*scope).scalar_subquery(),
            sa.select(sa.func.count())
            .select_from(SurveyInvitationLink)
            .where(SurveyInvitationLink.invitation_id.in_(invitations), SurveyInvitationLink.opened_at.is_not(None))
            .scalar_subquery(),
            sa.select(sa.func.count()).select_from(SurveyInvitation).where(*scope).scalar_subquery(),
            sa.select(sa.func.max(SurveyInvitation.sent_at)).where(*scope).scalar_subquery(),
        )
    ).one()
    last = row[3]
    if last is not None and last.tzinfo is None:  # a bare aggregate comes back without the column's type
        last = last.replace(tzinfo=UTC)
    return InvitationCounts(sent=int(row[0]), opened=int(row[1]), sendings=int(row[2]), last_sent_at=last)


# --- Moderation ---


def get_comment(comment_id: str) -> SurveyComment | None:
    if not comment_id or len(comment_id) > 32:
        return None
    return db.session.scalar(
        sa.select(SurveyComment)
        .where(SurveyComment.id == comment_id)
        .options(selectinload(SurveyComment.response).selectinload(SurveyResponse.organisation_links))
    )


@dataclass(frozen=True)
class ModerationQueue:
    """Pending comments a moderator may read now, and how many wait for a group or for time to pass."""

    comments: list[SurveyComment]
    waiting: int


def moderation_queue(*, organisation: Organisation | None) -> ModerationQueue:
    """Pending comments (of responses attributed to ``organisation``, or all for ``None``) in random order.

    Comments are shown only when at least :data:`~app.survey.reports.THRESHOLD` are pending together, or once the
    release that brought them is older than ``SURVEY_COMMENT_DELAY_DAYS``: a moderator who watches the queue
    cannot tie one new comment to the one member who just answered. Only the text is shown: no profile, no order
    that could follow submission time.
    """
    query = (
        sa.select(SurveyComment, SurveyRelease.released_at)
        .outerjoin(SurveyRelease, SurveyRelease.id == SurveyComment.release_id)
        .where(SurveyComment.state == CommentState.PENDING)
    )
    if organisation is not None:
        query = query.where(
            SurveyComment.response_id.in_(
                sa.select(SurveyResponseOrganisation.response_id).where(
                    SurveyResponseOrganisation.organisation_id == organisation.id
                )
            )
        )
    rows = db.session.execute(query).all()
    if len(rows) >= THRESHOLD:
        comments = [comment for comment, _released in rows]
    else:
        delay = timedelta(days=current_app.config["SURVEY_COMMENT_DELAY_DAYS"])
        comments = [comment for comment, released in rows if released is None or released <= utcnow() - delay]
    random.SystemRandom().shuffle(comments)
    return ModerationQueue(comments=comments, waiting=len(rows) - len(comments))


def moderate_comment(comment: SurveyComment, approve: bool, *, actor: User) -> None:
    """Approve or reject a pending comment; a conditional update gives one winner when two moderators decide.

    :raises UserError: the comment was already reviewed.
    """
    state = CommentState.APPROVED if approve else CommentState.REJECTED
    changed = db.session.execute(
        sa.update(SurveyComment)
        .where(SurveyComment.id == comment.id, SurveyComment.state == CommentState.PENDING)
        .values(state=state)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        raise UserError(_l("This comment has already been reviewed."))
    db.session.expire(comment, ["state"])
    # Who decided, and when; not which comment (its id with this time would bound when its respondent answered).
    log_event(f"survey.comment_{state.value}", actor=actor)


# --- Report data ---


@dataclass(frozen=True)
class ReportData:
    """What a report shows: the published tally of its scope, the approved comments, the last release."""

    tally: dict
    comments: list[str]
    updated_at: datetime | None


def administered_organisation_ids(user: User) -> set[int]:
    return {m.organisation_id for m in user.memberships if m.is_active and m.role == MembershipRole.ADMIN}


def can_view_organisation_report(user: User, organisation: Organisation) -> bool:
    """Admins of ``organisation`` who are not platform admins (see "Scopes" in :mod:`app.survey.reports`)."""
    return not user.is_platform_admin and organisation.id in administered_organisation_ids(user)


def _in_scope(key: str, organisation: Organisation | None, exclude: frozenset[int]) -> bool:
    ids = attribution_ids(key)
    return (organisation is None or organisation.id in ids) and not (ids & exclude)


def report_data(
    questionnaire: Questionnaire, *, organisation: Organisation | None, exclude: frozenset[int] = frozenset()
) -> ReportData:
    """The published counts (and approved comments) of one questionnaire version, for one organisation or all.

    The counts are the sum of the published tallies of the attribution sets in scope: nothing here reads an
    answer, so a report changes only when a release publishes new tallies. ``exclude``: leave out the answers
    also attributed to one of these organisations (the other NGOs the viewer administers, so that the scopes one
    person sees do not overlap). Three statements whatever the number of responses.
    """
    version = (
        SurveyTally.questionnaire_id == questionnaire.id,
        SurveyTally.questionnaire_version == questionnaire.version,
    )
    in_scope = []
    if organisation is not None:
        # Only the attribution sets naming the organisation travel and get decoded: a national network has
        # hundreds of sets of ~10 kB each, and decoding all of them was most of an NGO report's time.
        in_scope.append(
            (sa.literal(",") + SurveyTally.attribution + sa.literal(",")).contains(f",{int(organisation.id)},")
        )
    tallies = db.session.execute(
        sa.select(SurveyTally.attribution, SurveyTally.counts).where(*version, *in_scope)
    ).all()
    tally = add_tallies(questionnaire, [counts for key, counts in tallies if _in_scope(key, organisation, exclude)])
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
    comments = list(
        db.session.scalars(
            sa.select(SurveyComment.text)
            .join(SurveyResponse)
            .where(SurveyComment.state == CommentState.APPROVED, *scope)
        )
    )
    random.SystemRandom().shuffle(comments)
    updated_at = db.session.scalar(
        sa.select(sa.func.max(SurveyRelease.released_at)).where(
            SurveyRelease.questionnaire_id == questionnaire.id,
            SurveyRelease.questionnaire_version == questionnaire.version,
        )
    )
    return ReportData(tally=tally, comments=comments, updated_at=updated_at)
