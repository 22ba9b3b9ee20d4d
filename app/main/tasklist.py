"""The volunteer's guided start: the steps from joining an NGO to sharing a portfolio, with their state.

The task list follows the GOV.UK "task list" pattern: each step has a state (cannot start yet, not started, in
progress, completed) and the first step that is not completed is the next action. Every figure it needs comes from
one statement of scalar subqueries, whatever the size of the portfolio.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import sqlalchemy as sa
from flask import url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from app.auth.models import User
from app.claims.models import Claim
from app.documents.models import Document
from app.experiences.models import Experience
from app.extensions import db
from app.organisations.models import Membership, MembershipRole, MembershipState
from app.sharing.models import Share
from app.validation.models import Submission, SubmissionState

#: Step states, in the words of the GOV.UK pattern; the value is the CSS modifier.
CANNOT_START = "cannot-start"
NOT_STARTED = "not-started"
IN_PROGRESS = "in-progress"
DONE = "done"

STATE_LABELS = {
    CANNOT_START: _l("Cannot start yet"),
    NOT_STARTED: _l("Not started"),
    IN_PROGRESS: _l("In progress"),
    DONE: _l("Completed"),
}

#: The session key that remembers a dismissed first-visit tour.
TOUR_SESSION_KEY = "acquis_tour_done"


@dataclass(frozen=True)
class Step:
    """One line of the task list."""

    key: str
    title: str
    hint: str
    state: str
    url: str | None

    @property
    def state_label(self) -> str:
        return str(STATE_LABELS[self.state])

    @property
    def is_done(self) -> bool:
        return self.state == DONE


@dataclass(frozen=True)
class TaskList:
    steps: list[Step]

    @property
    def next_step(self) -> Step | None:
        """The first step that can be taken and is not completed yet."""
        return next((s for s in self.steps if s.state in (NOT_STARTED, IN_PROGRESS)), None)

    @property
    def done_count(self) -> int:
        return sum(1 for s in self.steps if s.is_done)


def _count(model, *where) -> sa.ScalarSelect:
    return sa.select(sa.func.count()).select_from(model).where(*where).scalar_subquery()


@functools.cache
def _figures_statement() -> sa.Select:
    """The task list's one statement, built once per process with the user as a bound parameter: building it
    and computing its cache key anew cost more CPU than running it (and every volunteer's home runs it)."""
    uid = sa.bindparam("uid", type_=sa.Integer)
    submissions = (Submission.volunteer_id == uid,)
    return sa.select(
        _count(Membership, Membership.user_id == uid, Membership.state == MembershipState.ACTIVE).label("joined"),
        _count(Membership, Membership.user_id == uid, Membership.state == MembershipState.PENDING).label(
            "join_pending"
        ),
        _count(Experience, Experience.owner_id == uid).label("missions"),
        sa.select(sa.func.max(Experience.id)).where(Experience.owner_id == uid).scalar_subquery().label("latest"),
        _count(Claim, Claim.owner_id == uid).label("claims"),
        _count(
            Submission,
            *submissions,
            Submission.state.in_((SubmissionState.PENDING, SubmissionState.DECIDED)),
        ).label("submitted"),
        _count(Submission, *submissions, Submission.state == SubmissionState.RETURNED).label("returned"),
        _count(Document, Document.holder_id == uid).label("documents"),
        _count(Share, Share.owner_id == uid, Share.revoked_at.is_(None)).label("shares"),
    )


def progress_figures(user: User) -> dict[str, int | None]:
    """The counts the task list needs, in one statement (plain rows: run on the session's connection, it skips
    the ORM's per-statement work)."""
    row = db.session.connection().execute(_figures_statement(), {"uid": user.id}).one()
    return dict(row._mapping)


def volunteer_task_list(user: User) -> TaskList:
    """The six steps of a volunteer's journey and where the user stands on each."""
    f = progress_figures(user)
    latest = f["latest"]

    def state(done: bool, started: bool = False, possible: bool = True) -> str:
        if done:
            return DONE
        if not possible:
            return CANNOT_START
        return IN_PROGRESS if started else NOT_STARTED

    mission_url = url_for("experiences.detail", experience_id=latest) if latest else None
    steps = [
        Step(
            "join",
            _("Join your sending NGO"),
            _("Ask to join the organisation that sent you: its trainers will review your competences."),
            state(f["joined"] > 0, f["join_pending"] > 0),
            url_for("organisations.directory"),
        ),
        Step(
            "mission",
            _("Record a mission"),
            _("Where, when and with whom you worked, and what you did."),
            state(f["missions"] > 0),
            url_for("experiences.index"),
        ),
        Step(
            "claims",
            _("Claim competences"),
            _("Choose the competences the mission showed and describe a situation for each."),
            state(f["claims"] > 0, possible=latest is not None),
            url_for("claims.new", experience_id=latest) if latest else None,
        ),
        Step(
            "submit",
            _("Submit for validation"),
            _("Your NGO's trainers check the facts and validate each competence."),
            state(f["submitted"] > 0, f["returned"] > 0, possible=f["claims"] > 0 and f["joined"] > 0),
            mission_url if f["claims"] > 0 and f["joined"] > 0 else None,
        ),
        Step(
            "print",
            _("Print your documents"),
            _("A signed PDF portfolio or attestation that anyone can verify."),
            state(f["documents"] > 0, possible=f["missions"] > 0),
            url_for("documents.index") if f["missions"] > 0 else None,
        ),
        Step(
            "share",
            _("Share with an adviser"),
            _("Give a career adviser or a VAE jury read-only access, for as long as you choose."),
            state(f["shares"] > 0, possible=f["missions"] > 0),
            url_for("sharing.index") if f["missions"] > 0 else None,
        ),
    ]
    return TaskList(steps)


def wants_task_list(user: User) -> bool:
    """Volunteers see the task list at home: members as volunteers, and newcomers who are neither advisers nor
    staff of an NGO (uses the memberships the menu loads anyway)."""
    memberships = user.memberships
    if any(m.role == MembershipRole.VOLUNTEER for m in memberships):
        return True
    return not memberships and not user.is_adviser and not user.is_platform_admin
