"""Operations on VAE projects: create, move along the path, deadlines and reminders, companions, comments, bloc
drafts, the sworn statement and the jury's outcome. They flush, log and write the project's timeline; the caller
(a request handler or a CLI command) commits.

Concurrency: a status move is one conditional ``UPDATE … WHERE status = <the status the volunteer saw>``; when two
tabs (or the volunteer and a replayed form) move the same project at once, one wins and the other gets
:class:`AlreadyMoved` naming the status now in place, never a skipped or doubled step.
"""

from __future__ import annotations

import calendar
import functools
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from app.auth.models import User
from app.claims.models import Claim, Evidence
from app.core.audit import log_event
from app.core.db import utcnow
from app.core.errors import UserError
from app.core.mail import queue_email
from app.core.security import canonical_url
from app.experiences.models import Experience
from app.extensions import db
from app.frameworks.models import Framework, FrameworkKind, FrameworkNode, FrameworkVersion, NodeKind
from app.sharing import operations as share_ops
from app.sharing.models import Share, ShareKind
from app.vae.models import (
    DRAFT_FIELDS,
    STATUS_DATES,
    TRANSITIONS,
    AcquiredBloc,
    VaeBlocDraft,
    VaeComment,
    VaeDraftRevision,
    VaeEvent,
    VaeOutcome,
    VaeProject,
    VaeRoute,
    VaeStatus,
    vae_project_companions,
)

#: France VAE: the personalised path must start within 6 months of the recevabilité, or the file lapses.
PATH_START_MONTHS = 6
#: Livret 1: the certifier answers in about 2 months (no legal deadline: a reminder to follow up).
ADMISSIBILITY_ANSWER_MONTHS = 2
#: A recevabilité stays valid about 3 years (Éducation nationale): the dossier de validation is due before.
ADMISSIBILITY_VALID_YEARS = 3
#: Reminders go out this many days before a deadline (each once).
REMINDER_DAYS = (30, 7)
COMMENT_LIMIT = 5_000
DRAFT_FIELD_LIMIT = 20_000
COMPANION_DEFAULT_DAYS = 180


