"""The attacks of issue 19, replayed: each must now learn nothing (or only noise within the privacy budget).

* a reader of the SQLite write-ahead log replays it commit by commit to link participations to answers;
* an NGO admin compares the report before and after one member answers;
* puppet accounts answer identically to turn one real answer into a published cell of 5;
* an admin compares reports across scope changes, or subtracts an NGO's report from the global one.
"""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.core import dbfiles
from app.core.errors import UserError
from app.extensions import db
from app.survey import operations as ops
from app.survey import privacy
from app.survey.models import SurveyPendingAnswer, SurveyRelease, SurveyResponse, SurveyTally
from app.survey.release import release_pending
from app.survey.reports import build_report, published_counts
from tests.fixtures.app import TEST_PASSWORD, file_database_app
from tests.survey.conftest import BEFORE_OPENING


def _data(questionnaire, organisations=(), answer="4", comment=""):
    return ops.ResponseData(
        profile={q.key: q.values[0] for q in questionnaire.profile},
        answers=dict.fromkeys(questionnaire.item_keys, answer),
        consent=True,
        organisation_ids=frozenset(o.id for o in organisations),
        comment=comment,
    )


# --- 1. The write-ahead log links nothing ---


@pytest.fixture
def file_app(tmp_path, app):
    with file_database_app(tmp_path) as application:
        yield application


def _wal_frames(data: bytes) -> list[tuple[int, bool]]:
    """(page number, ends a commit) of each valid frame of a WAL file's bytes (format of sqlite.org/fileformat)."""
    if len(data) < 32:
        return []
    page_size = struct.unpack(">I", data[8:12])[0]
    salts = data[16:24]
    frames, offset = [], 32
    while offset + 24 + page_size <= len(data):
        page, commit_size = struct.unpack(">II", data[offset : offset + 8])
        if data[offset + 8 : offset + 16] != salts:
            break  # left over from before the last reset of the log
        frames.append((page, commit_size != 0))
        offset += 24 + page_size
    return frames


def _links(snapshots: list[bytes], participation_pages: set[int], answer_pages: set[int]) -> int:
    """How many times a replay of the log finds a participation and an answer written side by side: in one commit
    or in consecutive commits of the same log."""
    links = 0
    for data in snapshots:
        commits, current = [], set()
        for page, ends in _wal_frames(data):
            current.add(page)
            if ends:
                commits.append(current)
                current = set()
        for i, pages in enumerate(commits):
            window = pages | (commits[i + 1] if i + 1 < len(commits) else set())
            if window & participation_pages and window & answer_pages:
                links += 1
    return links


def _root_pages(tables: tuple[str, ...]) -> dict[str, set[int]]:
    """The pages of each table and its indexes (small tables: their root pages), from sqlite_master."""
    rows = db.session.execute(sa.text("SELECT tbl_name, rootpage FROM sqlite_master WHERE rootpage > 0")).all()
    return {t: {page for name, page in rows if name == t} for t in tables}


def _answer_as_respondents(file_app, monkeypatch, n, *, truncate=True):
    """``n`` respondents answer through the operation; every state the WAL file goes through is kept."""
    from app.auth import operations as auth_ops
    from app.organisations import operations as org_ops
    from app.organisations.models import MembershipRole, OrganisationKind
    from app.survey.questionnaire import latest
    from tests import cast

    wal = Path(f"{db.engine.url.database}-wal")
    snapshots: list[bytes] = []
    real = dbfiles.forget_log

    def watched(bind=None):
        snapshots.append(wal.read_bytes() if wal.exists() else b"")
        return real(bind) if truncate else True

    monkeypatch.setattr(ops, "forget_log", watched)
    questionnaire = latest()
    org = org_ops.create_organisation(
        org_ops.OrganisationData(name="WAL NGO", kind=OrganisationKind.SENDING_NGO, country="FR"), actor=None
    )
    db.session.commit()
    for i in range(n):
        user = auth_ops.create_user(f"wal{i}@example.org", f"Wal {i}", TEST_PASSWORD, locale="en", verified=True)
        user.created_at = BEFORE_OPENING
        membership = org_ops.add_member(org, user, MembershipRole.VOLUNTEER, actor=None)
        membership.approved_at = BEFORE_OPENING
        cast.create_mission(user, title="Mission", sending_organisation_id=org.id)
        db.session.commit()
        ops.submit_response(user, questionnaire, _data(questionnaire, [org], comment=f"answer {i}"))
    snapshots.append(wal.read_bytes() if wal.exists() else b"")
    return snapshots


