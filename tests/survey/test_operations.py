"""Answering once, anonymity of the stored answers, moderation and invitations."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app.core.audit import AuditEvent
from app.core.i18n import force_locale
from app.extensions import db
from app.survey import operations as ops
from app.survey.models import (
    ANSWER_TABLES,
    CommentState,
    SurveyComment,
    SurveyParticipation,
    SurveyResponse,
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


def test_a_person_answers_once_per_version(create_user, questionnaire):
    user = create_user()
    ops.submit_response(user, questionnaire, _data(questionnaire))
    assert ops.has_answered(user, questionnaire)
    with pytest.raises(ops.AlreadyAnsweredError):
        ops.submit_response(user, questionnaire, _data(questionnaire))
    assert _count(SurveyParticipation) == 1
    assert _count(SurveyResponse) == 1


def test_concurrent_double_submit_gives_one_row(create_user, questionnaire, monkeypatch):
    """Two requests both pass the "already answered?" check: the unique constraint lets only one through."""
    user = create_user()
    monkeypatch.setattr(ops, "has_answered", lambda *a: False)
    ops.submit_response(user, questionnaire, _data(questionnaire))
    with pytest.raises(ops.AlreadyAnsweredError):
        ops.submit_response(user, questionnaire, _data(questionnaire, comment="second"))
    assert _count(SurveyParticipation) == 1
    assert _count(SurveyResponse) == 1
    assert _count(SurveyComment) == 0


def test_closed_versions_cannot_be_answered(create_user, v1):
    with pytest.raises(ops.SurveyError):
        ops.submit_response(create_user(), v1, _data(v1))


def test_consent_is_required(create_user, questionnaire):
    with force_locale("en"), pytest.raises(ops.SurveyError, match="consent"):
        ops.submit_response(create_user(), questionnaire, _data(questionnaire, consent=False))
    assert _count(SurveyParticipation) == 0


def test_incomplete_or_foreign_answers_are_refused(create_user, questionnaire):
    data = _data(questionnaire)
    incomplete = ops.ResponseData(profile=data.profile, answers={"confidence": "4"}, consent=True)
    with pytest.raises(ops.SurveyError):
        ops.submit_response(create_user(), questionnaire, incomplete)
    wrong = ops.ResponseData(profile=data.profile, answers=data.answers | {"confidence": "7"}, consent=True)
    with pytest.raises(ops.SurveyError):
        ops.submit_response(create_user(), questionnaire, wrong)


def test_answers_can_only_be_attributed_to_own_sending_ngos(create_user, create_org, add_member, questionnaire):
    user, mine, other = create_user(), create_org(), create_org()
    add_member(mine, user, "volunteer")
    with force_locale("en"), pytest.raises(ops.SurveyError, match="belong"):
        ops.submit_response(user, questionnaire, _data(questionnaire, organisations=[other]))
    ops.submit_response(user, questionnaire, _data(questionnaire, organisations=[mine]))
    response = db.session.scalar(sa.select(SurveyResponse))
    assert response.organisation_ids == {mine.id}


def test_consent_version_is_recorded(create_user, questionnaire):
    ops.submit_response(create_user(), questionnaire, _data(questionnaire))
    response = db.session.scalar(sa.select(SurveyResponse))
    assert response.consent_version == questionnaire.consent_version


# --- Unlinkability ---


def test_no_answer_table_references_users_or_participations(app):
    inspector = sa.inspect(db.engine)
    for table in ANSWER_TABLES:
        foreign_tables = {fk["referred_table"] for fk in inspector.get_foreign_keys(table)}
        assert foreign_tables <= {"survey_responses", "organisations"}, table
        columns = {c["name"] for c in inspector.get_columns(table)}
        assert not columns & {"user_id", "participation_id"}, table
    participation_columns = {c["name"] for c in inspector.get_columns("survey_participations")}
    assert participation_columns == {"id", "user_id", "questionnaire_id", "questionnaire_version"}


def test_nothing_on_the_answer_side_can_be_ordered_or_matched_in_time(app):
    """The audit log keeps who answered and exactly when; participations are numbered in answering order. The
    reports need no time finer than the questionnaire version, so the answer side stores no time at all (no date or
    time column, not even a month: one answer from an NGO's members in a month would be a one-to-one link) and no
    key that grows with time: every key is a random string."""
    inspector = sa.inspect(db.engine)
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
        "survey_comments": {"id", "response_id", "text", "state"},
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
            if name != "organisation_id":  # the NGO, chosen by the respondent: no time in it
                assert isinstance(column["type"], sa.String), (table, name)


def test_answers_given_at_different_times_are_stored_identically(create_user, create_org, add_member, questionnaire):
    """Two people answer the same way, one after the other: apart from the random keys, every stored row of the
    answer side is the same — nothing there follows the time or order of the audit events and participations."""
    org = create_org()

    def answer():
        user = create_user()
        add_member(org, user, "volunteer")
        before = set(db.session.scalars(sa.select(SurveyResponse.id)))
        ops.submit_response(user, questionnaire, _data(questionnaire, organisations=[org], comment="Merci"))
        (new_id,) = set(db.session.scalars(sa.select(SurveyResponse.id))) - before
        return new_id

    first, second = answer(), answer()
    events = list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "survey.answered")))
    assert len(events) == 2 and all(e.created_at is not None and e.actor_id for e in events)

    def stored(response_id):
        rows = {}
        for table in ANSWER_TABLES:
            key = "id" if table == "survey_responses" else "response_id"
            result = db.session.execute(
                sa.text(f"SELECT * FROM {table} WHERE {key} = :i"),  # noqa: S608 - fixed table names
                {"i": response_id},
            )
            rows[table] = [{k: v for k, v in row._mapping.items() if k not in ("id", "response_id")} for row in result]
        return rows

    assert stored(first) == stored(second)
    assert stored(first)["survey_comments"] == [{"text": "Merci", "state": "pending"}]


def test_response_ids_are_random_and_do_not_follow_participation_order(create_user, questionnaire):
    insertion_order = []
    for _ in range(12):
        before = set(db.session.scalars(sa.select(SurveyResponse.id)))
        ops.submit_response(create_user(), questionnaire, _data(questionnaire))
        (new_id,) = set(db.session.scalars(sa.select(SurveyResponse.id))) - before
        insertion_order.append(new_id)
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in insertion_order)
    by_key = list(db.session.scalars(sa.select(SurveyResponse.id).order_by(SurveyResponse.id)))
    # Sorting by key does not give back the order people answered in (a 1 in 12! chance).
    assert by_key != insertion_order
    if db.engine.dialect.name == "sqlite":
        # WITHOUT ROWID: rows are stored and read in key order, not in insertion order.
        assert list(db.session.scalars(sa.select(SurveyResponse.id))) == by_key


def test_postgresql_transaction_ids_point_at_a_crowd_not_at_one_response(
    create_user, create_org, add_member, questionnaire, make_responses
):
    """Rows written by one transaction share its id (``xmin``), as does the audit event naming the respondent. In
    every answer table — responses, attributions, comments — the new rows share it with the rows of the same
    BLEND_SIZE earlier responses (attributed to the same NGO), so intersecting the tables singles nothing out."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: xmin")
    org, other = create_org(), create_org()
    make_responses(questionnaire, 30, organisations=[org], comment="earlier", state=CommentState.APPROVED)
    make_responses(questionnaire, 10, organisations=[other], comment="elsewhere")
    make_responses(questionnaire, 10)
    user = create_user()
    add_member(org, user, "volunteer")
    before = set(db.session.scalars(sa.select(SurveyResponse.id)))
    # The test runs in one transaction: a savepoint gives the answer its own (sub)transaction id, as a request has.
    with db.session.begin_nested():
        ops.submit_response(user, questionnaire, _data(questionnaire, organisations=[org], comment="Merci"))
    (new_id,) = set(db.session.scalars(sa.select(SurveyResponse.id))) - before
    xid = db.session.scalar(
        sa.text("SELECT xmin::text FROM audit_events WHERE action = 'survey.answered' AND actor_id = :u"),
        {"u": user.id},
    )

    def same_xid(table, key):
        return set(
            db.session.scalars(
                sa.text(f"SELECT {key} FROM {table} WHERE xmin::text = :x"),  # noqa: S608 - fixed names
                {"x": xid},
            )
        )

    responses = same_xid("survey_responses", "id")
    assert new_id in responses and len(responses) == ops.BLEND_SIZE + 1
    assert same_xid("survey_response_organisations", "response_id") == responses
    assert same_xid("survey_comments", "response_id") == responses
    # The crowd shares the attribution: whoever knows the respondent's NGO cannot narrow it down.
    linked = db.session.execute(
        sa.text("SELECT response_id, organisation_id FROM survey_response_organisations WHERE xmin::text = :x"),
        {"x": xid},
    ).all()
    assert {o for _r, o in linked} == {org.id}