class AlreadyMoved(Exception):
    """The project is no longer in the status the request was made from (someone moved it first)."""

    def __init__(self, status: VaeStatus):
        super().__init__(f"the project is now {status.value}")
        self.status = status


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months (the 31st becomes the month's last day)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _event(project: VaeProject, kind: str, actor: User | None, **data) -> VaeEvent:
    event = VaeEvent(project_id=project.id, kind=kind, actor_id=actor.id if actor else None, data=data)
    db.session.add(event)
    return event


# --- Targets ------------------------------------------------------------------------------------------------------


def target_frameworks() -> list[Framework]:
    """RNCP frameworks of the shared catalogue a project can target (a version from a person's import: never)."""
    return list(
        db.session.scalars(
            sa.select(Framework)
            .where(
                Framework.kind == FrameworkKind.RNCP,
                Framework.versions.any(sa.and_(FrameworkVersion.is_current, FrameworkVersion.in_catalogue)),
            )
            .options(selectinload(Framework.versions))
            .order_by(Framework.slug)
        )
    )


def bloc_nodes(version_id: int) -> list[FrameworkNode]:
    """The blocs of a version, in the référentiel's order."""
    return list(
        db.session.scalars(
            sa.select(FrameworkNode)
            .where(FrameworkNode.version_id == version_id, FrameworkNode.kind == NodeKind.BLOC)
            .order_by(FrameworkNode.position, FrameworkNode.id)
        )
    )


def project_blocs(project: VaeProject) -> list[FrameworkNode]:
    """The blocs the project aims at, in the référentiel's order."""
    chosen = set(project.bloc_codes or [])
    return [node for node in bloc_nodes(project.framework_version_id) if node.code in chosen]


# --- Creating and moving --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectData:
    framework_id: int
    route: VaeRoute
    started_on: date
    #: Empty: the whole certification.
    bloc_codes: tuple[str, ...] = ()


def create_project(owner: User, data: ProjectData, *, previous: VaeProject | None = None) -> VaeProject:
    """Open a VAE project of ``owner`` on the current version of an RNCP framework.

    :raises UserError: unknown target, unknown blocs, a start date in the future.
    """
    framework = next((f for f in target_frameworks() if f.id == data.framework_id), None)
    version = framework.current_version if framework is not None else None
    if version is None:
        raise UserError(_l("Please choose a certification from the list."), "framework_id")
    if data.started_on > date.today():
        raise UserError(_l("The start date cannot be in the future."), "started_on")
    blocs = [node.code for node in bloc_nodes(version.id)]
    if not blocs:
        raise UserError(_l("This certification has no blocs de compétences to aim at."), "framework_id")
    chosen = [code for code in blocs if code in set(data.bloc_codes)] if data.bloc_codes else blocs
    if data.bloc_codes and len(chosen) != len(set(data.bloc_codes)):
        raise UserError(_l("Choose blocs of this certification."), "bloc_codes")
    project = VaeProject(
        owner_id=owner.id,
        framework_id=framework.id,
        framework_version_id=version.id,
        route=data.route,
        bloc_codes=chosen,
        whole_certification=len(chosen) == len(blocs),
        status=VaeStatus.STARTED,
        started_on=data.started_on,
        previous_id=previous.id if previous is not None else None,
    )
    db.session.add(project)
    db.session.flush()
    _event(project, "created", owner, blocs=chosen, route=data.route.value, previous=project.previous_id)
    log_event("vae.created", actor=owner, obj=project, data={"framework": framework.slug, "blocs": chosen})
    return project


def advance(project: VaeProject, to: VaeStatus, *, actor: User, on: date, expected: VaeStatus) -> None:
    """Move ``project`` from ``expected`` to ``to`` on day ``on``.

    :raises UserError: a move the path does not allow, or a date that does not fit (in the future — except the jury
        date, which is announced ahead — or before the previous step).
    :raises AlreadyMoved: the project left ``expected`` meanwhile.
    """
    if to == VaeStatus.DECIDED:
        raise UserError(_l("Record the jury's decision with its own form."), "status")
    if to not in TRANSITIONS[expected]:
        raise UserError(_l("This step cannot follow the current one."), "status")
    _check_step_date(project, to, on)
    column = STATUS_DATES[to]
    result = db.session.execute(
        sa.update(VaeProject)
        .where(VaeProject.id == project.id, VaeProject.status == expected)
        .values(status=to, updated_at=utcnow(), **{column: on})
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(project)
    if result.rowcount != 1:
        raise AlreadyMoved(project.status)
    _event(project, "status", actor, status=to.value, on=on.isoformat())
    log_event("vae.status", actor=actor, obj=project, data={"from": expected.value, "to": to.value})


def _latest_step_date(project: VaeProject) -> date:
    return max(
        d
        for d in (
            project.started_on,
            project.feasibility_sent_on,
            project.admissibility_on,
            project.path_started_on,
            project.validation_sent_on,
        )
        if d is not None
    )


def _check_step_date(project: VaeProject, to: VaeStatus, on: date) -> None:
    if to != VaeStatus.JURY_SCHEDULED and on > date.today():
        raise UserError(_l("This date cannot be in the future."), "on")
    if on < _latest_step_date(project):
        raise UserError(_l("This date cannot be before the previous step of the path."), "on")


@dataclass(frozen=True)
class OutcomeData:
    outcome: VaeOutcome
    decided_on: date
    certifier: str
    #: For a partial validation: the blocs the jury awarded (the others become the next plan).
    acquired: tuple[str, ...] = ()


def record_outcome(project: VaeProject, data: OutcomeData, *, actor: User) -> VaeProject | None:
    """Record the jury's decision: the awarded blocs join the portfolio (as blocs a certifier awarded); after a
    partial validation, the missing blocs become a new project (the next plan), which is returned.

    :raises UserError: no jury scheduled yet, a date in the future or before the dossier was sent, a partial
        validation without (or with every, or with unknown) blocs, no certifier.
    :raises AlreadyMoved: the decision was recorded meanwhile.
    """
    if project.status != VaeStatus.JURY_SCHEDULED:
        raise UserError(_l("Record the jury's decision once the jury is scheduled."), "outcome")
    certifier = data.certifier.strip()
    if not certifier:
        raise UserError(_l("Enter the certifier's name."), "certifier")
    if data.decided_on > date.today():
        raise UserError(_l("This date cannot be in the future."), "decided_on")
    if data.decided_on < _latest_step_date(project):
        raise UserError(_l("This date cannot be before the previous step of the path."), "decided_on")
    chosen = list(project.bloc_codes)
    if data.outcome == VaeOutcome.TOTAL:
        acquired = chosen
    elif data.outcome == VaeOutcome.REFUSAL:
        acquired = []
    else:
        acquired = [code for code in chosen if code in set(data.acquired)]
        if len(acquired) != len(set(data.acquired)):
            raise UserError(_l("Choose blocs of this project."), "acquired")
        if not acquired or len(acquired) == len(chosen):
            raise UserError(_l("A partial validation awards some blocs, not none and not all of them."), "acquired")
    result = db.session.execute(
        sa.update(VaeProject)
        .where(VaeProject.id == project.id, VaeProject.status == VaeStatus.JURY_SCHEDULED)
        .values(
            status=VaeStatus.DECIDED,
            decided_on=data.decided_on,
            outcome=data.outcome,
            certifier=certifier[:200],
            acquired_bloc_codes=acquired,
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )
    db.session.refresh(project)
    if result.rowcount != 1:
        raise AlreadyMoved(project.status)
    titles = {node.code: node.title for node in project_blocs(project)}
    for code in acquired:
        db.session.add(
            AcquiredBloc(
                owner_id=project.owner_id,
                project_id=project.id,
                framework_version_id=project.framework_version_id,
                bloc_code=code,
                title=titles.get(code, {}),
                decided_on=data.decided_on,
                certifier=certifier[:200],
            )
        )
    _event(project, "outcome", actor, outcome=data.outcome.value, acquired=acquired, on=data.decided_on.isoformat())
    log_event("vae.outcome", actor=actor, obj=project, data={"outcome": data.outcome.value, "acquired": acquired})
    db.session.flush()
    if data.outcome != VaeOutcome.PARTIAL:
        return None
    missing = tuple(code for code in chosen if code not in set(acquired))
    # The next plan keeps the same référentiel version and route; it starts on the day of the decision.
    return _next_plan(project, missing, actor)


def _next_plan(project: VaeProject, missing: tuple[str, ...], actor: User) -> VaeProject:
    following = VaeProject(
        owner_id=project.owner_id,
        framework_id=project.framework_id,
        framework_version_id=project.framework_version_id,
        route=project.route,
        bloc_codes=list(missing),
        whole_certification=False,
        status=VaeStatus.STARTED,
        started_on=project.decided_on,
        previous_id=project.id,
    )
    db.session.add(following)
    db.session.flush()
    _event(following, "created", actor, blocs=list(missing), route=project.route.value, previous=project.id)
    _event(project, "next_plan", actor, project_id=following.id, blocs=list(missing))
    return following


# --- Deadlines and reminders --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Deadline:
    key: str
    due: date
    label: str

    def days_left(self, today: date | None = None) -> int:
        return (self.due - (today or date.today())).days


DEADLINE_LABELS = {
    "start_path": _l("Start the personalised path (within 6 months of the recevabilité)"),
    "admissibility_answer": _l("Expected answer of the certifier on admissibility (about 2 months)"),
    "validation_due": _l("Send the dossier de validation while the recevabilité is valid (about 3 years)"),
    "jury": _l("Jury"),
}


def deadlines(project: VaeProject) -> list[Deadline]:
    """The dates ahead of an open project, soonest first."""
    found: list[tuple[str, date]] = []
    if project.status == VaeStatus.FEASIBILITY_SENT and project.feasibility_sent_on:
        found.append(("admissibility_answer", add_months(project.feasibility_sent_on, ADMISSIBILITY_ANSWER_MONTHS)))
    if project.status == VaeStatus.ADMISSIBLE and project.admissibility_on and project.route == VaeRoute.FRANCE_VAE:
        found.append(("start_path", add_months(project.admissibility_on, PATH_START_MONTHS)))
    if project.status in (VaeStatus.ADMISSIBLE, VaeStatus.PATH_STARTED) and project.admissibility_on:
        found.append(("validation_due", add_months(project.admissibility_on, 12 * ADMISSIBILITY_VALID_YEARS)))
    if project.status == VaeStatus.JURY_SCHEDULED and project.jury_on:
        found.append(("jury", project.jury_on))
    return sorted((Deadline(key, due, str(DEADLINE_LABELS[key])) for key, due in found), key=lambda d: (d.due, d.key))


def next_deadline(project: VaeProject) -> Deadline | None:
    upcoming = deadlines(project)
    return upcoming[0] if upcoming else None


def send_reminders(today: date | None = None) -> int:
    """E-mail each volunteer (and their active companions) once per deadline, 30 and 7 days before it.

    Run daily (``flask vae remind``); a reminder already sent is never sent again (``reminders_sent``), and a
    deadline already past sends nothing.
    """
    today = today or date.today()
    open_statuses = [s for s, moves in TRANSITIONS.items() if moves]
    projects = db.session.scalars(
        sa.select(VaeProject)
        .where(VaeProject.status.in_(open_statuses))
        .options(
            selectinload(VaeProject.owner),
            selectinload(VaeProject.framework_version),
            selectinload(VaeProject.companions).selectinload(Share.adviser),
        )
        .order_by(VaeProject.id)
    )
    sent = 0
    for project in projects:
        for deadline in deadlines(project):
            left = deadline.days_left(today)
            if left < 0:
                continue
            # The narrowest window the deadline is in: a run missed at 30 days sends the 7-day reminder only.
            days = next((d for d in sorted(REMINDER_DAYS) if left <= d), None)
            key = f"{deadline.key}:{deadline.due.isoformat()}:{days}"
            if days is None or key in (project.reminders_sent or []):
                continue
            _remind(project, deadline, left)
            project.reminders_sent = [*(project.reminders_sent or []), key]
            sent += 1
    db.session.flush()
    return sent


def _remind(project: VaeProject, deadline: Deadline, days_left: int) -> None:
    title = project.framework_version.display_title()[0]
    recipients = [(project.owner.email, project.owner.locale, project.owner)]
    for share in project.companions:
        if share.is_active:
            # Before their first visit the share is not bound to an account: the address finds it.
            adviser = share.adviser or db.session.scalar(
                sa.select(User).where(sa.func.lower(User.email) == share.adviser_email)
            )
            recipients.append((share.adviser_email, adviser.locale if adviser else project.owner.locale, adviser))
    for email, language, _person in recipients:
        queue_email(
            "vae_reminder",
            recipient=email,
            language=language,
            subject=_l("VAE: a deadline is coming"),
            project=project,
            deadline_key=deadline.key,
            due=deadline.due,
            days_left=days_left,
            certification=title,
            owner=project.owner,
            url=canonical_url("vae.project", project_id=project.id),
        )
    _event(project, "reminder", None, deadline=deadline.key, due=deadline.due.isoformat(), days_left=days_left)


# --- Queries -----------------------------------------------------------------------------------------------------


def projects_of(owner: User) -> list[VaeProject]:
    """The volunteer's projects, newest first, with their targets and companions."""
    return list(
        db.session.scalars(
            sa.select(VaeProject)
            .where(VaeProject.owner_id == owner.id)
            .options(
                selectinload(VaeProject.framework_version),
                selectinload(VaeProject.companions),
            )
            .order_by(VaeProject.created_at.desc(), VaeProject.id.desc())
        )
    )


def get_project(project_id: int) -> VaeProject | None:
    return db.session.scalar(
        sa.select(VaeProject)
        .where(VaeProject.id == project_id)
        .options(
            selectinload(VaeProject.owner),
            selectinload(VaeProject.framework_version),
            selectinload(VaeProject.companions).selectinload(Share.adviser),
        )
    )


def projects_for_companion(user: User) -> list[tuple[VaeProject, Share, Deadline | None]]:
    """The projects ``user`` accompanies through an active share, with the share and the next deadline, soonest
    deadline first (projects without one last)."""
    shares = {s.id: s for s in share_ops.shares_for_adviser(user)}
    if not shares:
        return []
    rows = db.session.execute(
        sa.select(VaeProject, vae_project_companions.c.share_id)
        .join(vae_project_companions, vae_project_companions.c.project_id == VaeProject.id)
        .where(vae_project_companions.c.share_id.in_(list(shares)))
        .options(selectinload(VaeProject.owner), selectinload(VaeProject.framework_version))
        .order_by(VaeProject.id)
    ).all()
    result = [(project, shares[share_id], next_deadline(project)) for project, share_id in rows]
    far = date.max
    return sorted(result, key=lambda row: (row[2].due if row[2] else far, row[0].id))


def timeline(project: VaeProject) -> list[VaeEvent]:
    """The project's history, newest first."""
    return list(
        db.session.scalars(
            sa.select(VaeEvent)
            .where(VaeEvent.project_id == project.id)
            .options(selectinload(VaeEvent.actor))
            .order_by(VaeEvent.at.desc(), VaeEvent.id.desc())
        )
    )


# --- Companions ---------------------------------------------------------------------------------------------------


def invite_companion(project: VaeProject, *, actor: User, email: str, days: int = COMPANION_DEFAULT_DAYS) -> Share:
    """Invite a career adviser or VAE companion: a named-adviser share of the portfolio (expiring, revocable,
    logged) attached to the project, so they also read the project, its timeline and drafts, and comment.

    :raises UserError: the address is the volunteer's own or missing, a bad duration, already invited.
    """
    email = email.strip().lower()
    if any(s.is_active and s.adviser_email == email for s in project.companions):
        raise UserError(_l("This person already accompanies the project."), "email")
    title = project.framework_version.display_title()[0]
    try:
        share, _token = share_ops.create_share(
            project.owner,
            share_ops.ShareData(
                kind=ShareKind.ADVISER,
                days=days,
                adviser_email=email,
                label=str(_l("VAE companion")) + " — " + title[:80],
                whole_portfolio=True,
                include_evidence=True,
                include_documents=True,
            ),
        )
    except UserError as exc:
        raise UserError(exc.message, "email" if exc.field == "adviser_email" else exc.field) from exc
    project.companions.append(share)
    db.session.flush()
    _event(project, "companion_invited", actor, email=email, share_id=share.id, until=share.expires_at.isoformat())
    log_event("vae.companion_invited", actor=actor, obj=project, data={"share_id": share.id})
    return share


def end_companion(project: VaeProject, share: Share, *, actor: User) -> None:
    """End a companion's access now (the share is revoked: the portfolio and the project close together)."""
    if share not in project.companions:
        raise UserError(_l("This person does not accompany the project."), "share")
    if share.revoked_at is None:
        share_ops.revoke_share(share, actor=actor)
        _event(project, "companion_ended", actor, email=share.adviser_email, share_id=share.id)


def record_companion_view(project: VaeProject, user: User, what: str) -> None:
    """A companion's read goes to the access log of the share that let them in (binding it on first use)."""
    share = project.companion_share(user)
    if share is not None:
        share_ops.bind_adviser(share, user)
        title = project.framework_version.display_title()[0]
        share_ops.log_access(share, user, what, f"VAE — {title}")


# --- Comments -----------------------------------------------------------------------------------------------------


def add_comment(
    project: VaeProject, *, actor: User, body: str, bloc_code: str = "", parent: VaeComment | None = None
) -> VaeComment:
    """A comment on a bloc (or the whole project), or a reply in a thread (replies go to the thread's first
    comment and share its bloc).

    :raises UserError: empty or too long, an unknown bloc, a reply to another project's thread.
    """
    body = body.strip()
    if not body:
        raise UserError(_l("Write a comment."), "body")
    if len(body) > COMMENT_LIMIT:
        raise UserError(_l("Please use at most %(max)d characters.", max=COMMENT_LIMIT), "body")
    if parent is not None:
        if parent.project_id != project.id:
            raise UserError(_l("This thread does not exist."), "body")
        while parent.parent_id is not None:
            parent = db.session.get(VaeComment, parent.parent_id)
        bloc_code = parent.bloc_code
    elif bloc_code and bloc_code not in (project.bloc_codes or []):
        raise UserError(_l("Choose a bloc of this project."), "bloc_code")
    comment = VaeComment(
        project_id=project.id,
        bloc_code=bloc_code,
        parent_id=parent.id if parent is not None else None,
        author_id=actor.id,
        body=body,
    )
    db.session.add(comment)
    if parent is not None and parent.resolved_at is not None:
        parent.resolved_at = None  # a new reply reopens the thread
        parent.resolved_by_id = None
    db.session.flush()
    _event(project, "comment", actor, bloc=bloc_code, comment_id=comment.id, reply=parent is not None)
    return comment


def resolve_thread(project: VaeProject, thread: VaeComment, *, actor: User) -> None:
    """Mark a thread resolved (it stays in the history; a reply reopens it)."""
    if thread.project_id != project.id or thread.parent_id is not None:
        raise UserError(_l("This thread does not exist."), "comment")
    if thread.resolved_at is None:
        thread.resolved_at = utcnow()
        thread.resolved_by_id = actor.id
        db.session.flush()
        _event(project, "comment_resolved", actor, bloc=thread.bloc_code, comment_id=thread.id)


@dataclass
class Thread:
    first: VaeComment
    replies: list[VaeComment] = field(default_factory=list)


def threads(project: VaeProject, bloc_code: str | None = None) -> dict[str, list[Thread]]:
    """Comment threads per bloc code ("" for the whole project), oldest first, resolved ones included."""
    query = (
        sa.select(VaeComment)
        .where(VaeComment.project_id == project.id)
        .options(selectinload(VaeComment.author), selectinload(VaeComment.resolved_by))
        .order_by(VaeComment.created_at, VaeComment.id)
    )
    if bloc_code is not None:
        query = query.where(VaeComment.bloc_code == bloc_code)
    by_id: dict[int, Thread] = {}
    result: dict[str, list[Thread]] = defaultdict(list)
    comments = list(db.session.scalars(query))
    for comment in comments:
        if comment.parent_id is None:
            by_id[comment.id] = Thread(comment)
            result[comment.bloc_code].append(by_id[comment.id])
    for comment in comments:
        if comment.parent_id is not None and comment.parent_id in by_id:
            by_id[comment.parent_id].replies.append(comment)
    return result


def get_comment(project: VaeProject, comment_id: int) -> VaeComment | None:
    comment = db.session.get(VaeComment, comment_id)
    return comment if comment is not None and comment.project_id == project.id else None


# --- Bloc drafts --------------------------------------------------------------------------------------------------


def draft_of(project: VaeProject, bloc_code: str) -> VaeBlocDraft | None:
    return db.session.scalar(
        sa.select(VaeBlocDraft).where(VaeBlocDraft.project_id == project.id, VaeBlocDraft.bloc_code == bloc_code)
    )


def drafts_of(project: VaeProject) -> dict[str, VaeBlocDraft]:
    return {
        d.bloc_code: d for d in db.session.scalars(sa.select(VaeBlocDraft).where(VaeBlocDraft.project_id == project.id))
    }


def draft_history(draft: VaeBlocDraft | None, limit: int = 50) -> list[VaeDraftRevision]:
    if draft is None:
        return []
    return list(
        db.session.scalars(
            sa.select(VaeDraftRevision)
            .where(VaeDraftRevision.draft_id == draft.id)
            .order_by(VaeDraftRevision.revision.desc())
            .limit(limit)
        )
    )


@dataclass(frozen=True)
class DraftData:
    fields: dict
    claim_ids: tuple[int, ...] = ()
    evidence_ids: tuple[int, ...] = ()
    autosave: bool = False


def usable_claims(project: VaeProject) -> list[Claim]:
    """The volunteer's claims, with their experience, node and evidence: the work situations a bloc can use."""
    return list(
        db.session.scalars(
            sa.select(Claim)
            .where(Claim.owner_id == project.owner_id)
            .options(
                selectinload(Claim.node),
                selectinload(Claim.evidence),
            )
            .order_by(Claim.experience_id, Claim.id)
        )
    )


def usable_evidence(project: VaeProject) -> list[Evidence]:
    return list(
        db.session.scalars(sa.select(Evidence).where(Evidence.owner_id == project.owner_id).order_by(Evidence.id))
    )


def save_draft(project: VaeProject, bloc_code: str, data: DraftData, *, actor: User) -> VaeBlocDraft:
    """Save the writing of one bloc as a new revision (an unchanged save records nothing). A change after the
    sworn statement was signed clears it: the volunteer signs again what will be exported.

    :raises UserError: an unknown bloc, a field too long, situations or evidence that are not the volunteer's.
    """
    if bloc_code not in (project.bloc_codes or []):
        raise UserError(_l("Choose a bloc of this project."), "bloc_code")
    fields = {}
    for name in DRAFT_FIELDS:
        value = (data.fields.get(name) or "").strip()
        if len(value) > DRAFT_FIELD_LIMIT:
            raise UserError(_l("Please use at most %(max)d characters.", max=DRAFT_FIELD_LIMIT), name)
        fields[name] = value
    claim_ids = sorted(set(data.claim_ids))
    evidence_ids = sorted(set(data.evidence_ids))
    if claim_ids:
        owned = set(
            db.session.scalars(sa.select(Claim.id).where(Claim.id.in_(claim_ids), Claim.owner_id == project.owner_id))
        )
        if owned != set(claim_ids):
            raise UserError(_l("Choose among your own work situations."), "claim_ids")
    if evidence_ids:
        owned = set(
            db.session.scalars(
                sa.select(Evidence.id).where(Evidence.id.in_(evidence_ids), Evidence.owner_id == project.owner_id)
            )
        )
        if owned != set(evidence_ids):
            raise UserError(_l("Choose among your own evidence files."), "evidence_ids")
    draft = draft_of(project, bloc_code)
    if draft is None:
        draft = VaeBlocDraft(project_id=project.id, bloc_code=bloc_code, fields={}, claim_ids=[], evidence_ids=[])
        db.session.add(draft)
    elif draft.fields == fields and draft.claim_ids == claim_ids and draft.evidence_ids == evidence_ids:
        return draft
    draft.fields = fields
    draft.claim_ids = claim_ids
    draft.evidence_ids = evidence_ids
    draft.revision = (draft.revision or 0) + 1
    draft.updated_at = utcnow()
    db.session.flush()
    db.session.add(
        VaeDraftRevision(
            draft_id=draft.id,
            revision=draft.revision,
            autosave=data.autosave,
            fields=fields,
            claim_ids=claim_ids,
            evidence_ids=evidence_ids,
        )
    )
    if project.sworn_at is not None:
        project.sworn_at = None
        project.sworn_name = ""
        _event(project, "sworn_cleared", actor, bloc=bloc_code)
    # Autosaves while typing would flood the timeline: the button's saves only.
    if not data.autosave:
        _event(project, "draft", actor, bloc=bloc_code, revision=draft.revision, words=draft.word_count)
    db.session.flush()
    return draft


#: The checklist of a bloc (key → label): what the certifier looks for in each bloc of the dossier de validation.
CHECKLIST = {
    "situations": _l("At least one work situation chosen from your missions"),
    "context": _l("The context is described (organisation, country, public, team, means)"),
    "activities": _l("What you did is described in detail"),
    "how_with_whom": _l("How you did it and with whom"),
    "results": _l("The results and what you would do differently"),
    "evidence": _l("At least one piece of evidence attached"),
    "length": _l("At least 300 words"),
}
MIN_WORDS = 300


def checklist(draft: VaeBlocDraft | None) -> list[tuple[str, str, bool]]:
    """``(key, label, done)`` for each item of the bloc's checklist."""
    fields = (draft.fields if draft else None) or {}
    done = {
        "situations": bool(draft and draft.claim_ids),
        "context": bool(fields.get("context")),
        "activities": bool(fields.get("activities")),
        "how_with_whom": bool(fields.get("how") and fields.get("with_whom")),
        "results": bool(fields.get("results") and fields.get("differently")),
        "evidence": bool(draft and draft.evidence_ids),
        "length": bool(draft and draft.word_count >= MIN_WORDS),
    }
    return [(key, str(label), done[key]) for key, label in CHECKLIST.items()]


# --- Sworn statement ------------------------------------------------------------------------------------------------


def sign_statement(project: VaeProject, *, actor: User, name: str, accepted: bool) -> None:
    """Sign the déclaration sur l'honneur (the candidate's own name, typed, and the box ticked).

    :raises UserError: not ticked, or a name that is not the account's.
    """
    if not project.can_manage(actor):
        raise UserError(_l("Only the candidate signs the sworn statement."), "name")
    if not accepted:
        raise UserError(_l("Tick the box to make the statement."), "accepted")
    if " ".join(name.split()).casefold() != " ".join(actor.display_name.split()).casefold():
        raise UserError(_l("Type your name exactly as on your account: %(name)s.", name=actor.display_name), "name")
    project.sworn_at = utcnow()
    project.sworn_name = actor.display_name
    db.session.flush()
    _event(project, "sworn", actor)
    log_event("vae.sworn", actor=actor, obj=project)


# --- The portfolio's acquired blocs -------------------------------------------------------------------------------


def acquired_blocs(owner: User) -> list[AcquiredBloc]:
    """The blocs ``owner`` acquired, newest decision first (the dashboard runs it on every view)."""
    return list(db.session.scalars(_acquired_blocs_query(), {"owner_id": owner.id}))


@functools.cache
def _acquired_blocs_query() -> sa.Select:
    """The statement of :func:`acquired_blocs`, built once per process (the owner a bound parameter): building it
    and its cache key on every dashboard view cost more CPU than running it."""
    return (
        sa.select(AcquiredBloc)
        .where(AcquiredBloc.owner_id == sa.bindparam("owner_id", type_=sa.Integer))
        .order_by(AcquiredBloc.decided_on.desc(), AcquiredBloc.id)
    )


def experiences_of(owner_id: int) -> dict[int, Experience]:
    return {
        e.id: e
        for e in db.session.scalars(
            sa.select(Experience).where(Experience.owner_id == owner_id).order_by(Experience.start_date)
        )
    }