def test_a_reader_of_the_write_ahead_log_links_no_answer(file_app, monkeypatch):
    snapshots = _answer_as_respondents(file_app, monkeypatch, 6)
    pages = _root_pages(("survey_participations", "survey_pending_answers"))
    assert _links(snapshots, pages["survey_participations"], pages["survey_pending_answers"]) == 0
    assert db.session.scalar(sa.select(sa.func.count(SurveyPendingAnswer.id))) == 6
    # The release job leaves an empty log behind it, and zeroes the pending rows it deleted.
    summary = release_pending()
    db.session.commit()
    assert dbfiles.forget_log()
    assert summary.answers == 6 and summary.batches == 1
    assert Path(f"{db.engine.url.database}-wal").stat().st_size == 0
    main = Path(db.engine.url.database).read_bytes()
    assert b"answer 3" in main  # released into survey_comments…
    assert main.count(b"answer 3") == 1  # …and not left behind in a free page of the pending pool


def test_the_same_reader_links_every_answer_when_the_log_is_kept(file_app, monkeypatch):
    """Control: without the truncation after each commit, the same replay finds the link (the attack works)."""
    snapshots = _answer_as_respondents(file_app, monkeypatch, 3, truncate=False)
    pages = _root_pages(("survey_participations", "survey_pending_answers"))
    assert _links(snapshots[-1:], pages["survey_participations"], pages["survey_pending_answers"]) >= 3


# --- 2. Before and after one answer ---


def test_one_answer_changes_no_report_until_a_batch_is_released(create_respondent, create_org, questionnaire):
    org = create_org()
    for _ in range(5):
        ops.submit_response(create_respondent(org), questionnaire, _data(questionnaire, [org]))
    release_pending()
    before = ops.report_data(questionnaire, organisation=org)
    assert before.updated_at is not None and before.tally["n"] >= 0

    ops.submit_response(create_respondent(org), questionnaire, _data(questionnaire, [org], answer="1"))
    assert release_pending().answers == 0  # one answer is not a batch
    after = ops.report_data(questionnaire, organisation=org)
    assert after.tally == before.tally and after.updated_at == before.updated_at
    everyone = ops.report_data(questionnaire, organisation=None)
    assert everyone.tally == before.tally  # the platform admin's report does not move either

    for _ in range(4):
        ops.submit_response(create_respondent(org), questionnaire, _data(questionnaire, [org]))
    assert release_pending().answers == 5  # the batch: at least 5 answers at once
    assert db.session.scalar(sa.select(sa.func.count(SurveyResponse.id))) == 10
    assert db.session.scalar(sa.select(sa.func.count(SurveyRelease.id))) == 2


def test_a_release_publishes_noise_and_spends_the_budget(app, create_respondent, create_org, questionnaire):
    """The published tally is not the exact one, each release is rho-zCDP by OpenDP's own accounting, and a set
    whose budget is spent is not released again."""
    org = create_org()
    rho, budget = app.config["SURVEY_RELEASE_RHO"], app.config["SURVEY_PRIVACY_BUDGET_RHO"]
    releases = int(budget / rho)
    exact = None
    for _ in range(releases + 1):
        answers = [_data(questionnaire, [org]) for _ in range(5)]
        for data in answers:
            ops.submit_response(create_respondent(org), questionnaire, data)
        summary = release_pending()
        tally = db.session.get(SurveyTally, (questionnaire.id, questionnaire.version, str(org.id)))
        if exact is None:
            exact = privacy.exact_tally(questionnaire, [(a.profile, a.answers) for a in answers])
            assert privacy.flatten(tally.counts) != privacy.flatten(exact)
    assert summary.answers == 0 and summary.held == [f"{questionnaire.ref}:{org.id}"]
    assert tally.rho_spent == pytest.approx(releases * rho) and tally.rho_spent <= budget + 1e-9
    measurement = privacy._mechanism(questionnaire, rho)
    assert measurement.map(privacy.l2_sensitivity(questionnaire)) <= rho * (1 + 1e-6)


# --- 3. Puppets ---


