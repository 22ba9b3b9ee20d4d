"""Answering once, anonymity of the stored answers, moderation and invitations."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app.core.audit import AuditEvent
from app.core.errors import UserError
from app.core.i18n import force_locale
from app.extensions import db
from app.survey import operations as ops
from app.survey.models import (
    ANSWER_TABLES,
    CommentState,
    SurveyParticipation,
    SurveyPendingAnswer,
    SurveyResponse,
    attribution_ids,
)


def _data(questionnaire, *, organisations=(), comment="", consent=True, answer="4"):
    return ops.ResponseData(
        profile={q.key: q.values[0] for q in questionnaire.profile},
        answers=dict.fromkeys(questionnaire.item_keys, answer),
        consent=consent,
        organisation_ids=frozenset(o.id for o in organisations),
        comment=comment,
    )


def _count(model):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


# --- One answer per person and version ---


def test_a_person_answers_once_per_version(create_respondent, questionnaire):
    user = create_respondent()
    ops.submit_response(user, questionnaire, _data(questionnaire))
    assert ops.has_answered(user, questionnaire)
    with pytest.raises(ops.AlreadyAnsweredError):
        ops.submit_response(user, questionnaire, _data(questionnaire))
    assert _count(SurveyParticipation) == 1
    # The answer waits in the pending pool: nothing reaches the report tables inside the request.
    assert _count(SurveyPendingAnswer) == 1
    assert _count(SurveyResponse) == 0


def test_concurrent_double_submit_gives_one_row(create_respondent, questionnaire, monkeypatch):
    """Two requests both pass the "already answered?" check: the unique constraint lets only one through."""
    user = create_respondent()
    monkeypatch.setattr(ops, "has_answered", lambda *a: False)
    ops.submit_response(user, questionnaire, _data(questionnaire))
    with pytest.raises(ops.AlreadyAnsweredError):
        ops.submit_response(user, questionnaire, _data(questionnaire, comment="second"))
    assert _count(SurveyParticipation) == 1
    assert _count(SurveyPendingAnswer) == 1
    assert db.session.scalar(sa.select(SurveyPendingAnswer.comment)) is None


def test_closed_versions_cannot_be_answered(create_user, v1):
    with pytest.raises(UserError):
        ops.submit_response(create_user(), v1, _data(v1))


def test_consent_is_required(create_respondent, questionnaire):
    with force_locale("en"), pytest.raises(UserError, match="consent"):
        ops.submit_response(create_respondent(), questionnaire, _data(questionnaire, consent=False))
    assert _count(SurveyParticipation) == 0


def test_incomplete_or_foreign_answers_are_refused(create_respondent, questionnaire):
    data = _data(questionnaire)
    incomplete = ops.ResponseData(profile=data.profile, answers={"confidence": "4"}, consent=True)
    with pytest.raises(UserError):
        ops.submit_response(create_respondent(), questionnaire, incomplete)
    wrong = ops.ResponseData(profile=data.profile, answers=data.answers | {"confidence": "7"}, consent=True)
    with pytest.raises(UserError):
        ops.submit_response(create_respondent(), questionnaire, wrong)


def test_answers_can_only_be_attributed_to_own_sending_ngos(create_respondent, create_org, questionnaire):
    mine, other = create_org(), create_org()
    user = create_respondent(mine)
    with force_locale("en"), pytest.raises(UserError, match="belong"):
        ops.submit_response(user, questionnaire, _data(questionnaire, organisations=[other]))
    ops.submit_response(user, questionnaire, _data(questionnaire, organisations=[mine]))
    pending = db.session.scalar(sa.select(SurveyPendingAnswer))
    assert attribution_ids(pending.attribution) == {mine.id}


def test_consent_version_is_recorded(create_respondent, questionnaire):
    ops.submit_response(create_respondent(), questionnaire, _data(questionnaire))
    pending = db.session.scalar(sa.select(SurveyPendingAnswer))
    assert pending.consent_version == questionnaire.consent_version


# --- Unlinkability ---


def test_no_answer_table_references_users_or_participations(app):
    inspector = sa.inspect(db.session.connection())  # the test's own connection (it holds the write lock)
    for table in ANSWER_TABLES:
        foreign_tables = {fk["referred_table"] for fk in inspector.get_foreign_keys(table)}
        assert foreign_tables <= {"survey_responses", "organisations", "survey_releases"}, table
        columns = {c["name"] for c in inspector.get_columns(table)}
        assert not columns & {"user_id", "participation_id"}, table
    participation_columns = {c["name"] for c in inspector.get_columns("survey_participations")}
    assert participation_columns == {"id", "user_id", "questionnaire_id", "questionnaire_version"}


def test_nothing_on_the_answer_side_can_be_ordered_or_matched_in_time(app):
    """The audit log keeps who answered and exactly when; participations are numbered in answering order. The
    reports need no time finer than the questionnaire version, so the answer side stores no time at all (no date or
    time column, not even a month: one answer from an NGO's members in a month would be a one-to-one link) and no
    key that grows with time: every key is a random string."""
    inspector = sa.inspect(db.session.connection())  # the test's own connection (it holds the write lock)
    expected = {
        "survey_responses": {
            "id",
            "questionnaire_id",
            "questionnaire_version",
            "consent_version",
            "profile",
            "answers",
        },
        "survey_response_organisations": {"response_id", "organisation_id"},
        "survey_comments": {"id", "response_id", "text", "state", "release_id"},
        "survey_pending_answers": {
            "id",
            "questionnaire_id",
            "questionnaire_version",
            "consent_version",
            "attribution",
            "profile",
            "answers",
            "comment",
        },
        "survey_tallies": {"questionnaire_id", "questionnaire_version", "attribution", "counts", "rho_spent"},
    }
    assert set(expected) == set(ANSWER_TABLES)
    for table in ANSWER_TABLES:
        columns = inspector.get_columns(table)
        # Any new column must be reviewed for linkability: the set is pinned.
        assert {c["name"] for c in columns} == expected[table], table
        for column in columns:
            assert not isinstance(column["type"], sa.Date | sa.DateTime | sa.Time | sa.Interval), (table, column)
            assert column.get("autoincrement") is not True, (table, column)
        for name in inspector.get_pk_constraint(table)["constrained_columns"]:
            column = next(c for c in columns if c["name"] == name)
            if name not in ("organisation_id", "questionnaire_version"):  # chosen by the respondent, a version
                assert isinstance(column["type"], sa.String), (table, name)


def test_answers_given_at_different_times_are_stored_identically(create_respondent, create_org, questionnaire):
    """Two people answer the same way, one after the other: apart from the random keys, the pending rows are the
    same — nothing there follows the time or order of the participations, and no audit event records answering."""
    org = create_org()

    def answer():
        user = create_respondent(org)
        before = set(db.session.scalars(sa.select(SurveyPendingAnswer.id)))
        ops.submit_response(user, questionnaire, _data(questionnaire, organisations=[org], comment="Merci"))
        (new_id,) = set(db.session.scalars(sa.select(SurveyPendingAnswer.id))) - before
        return new_id

    first, second = answer(), answer()
    assert db.session.scalar(sa.select(sa.func.count()).where(AuditEvent.action.like("survey.%"))) == 0

    def stored(pending_id):
        row = db.session.execute(sa.text("SELECT * FROM survey_pending_answers WHERE id = :i"), {"i": pending_id}).one()
        return {k: v for k, v in row._mapping.items() if k != "id"}

    assert stored(first) == stored(second)
    assert stored(first)["comment"] == "Merci"


def test_pending_ids_are_random_and_do_not_follow_participation_order(create_respondent, questionnaire):
    insertion_order = []
    for _ in range(12):
        before = set(db.session.scalars(sa.select(SurveyPendingAnswer.id)))
        ops.submit_response(create_respondent(), questionnaire, _data(questionnaire))
        (new_id,) = set(db.session.scalars(sa.select(SurveyPendingAnswer.id))) - before
        insertion_order.append(new_id)
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in insertion_order)
    by_key = list(db.session.scalars(sa.select(SurveyPendingAnswer.id).order_by(SurveyPendingAnswer.id)))
    # Sorting by key does not give back the order people answered in (a 1 in 12! chance).
    assert by_key != insertion_order
    if db.engine.dialect.name == "sqlite":
        # WITHOUT ROWID: rows are stored and read in key order, not in insertion order.
        assert list(db.session.scalars(sa.select(SurveyPendingAnswer.id))) == by_key


def test_sqlite_answer_tables_have_no_hidden_rowid(app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only: PostgreSQL tables have no rowid")
    for table in ANSWER_TABLES:
        with pytest.raises(sa.exc.OperationalError):
            db.session.execute(sa.text(f"SELECT rowid FROM {table}"))  # noqa: S608 - fixed table names
        db.session.rollback()


def test_no_audit_event_records_answering(create_respondent, create_org, questionnaire):
    """An event naming the person at the moment they answered is the link the pending pool exists to avoid."""
    org = create_org()
    user = create_respondent(org)
    before = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))
    ops.submit_response(user, questionnaire, _data(questionnaire, organisations=[org], comment="Merci"))
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == before


# --- Moderation ---


def test_only_admins_of_an_attributed_ngo_or_platform_admins_moderate(
    create_user, create_org, add_member, make_responses, questionnaire
):
    ngo, other = create_org(), create_org()
    admin, other_admin, trainer = create_user(), create_user(), create_user()
    add_member(ngo, admin, "admin")
    add_member(other, other_admin, "admin")
    add_member(ngo, trainer, "trainer")
    (response,) = make_responses(questionnaire, organisations=[ngo], comment="Great mission")
    comment = response.comment
    assert comment.can_moderate(admin)
    assert comment.can_moderate(create_user(platform_admin=True))
    assert not comment.can_moderate(other_admin)
    assert not comment.can_moderate(trainer)
    assert [c.id for c in ops.moderation_queue(organisation=ngo).comments] == [comment.id]
    assert ops.moderation_queue(organisation=other).comments == []


def test_a_comment_is_decided_once(create_user, create_org, make_responses, questionnaire):
    (response,) = make_responses(questionnaire, comment="Text")
    actor = create_user(platform_admin=True)
    ops.moderate_comment(response.comment, True, actor=actor)
    assert response.comment.state == CommentState.APPROVED
    with force_locale("en"), pytest.raises(UserError, match="already"):
        ops.moderate_comment(response.comment, False, actor=actor)
    assert response.comment.state == CommentState.APPROVED


def test_moderation_event_names_the_moderator_but_not_the_comment(create_user, make_responses, questionnaire):
    """A comment id next to a review time would bound when its respondent answered: the event has neither."""
    (response,) = make_responses(questionnaire, comment="Text")
    actor = create_user(platform_admin=True)
    ops.moderate_comment(response.comment, False, actor=actor)
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "survey.comment_rejected"))
    assert event.actor_id == actor.id
    serialized = repr((event.data, event.object_id, event.object_type))
    assert response.comment.id not in serialized and response.id not in serialized


def test_reports_include_approved_comments_only(create_user, make_responses, questionnaire):
    make_responses(questionnaire, comment="pending text")
    make_responses(questionnaire, comment="approved text", state=CommentState.APPROVED)
    make_responses(questionnaire, comment="rejected text", state=CommentState.REJECTED)
    data = ops.report_data(questionnaire, organisation=None)
    assert data.comments == ["approved text"]
    assert data.tally["n"] == 3


def test_org_report_data_is_limited_to_attributed_responses(create_org, make_responses, questionnaire):
    ngo, other = create_org(), create_org()
    make_responses(questionnaire, 3, organisations=[ngo])
    make_responses(questionnaire, 2, organisations=[ngo, other])
    make_responses(questionnaire, 4, organisations=[other])
    make_responses(questionnaire, 1)
    assert ops.report_data(questionnaire, organisation=ngo).tally["n"] == 5
    assert ops.report_data(questionnaire, organisation=other).tally["n"] == 6
    assert ops.report_data(questionnaire, organisation=None).tally["n"] == 10
    assert ops.report_data(questionnaire, organisation=ngo, exclude=frozenset({other.id})).tally["n"] == 3


# --- Invitations ---


def test_invitations_go_to_volunteers_in_their_language(create_user, create_org, add_member, questionnaire, outbox):
    from app.organisations.operations import get_organisation

    org = create_org("Solidarités Test")
    admin = create_user(locale="fr")
    add_member(org, admin, "admin")
    people = {lang: create_user(f"returnee-{lang}@example.org", locale=lang) for lang in ("fr", "en", "es")}
    for user in people.values():
        add_member(org, user, "volunteer")
    add_member(org, create_user("trainer-x@example.org"), "trainer")
    org = get_organisation(org.slug)
    assert ops.invite_returnees(org, questionnaire, actor=admin) == 3
    db.session.commit()
    by_recipient = {m.recipient: m for m in outbox}
    assert set(by_recipient) == {u.email for u in people.values()}
    assert "Lo que la misión cambió para usted" in by_recipient["returnee-es@example.org"].body
    assert "What your mission changed for you" in by_recipient["returnee-en@example.org"].body
    assert "Ce que la mission a changé pour vous" in by_recipient["returnee-fr@example.org"].body
    assert by_recipient["returnee-es@example.org"].language == "es"
    assert "/survey/impact/2" in by_recipient["returnee-es@example.org"].body