def test_the_crowd_of_an_unattributed_answer_is_unattributed(create_user, create_org, questionnaire, make_responses):
    make_responses(questionnaire, 5, organisations=[create_org()])
    unattributed = {r.id for r in make_responses(questionnaire, 5)}
    assert set(ops._crowd(questionnaire, frozenset())) == unattributed


def test_sqlite_answer_tables_have_no_hidden_rowid(app):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite only: PostgreSQL tables have no rowid")
    for table in ANSWER_TABLES:
        with pytest.raises(sa.exc.OperationalError):
            db.session.execute(sa.text(f"SELECT rowid FROM {table}"))  # noqa: S608 - fixed table names
        db.session.rollback()


def test_audit_log_records_participation_without_any_link_to_the_answers(
    create_user, create_org, add_member, questionnaire
):
    user, org = create_user(), create_org()
    add_member(org, user, "volunteer")
    ops.submit_response(user, questionnaire, _data(questionnaire, organisations=[org], comment="Merci"))
    response = db.session.scalar(sa.select(SurveyResponse))
    events = list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action.like("survey.%"))))
    assert [e.action for e in events] == ["survey.answered"]
    # The audit event keeps the exact time (accountability): nothing on the answer side can be matched with it.
    event = events[0]
    assert event.data == {"questionnaire": questionnaire.id, "version": questionnaire.version}
    assert event.object_id == "" and event.object_type == "" and event.organisation_id is None
    serialized = repr((event.data, event.object_id, event.object_type))
    assert response.id not in serialized and response.comment.id not in serialized


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
    assert [c.id for c in ops.moderation_queue(organisation=ngo)] == [comment.id]
    assert ops.moderation_queue(organisation=other) == []


def test_a_comment_is_decided_once(create_user, create_org, make_responses, questionnaire):
    (response,) = make_responses(questionnaire, comment="Text")
    actor = create_user(platform_admin=True)
    ops.moderate_comment(response.comment, True, actor=actor)
    assert response.comment.state == CommentState.APPROVED
    with force_locale("en"), pytest.raises(ops.SurveyError, match="already"):
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
    assert len(data.rows) == 3


def test_org_report_data_is_limited_to_attributed_responses(create_org, make_responses, questionnaire):
    ngo, other = create_org(), create_org()
    make_responses(questionnaire, 3, organisations=[ngo])
    make_responses(questionnaire, 2, organisations=[ngo, other])
    make_responses(questionnaire, 4, organisations=[other])
    make_responses(questionnaire, 1)
    assert len(ops.report_data(questionnaire, organisation=ngo).rows) == 5
    assert len(ops.report_data(questionnaire, organisation=other).rows) == 6
    assert len(ops.report_data(questionnaire, organisation=None).rows) == 10


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