def test_puppet_accounts_cannot_answer_or_count(create_user, create_respondent, create_org, add_member, questionnaire):
    org = create_org()
    real = create_respondent(org)
    ops.submit_response(real, questionnaire, _data(questionnaire, [org], answer="1"))
    # Four puppets made today (after the opening): they cannot answer at all.
    for _ in range(4):
        puppet = create_user()
        add_member(org, puppet, "volunteer")
        with pytest.raises(UserError):
            ops.submit_response(puppet, questionnaire, _data(questionnaire, [org], answer="1"))
    # Old accounts freshly made members, or members with no engagement recorded: not counted for the NGO.
    for _ in range(4):
        old = create_respondent()
        add_member(org, old, "volunteer")
        assert ops.attributable_organisations(old, questionnaire) == []
        with pytest.raises(UserError):
            ops.submit_response(old, questionnaire, _data(questionnaire, [org], answer="1"))
    assert release_pending().answers == 0
    report = build_report(questionnaire, ops.report_data(questionnaire, organisation=org).tally)
    assert not report.publishable and published_counts(report) == []


# --- 4. Scope changes and global minus NGO ---


def test_every_scope_is_a_sum_of_noisy_tallies(create_respondent, create_org, questionnaire):
    """Global minus NGO, NGO with minus without a second NGO: each difference is a sum of published noisy tallies of
    whole attribution sets — the same numbers anyone could add up — never a count computed from answers."""
    a, b = create_org(), create_org()
    for organisations in ([a], [a, b], [b], []):
        for _ in range(5):
            ops.submit_response(create_respondent(*organisations), questionnaire, _data(questionnaire, organisations))
    release_pending()
    tallies = {
        t.attribution: t.counts
        for t in db.session.scalars(
            sa.select(SurveyTally).where(SurveyTally.questionnaire_version == questionnaire.version)
        )
    }
    assert set(tallies) == {str(a.id), ",".join(map(str, sorted((a.id, b.id)))), str(b.id), ""}

    def n(**scope):
        return ops.report_data(questionnaire, **scope).tally["n"]

    both = ",".join(map(str, sorted((a.id, b.id))))
    assert n(organisation=None) - n(organisation=a) == tallies[str(b.id)]["n"] + tallies[""]["n"]
    assert n(organisation=a) - n(organisation=a, exclude=frozenset({b.id})) == tallies[both]["n"]
    # and every one of those tallies was released within the budget
    spent = db.session.scalars(sa.select(SurveyTally.rho_spent)).all()
    assert spent and max(spent) <= db.session.get(SurveyTally, (questionnaire.id, questionnaire.version, "")).rho_spent


# --- 5. Comments ---


def test_comments_lose_addresses_and_phone_numbers():
    text = "Call me on +33 6 12 34 56 78 or 06.12.34.56.78, write to rosa.r@example.org. Mission 2019 in Lima."
    cleaned = ops.clean_comment(text)
    assert "example.org" not in cleaned and "12 34" not in cleaned and "56.78" not in cleaned
    assert "Mission 2019 in Lima." in cleaned


def test_moderators_see_comments_only_in_groups_of_five_or_late(app, create_respondent, create_org, questionnaire):
    from datetime import timedelta

    from app.core.db import utcnow

    org = create_org()
    for i in range(5):
        ops.submit_response(
            create_respondent(org), questionnaire, _data(questionnaire, [org], comment=f"comment {i}" if i < 3 else "")
        )
    release_pending()
    queue = ops.moderation_queue(organisation=org)
    assert queue.comments == [] and queue.waiting == 3
    release = db.session.scalar(sa.select(SurveyRelease))
    release.released_at = utcnow() - timedelta(days=app.config["SURVEY_COMMENT_DELAY_DAYS"] + 1)
    db.session.flush()
    assert len(ops.moderation_queue(organisation=org).comments) == 3


def test_the_release_command_publishes_ready_batches(app, create_respondent, create_org, questionnaire):
    org = create_org()
    for _ in range(5):
        ops.submit_response(create_respondent(org), questionnaire, _data(questionnaire, [org]))
    result = app.test_cli_runner().invoke(args=["survey", "release"])
    assert result.exit_code == 0, result.output
    assert "released 5 answers in 1 batches" in result.output
    assert db.session.scalar(sa.select(sa.func.count(SurveyPendingAnswer.id))) == 0
    assert app.test_cli_runner().invoke(args=["survey", "release"]).output.startswith("released 0 answers")
