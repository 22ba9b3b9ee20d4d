"""The release job: pending answers into the report tables, in shuffled batches, and new published tallies.

Run by ``flask survey release`` (cron or a worker loop), never inside a request. For each questionnaire version
and each attribution set (the exact set of NGOs answers are attributed to) holding at least
``SURVEY_RELEASE_BATCH`` pending answers — and whose privacy budget allows one more release — the job:

1. moves those answers, shuffled, into ``survey_responses`` (new random keys) with their attribution rows and
   comments (the comments wait for moderation, tagged with the release that brought them);
2. deletes them from the pending pool, with SQLite's ``secure_delete`` on, so their old pages are zeroed;
3. publishes a new noisy tally of the whole set (:mod:`app.survey.privacy`), spending ``SURVEY_RELEASE_RHO``.

The caller commits, then truncates the write-ahead log (:func:`app.core.dbfiles.forget_log`). A report therefore
changes only at a release, by at least a batch, and says when it was last updated.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload

from app.core.dbfiles import secure_delete
from app.extensions import db
from app.survey.models import (
    CommentState,
    SurveyComment,
    SurveyPendingAnswer,
    SurveyRelease,
    SurveyResponse,
    SurveyResponseOrganisation,
    SurveyTally,
    attribution_ids,
    attribution_key,
)
from app.survey.privacy import exact_tally, noisy_tally
from app.survey.questionnaire import Questionnaire, all_questionnaires

#: Slack when comparing sums of floating-point budget shares.
_EPSILON = 1e-9


@dataclass
class ReleaseSummary:
    """What a run did: answers released, batches, and batches held back because their budget is spent."""

    answers: int = 0
    batches: int = 0
    held: list[str] = field(default_factory=list)


def release_pending() -> ReleaseSummary:
    """Release every ready batch of every questionnaire version (see the module's docstring). Flushes only."""
    summary = ReleaseSummary()
    secure_delete(db.session)
    for questionnaire in all_questionnaires():
        _release_version(questionnaire, summary)
    db.session.flush()
    return summary


def _release_version(questionnaire: Questionnaire, summary: ReleaseSummary) -> None:
    config = current_app.config
    batch, rho, budget = (
        config["SURVEY_RELEASE_BATCH"],
        config["SURVEY_RELEASE_RHO"],
        config["SURVEY_PRIVACY_BUDGET_RHO"],
    )
    version = (
        SurveyPendingAnswer.questionnaire_id == questionnaire.id,
        SurveyPendingAnswer.questionnaire_version == questionnaire.version,
    )
    sizes = db.session.execute(
        sa.select(SurveyPendingAnswer.attribution, sa.func.count())
        .where(*version)
        .group_by(SurveyPendingAnswer.attribution)
    ).all()
    tallies = {
        t.attribution: t
        for t in db.session.scalars(
            sa.select(SurveyTally).where(
                SurveyTally.questionnaire_id == questionnaire.id,
                SurveyTally.questionnaire_version == questionnaire.version,
            )
        )
    }
    ready = []
    for key, size in sizes:
        if size < batch:
            continue
        spent = tallies[key].rho_spent if key in tallies else 0.0
        if spent + rho > budget + _EPSILON:
            summary.held.append(f"{questionnaire.ref}:{key or '-'}")
            continue
        ready.append(key)
    if not ready:
        return
    release = SurveyRelease(questionnaire_id=questionnaire.id, questionnaire_version=questionnaire.version, rho=rho)
    db.session.add(release)
    db.session.flush()
    for key in ready:
        summary.answers += _move_batch(questionnaire, key, release)
        summary.batches += 1
    db.session.flush()
    exact = _exact_tallies(questionnaire, set(ready))
    for key in ready:
        tally = tallies.get(key)
        if tally is None:
            tally = SurveyTally(
                questionnaire_id=questionnaire.id,
                questionnaire_version=questionnaire.version,
                attribution=key,
                rho_spent=0.0,
            )
            db.session.add(tally)
        tally.counts = noisy_tally(questionnaire, exact[key], rho)
        tally.rho_spent = (tally.rho_spent or 0.0) + rho


def _move_batch(questionnaire: Questionnaire, key: str, release: SurveyRelease) -> int:
    """Move the pending answers of one attribution set into the report tables, shuffled; how many."""
    pending = list(
        db.session.scalars(
            sa.select(SurveyPendingAnswer).where(
                SurveyPendingAnswer.questionnaire_id == questionnaire.id,
                SurveyPendingAnswer.questionnaire_version == questionnaire.version,
                SurveyPendingAnswer.attribution == key,
            )
        )
    )
    random.SystemRandom().shuffle(pending)
    organisations = sorted(attribution_ids(key))
    for answer in pending:
        response = SurveyResponse(
            questionnaire_id=answer.questionnaire_id,
            questionnaire_version=answer.questionnaire_version,
            consent_version=answer.consent_version,
            profile=dict(answer.profile or {}),
            answers=dict(answer.answers or {}),
        )
        response.organisation_links = [SurveyResponseOrganisation(organisation_id=oid) for oid in organisations]
        if answer.comment:
            response.comment = SurveyComment(text=answer.comment, state=CommentState.PENDING, release_id=release.id)
        db.session.add(response)
    db.session.execute(
        sa.delete(SurveyPendingAnswer)
        .where(SurveyPendingAnswer.id.in_([a.id for a in pending]))
        .execution_options(synchronize_session=False)
    )
    for answer in pending:
        db.session.expunge(answer)
    return len(pending)


def _exact_tallies(questionnaire: Questionnaire, keys: set[str]) -> dict[str, dict]:
    """The exact tallies of the released answers of ``questionnaire`` in each attribution set of ``keys``."""
    grouped: dict[str, list] = defaultdict(list)
    for response in db.session.scalars(
        sa.select(SurveyResponse)
        .where(
            SurveyResponse.questionnaire_id == questionnaire.id,
            SurveyResponse.questionnaire_version == questionnaire.version,
        )
        .options(selectinload(SurveyResponse.organisation_links))
    ):
        key = attribution_key(response.organisation_ids)
        if key in keys:
            grouped[key].append((response.profile or {}, response.answers or {}))
    return {key: exact_tally(questionnaire, grouped[key]) for key in keys}
