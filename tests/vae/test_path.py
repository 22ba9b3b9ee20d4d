"""The VAE path: guarded status moves with their dates, deadlines and reminders, the jury's outcome."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from app.core.errors import UserError
from tests.vae.conftest import walk

TODAY = date.today()


def test_project_targets_every_bloc_by_default_and_some_on_request(vaeworld, make_project):
    whole = make_project()
    assert whole.bloc_codes == ["B1", "B2"] and whole.whole_certification
    some = make_project(blocs=("B2",))
    assert some.bloc_codes == ["B2"] and not some.whole_certification


def test_project_refuses_unknown_targets_blocs_and_future_dates(vaeworld, make_project, db_session):
    from app.frameworks.models import Framework, FrameworkKind
    from app.vae import operations as ops
    from app.vae.models import VaeRoute

    with pytest.raises(UserError) as error:
        make_project(blocs=("B9",))
    assert error.value.field == "bloc_codes"
    with pytest.raises(UserError) as error:
        make_project(started_on=TODAY + timedelta(days=1))
    assert error.value.field == "started_on"
    own = db_session.get(Framework, vaeworld.version.framework_id)
    assert own.kind == FrameworkKind.OWN
    with pytest.raises(UserError) as error:
        ops.create_project(vaeworld.volunteer, ops.ProjectData(own.id, VaeRoute.LIVRET1, TODAY))
    assert error.value.field == "framework_id"


def test_the_path_moves_step_by_step_with_dates(vaeworld, make_project):
    from app.vae import operations as ops
    from app.vae.models import VaeEvent, VaeStatus

    project = make_project()
    v = vaeworld.volunteer
    walk(
        project,
        v,
        (VaeStatus.FEASIBILITY_SENT, TODAY - timedelta(days=300)),
        (VaeStatus.ADMISSIBLE, TODAY - timedelta(days=250)),
        (VaeStatus.PATH_STARTED, TODAY - timedelta(days=200)),
        (VaeStatus.VALIDATION_SENT, TODAY - timedelta(days=20)),
        (VaeStatus.JURY_SCHEDULED, TODAY + timedelta(days=30)),
    )
    assert project.status == VaeStatus.JURY_SCHEDULED
    assert project.admissibility_on == TODAY - timedelta(days=250)
    assert project.jury_on == TODAY + timedelta(days=30)
    kinds = [e.kind for e in ops.timeline(project)]
    assert kinds.count("status") == 5 and kinds[-1] == "created"
    assert all(isinstance(e, VaeEvent) for e in ops.timeline(project))


def test_moves_the_path_does_not_allow_are_refused(vaeworld, make_project):
    from app.vae import operations as ops
    from app.vae.models import VaeStatus

    project = make_project()
    with pytest.raises(UserError):  # skipping the admissibility
        ops.advance(project, VaeStatus.VALIDATION_SENT, actor=vaeworld.volunteer, on=TODAY, expected=project.status)
    with pytest.raises(UserError):  # the decision has its own form
        ops.advance(project, VaeStatus.DECIDED, actor=vaeworld.volunteer, on=TODAY, expected=project.status)
    with pytest.raises(UserError) as error:  # no step in the future but the jury
        ops.advance(
            project,
            VaeStatus.FEASIBILITY_SENT,
            actor=vaeworld.volunteer,
            on=TODAY + timedelta(1),
            expected=project.status,
        )
    assert error.value.field == "on"
    with pytest.raises(UserError) as error:  # nor before the previous step
        ops.advance(
            project,
            VaeStatus.FEASIBILITY_SENT,
            actor=vaeworld.volunteer,
            on=project.started_on - timedelta(1),
            expected=project.status,
        )
    assert error.value.field == "on"
    assert project.status == VaeStatus.STARTED


def test_a_stale_move_loses_with_already_moved(vaeworld, make_project):
    from app.vae import operations as ops
    from app.vae.models import VaeStatus

    project = make_project()
    ops.advance(project, VaeStatus.FEASIBILITY_SENT, actor=vaeworld.volunteer, on=TODAY, expected=VaeStatus.STARTED)
    # A second tab still showing "started" asks for the same move.
    with pytest.raises(ops.AlreadyMoved) as error:
        ops.advance(project, VaeStatus.ABANDONED, actor=vaeworld.volunteer, on=TODAY, expected=VaeStatus.STARTED)
    assert error.value.status == VaeStatus.FEASIBILITY_SENT
    assert project.status == VaeStatus.FEASIBILITY_SENT and project.abandoned_on is None


def test_a_refused_admissibility_may_be_sent_again(vaeworld, make_project):
    from app.vae.models import VaeStatus

    project = make_project()
    walk(
        project,
        vaeworld.volunteer,
        (VaeStatus.FEASIBILITY_SENT, TODAY - timedelta(days=100)),
        (VaeStatus.INADMISSIBLE, TODAY - timedelta(days=50)),
        (VaeStatus.FEASIBILITY_SENT, TODAY - timedelta(days=10)),
    )
    assert project.status == VaeStatus.FEASIBILITY_SENT and project.feasibility_sent_on == TODAY - timedelta(10)


def test_add_months_keeps_the_end_of_month():
    from app.vae.operations import add_months

    assert add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)
    assert add_months(date(2026, 1, 15), 6) == date(2026, 7, 15)
    assert add_months(date(2026, 3, 1), 36) == date(2029, 3, 1)


def test_france_vae_path_must_start_within_six_months_of_recevabilite(vaeworld, make_project):
    from app.vae import operations as ops
    from app.vae.models import VaeRoute, VaeStatus

    admissible_on = TODAY - timedelta(days=10)
    project = walk(
        make_project(),
        vaeworld.volunteer,
        (VaeStatus.FEASIBILITY_SENT, TODAY - timedelta(days=60)),
        (VaeStatus.ADMISSIBLE, admissible_on),
    )
    keys = {d.key: d.due for d in ops.deadlines(project)}
    assert keys["start_path"] == ops.add_months(admissible_on, 6)
    assert keys["validation_due"] == ops.add_months(admissible_on, 36)
    assert ops.next_deadline(project).key == "start_path"
    # Livret 1: no 6-month rule.
    livret = walk(
        make_project(route=VaeRoute.LIVRET1),
        vaeworld.volunteer,
        (VaeStatus.FEASIBILITY_SENT, TODAY - timedelta(days=60)),
        (VaeStatus.ADMISSIBLE, admissible_on),
    )
    assert [d.key for d in ops.deadlines(livret)] == ["validation_due"]
    # Once the path started, the 6-month deadline is met and leaves the list.
    walk(project, vaeworld.volunteer, (VaeStatus.PATH_STARTED, TODAY))
    assert [d.key for d in ops.deadlines(project)] == ["validation_due"]


def test_reminders_go_out_once_30_and_7_days_before(vaeworld, make_project, outbox, db_session):
    from app.vae import operations as ops
    from app.vae.models import VaeStatus

    admissible_on = TODAY - timedelta(days=10)
    project = walk(
        make_project(),
        vaeworld.volunteer,
        (VaeStatus.FEASIBILITY_SENT, TODAY - timedelta(days=60)),
        (VaeStatus.ADMISSIBLE, admissible_on),
    )
    ops.invite_companion(project, actor=vaeworld.volunteer, email=vaeworld.adviser.email)
    due = ops.add_months(admissible_on, 6)
    assert ops.send_reminders(due - timedelta(days=40)) == 0
    assert ops.send_reminders(due - timedelta(days=29)) == 1
    assert ops.send_reminders(due - timedelta(days=20)) == 0  # already sent
    assert ops.send_reminders(due - timedelta(days=6)) == 1
    assert ops.send_reminders(due - timedelta(days=1)) == 0
    assert ops.send_reminders(due + timedelta(days=1)) == 0  # past: nothing
    db_session.commit()
    reminders = [m for m in outbox if "deadline" in m.subject or "échéance" in m.subject]
    # Two reminders, each to the volunteer (English) and the companion (French).
    assert sorted(m.recipient for m in reminders) == sorted([vaeworld.volunteer.email, vaeworld.adviser.email] * 2)
    french = next(m for m in reminders if m.recipient == vaeworld.adviser.email)
    assert "6 mois" in french.body and "Valentine Vae" in french.body
    assert [e.kind for e in ops.timeline(project)].count("reminder") == 2


def _to_jury(project, actor):
    from app.vae.models import VaeStatus

    return walk(
        project,
        actor,
        (VaeStatus.FEASIBILITY_SENT, TODAY - timedelta(days=300)),
        (VaeStatus.ADMISSIBLE, TODAY - timedelta(days=250)),
        (VaeStatus.VALIDATION_SENT, TODAY - timedelta(days=20)),
        (VaeStatus.JURY_SCHEDULED, TODAY - timedelta(days=2)),
    )


def test_total_validation_adds_every_bloc_to_the_portfolio(vaeworld, make_project):
    from app.vae import operations as ops
    from app.vae.models import VaeOutcome, VaeStatus

    project = _to_jury(make_project(), vaeworld.volunteer)
    following = ops.record_outcome(
        project, ops.OutcomeData(VaeOutcome.TOTAL, TODAY, "Certificateur fictif"), actor=vaeworld.volunteer
    )
    assert following is None
    assert project.status == VaeStatus.DECIDED and project.acquired_bloc_codes == ["B1", "B2"]
    acquired = ops.acquired_blocs(vaeworld.volunteer)
    assert [(b.bloc_code, b.certifier) for b in sorted(acquired, key=lambda b: b.bloc_code)] == [
        ("B1", "Certificateur fictif"),
        ("B2", "Certificateur fictif"),
    ]
    assert acquired[0].title["fr"].startswith("Bloc")
    with pytest.raises(UserError):  # decided: nothing more to record
        ops.record_outcome(project, ops.OutcomeData(VaeOutcome.TOTAL, TODAY, "X"), actor=vaeworld.volunteer)


def test_partial_validation_turns_the_missing_blocs_into_the_next_plan(vaeworld, make_project):
    from app.vae import operations as ops
    from app.vae.models import VaeOutcome, VaeStatus

    project = _to_jury(make_project(), vaeworld.volunteer)
    for bad in ((), ("B1", "B2"), ("B7",)):
        with pytest.raises(UserError) as error:
            ops.record_outcome(project, ops.OutcomeData(VaeOutcome.PARTIAL, TODAY, "C", bad), actor=vaeworld.volunteer)
        assert error.value.field == "acquired"
    following = ops.record_outcome(
        project, ops.OutcomeData(VaeOutcome.PARTIAL, TODAY, "Certificateur", ("B2",)), actor=vaeworld.volunteer
    )
    assert [b.bloc_code for b in ops.acquired_blocs(vaeworld.volunteer)] == ["B2"]
    assert following.bloc_codes == ["B1"] and following.previous_id == project.id
    assert following.status == VaeStatus.STARTED and following.started_on == TODAY
    assert following.framework_version_id == project.framework_version_id


def test_refusal_adds_nothing(vaeworld, make_project):
    from app.vae import operations as ops
    from app.vae.models import VaeOutcome

    project = _to_jury(make_project(), vaeworld.volunteer)
    assert (
        ops.record_outcome(project, ops.OutcomeData(VaeOutcome.REFUSAL, TODAY, "C"), actor=vaeworld.volunteer) is None
    )
    assert ops.acquired_blocs(vaeworld.volunteer) == []
    assert project.outcome == VaeOutcome.REFUSAL


def test_outcome_needs_a_scheduled_jury_and_a_certifier(vaeworld, make_project):
    from app.vae import operations as ops
    from app.vae.models import VaeOutcome

    project = make_project()
    with pytest.raises(UserError):
        ops.record_outcome(project, ops.OutcomeData(VaeOutcome.TOTAL, TODAY, "C"), actor=vaeworld.volunteer)
    _to_jury(project, vaeworld.volunteer)
    with pytest.raises(UserError) as error:
        ops.record_outcome(project, ops.OutcomeData(VaeOutcome.TOTAL, TODAY, "  "), actor=vaeworld.volunteer)
    assert error.value.field == "certifier"


def test_remind_command_sends_and_commits(app, vaeworld, make_project, outbox):
    from app.vae import operations as ops
    from app.vae.models import VaeStatus

    project = walk(
        make_project(),
        vaeworld.volunteer,
        (VaeStatus.FEASIBILITY_SENT, TODAY - timedelta(days=60)),
        (VaeStatus.ADMISSIBLE, TODAY - timedelta(days=10)),
    )
    due = ops.add_months(project.admissibility_on, 6)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["vae", "remind", "--today", (due - timedelta(days=5)).isoformat()])
    assert result.exit_code == 0 and "sent 1 reminders" in result.output
    assert [m.recipient for m in outbox if "deadline" in m.subject] == [vaeworld.volunteer.email]
    result = runner.invoke(args=["vae", "remind", "--today", (due - timedelta(days=4)).isoformat()])
    assert "sent 0 reminders" in result.output
