"""The gap rule at the bloc's level, comment threads, bloc drafts with history, the sworn statement, companions."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from app.core.errors import UserError


def _statuses(project):
    from app.vae import gap

    analysis = gap.analyse(project)
    return {b.code: (b.status, {c.node.code: c.status for c in b.competences}) for b in analysis.blocs}, analysis


def test_gap_rule_per_competence_and_bloc(vaeworld, make_project):
    """Own C1 and C2 validated at level 2 (required 2), own C3 only claimed.
    B1.C1 is 'close' to C1 → covered; B1.C2 only 'related' to C2 → partly; B1.C3 linked to nothing → not covered;
    B2.C1 'exact' to C3, which is claimed but not validated → partly."""
    statuses, analysis = _statuses(make_project())
    assert statuses == {
        "B1": ("partly", {"B1.C1": "covered", "B1.C2": "partly", "B1.C3": "not_covered"}),
        "B2": ("partly", {"B2.C1": "partly"}),
    }
    b1 = analysis.blocs[0]
    assert b1.counts == {"covered": 1, "partly": 1, "not_covered": 1} and b1.percent_covered == 33
    # Which experiences could evidence the gaps: the mission whose claims touch them; the unused mission is listed.
    assert b1.competences[1].experience_ids == [vaeworld.mission.id]
    assert [e.title for e in analysis.unused_missions] == ["Logistics in Chad"]


def test_gap_rule_requires_the_bloc_level(vaeworld, make_project):
    project = make_project()
    project.framework_version.certification = {"code": "RNCP99998", "required_level": 3}
    statuses, _ = _statuses(project)
    assert statuses["B1"][1]["B1.C1"] == "partly"  # validated at 2, 3 required
    project.framework_version.certification = {"required_level": 3, "required_levels": {"B1": 2}}
    statuses, analysis = _statuses(project)
    assert statuses["B1"][1]["B1.C1"] == "covered" and analysis.blocs[0].required == 2


def test_gap_rule_bloc_covered_when_all_competences_are(vaeworld, make_project, db_session):
    from tests import cast as worlds

    claims = worlds.create_claims(vaeworld.volunteer, vaeworld.other_mission, vaeworld.nodes[2:3])
    other_ngo_submission = worlds.submit_claims(vaeworld.volunteer, vaeworld.other_mission, vaeworld.ngo, claims)
    worlds.validate_everything(other_ngo_submission, vaeworld.trainer)
    statuses, _ = _statuses(make_project(blocs=("B2",)))
    assert statuses == {"B2": ("covered", {"B2.C1": "covered"})}


def test_comment_threads_are_per_bloc_replied_resolved_and_reopened(vaeworld, make_project):
    from app.vae import operations as ops

    project = make_project()
    ops.invite_companion(project, actor=vaeworld.volunteer, email=vaeworld.adviser.email)
    first = ops.add_comment(project, actor=vaeworld.adviser, body="Décrivez le diagnostic.", bloc_code="B1")
    reply = ops.add_comment(project, actor=vaeworld.volunteer, body="C'est fait.", parent=first)
    nested = ops.add_comment(project, actor=vaeworld.adviser, body="Merci", parent=reply)
    assert nested.parent_id == first.id and nested.bloc_code == "B1"  # replies go to the thread's first comment
    ops.resolve_thread(project, first, actor=vaeworld.adviser)
    assert first.resolved_at is not None and first.resolved_by_id == vaeworld.adviser.id
    threads = ops.threads(project)
    assert [t.first.id for t in threads["B1"]] == [first.id]
    assert [r.body for r in threads["B1"][0].replies] == ["C'est fait.", "Merci"]
    ops.add_comment(project, actor=vaeworld.volunteer, body="Encore une question", parent=first)
    assert first.resolved_at is None  # a reply reopens it
    with pytest.raises(UserError):
        ops.add_comment(project, actor=vaeworld.volunteer, body="   ", bloc_code="B1")
    with pytest.raises(UserError):
        ops.add_comment(project, actor=vaeworld.volunteer, body="x", bloc_code="B9")
    with pytest.raises(UserError):
        ops.resolve_thread(project, reply, actor=vaeworld.volunteer)  # only a thread's first comment
    kinds = [e.kind for e in ops.timeline(project)]
    assert kinds.count("comment") == 4 and kinds.count("comment_resolved") == 1


def _draft(**fields):
    from app.vae import operations as ops

    return ops.DraftData(fields=fields)


def test_drafts_keep_a_history_and_a_word_count(vaeworld, make_project):
    from app.vae import operations as ops

    project = make_project()
    draft = ops.save_draft(project, "B1", _draft(context="Une ONG au Pérou"), actor=vaeworld.volunteer)
    assert draft.revision == 1 and draft.word_count == 4
    same = ops.save_draft(project, "B1", _draft(context="Une ONG au Pérou"), actor=vaeworld.volunteer)
    assert same.revision == 1  # nothing changed: no new revision
    ops.save_draft(
        project,
        "B1",
        ops.DraftData(
            fields={"context": "Une ONG au Pérou", "activities": "J'ai animé le comité"},
            claim_ids=(vaeworld.claims[0].id,),
            evidence_ids=(vaeworld.evidence.id,),
            autosave=True,
        ),
        actor=vaeworld.volunteer,
    )
    history = ops.draft_history(draft)
    assert [(r.revision, r.autosave) for r in history] == [(2, True), (1, False)]
    assert history[1].fields["context"] == "Une ONG au Pérou" and not history[1].fields["activities"]
    checklist = {key: done for key, _label, done in ops.checklist(draft)}
    assert checklist["situations"] and checklist["evidence"] and checklist["context"] and not checklist["length"]
    # Autosaves do not flood the timeline.
    assert [e.kind for e in ops.timeline(project)].count("draft") == 1


def test_drafts_refuse_what_is_not_the_volunteers(vaeworld, make_project, create_user):
    from app.vae import operations as ops
    from tests import cast as worlds

    project = make_project()
    other = create_user("someone@example.org")
    foreign = worlds.store_evidence(other, b"%PDF-1.4 x")
    with pytest.raises(UserError) as error:
        ops.save_draft(project, "B1", ops.DraftData(fields={}, evidence_ids=(foreign.id,)), actor=vaeworld.volunteer)
    assert error.value.field == "evidence_ids"
    with pytest.raises(UserError):
        ops.save_draft(project, "B9", _draft(), actor=vaeworld.volunteer)
    with pytest.raises(UserError) as error:
        ops.save_draft(project, "B1", _draft(context="x" * 20_001), actor=vaeworld.volunteer)
    assert error.value.field == "context"


def test_sworn_statement_is_signed_by_the_candidate_and_cleared_by_a_change(vaeworld, make_project):
    from app.vae import operations as ops

    project = make_project()
    with pytest.raises(UserError) as error:
        ops.sign_statement(project, actor=vaeworld.volunteer, name="Valentine Vae", accepted=False)
    assert error.value.field == "accepted"
    with pytest.raises(UserError) as error:
        ops.sign_statement(project, actor=vaeworld.volunteer, name="Someone Else", accepted=True)
    assert error.value.field == "name"
    with pytest.raises(UserError):
        ops.sign_statement(project, actor=vaeworld.adviser, name="Adèle Adviser", accepted=True)
    ops.sign_statement(project, actor=vaeworld.volunteer, name="  valentine   VAE ", accepted=True)
    assert project.sworn_at is not None and project.sworn_name == "Valentine Vae"
    ops.save_draft(project, "B2", _draft(results="Des résultats"), actor=vaeworld.volunteer)
    assert project.sworn_at is None and project.sworn_name == ""


def test_companion_access_follows_the_share(vaeworld, make_project, db_session):
    from app.sharing import operations as share_ops
    from app.vae import operations as ops

    project = make_project()
    assert not project.can_view(vaeworld.adviser)
    share = ops.invite_companion(project, actor=vaeworld.volunteer, email=vaeworld.adviser.email, days=30)
    assert share.include_documents and share.whole_portfolio
    assert project.can_view(vaeworld.adviser) and not project.can_manage(vaeworld.adviser)
    assert not project.can_view(vaeworld.stranger)
    with pytest.raises(UserError):
        ops.invite_companion(project, actor=vaeworld.volunteer, email=vaeworld.adviser.email)
    with pytest.raises(UserError) as error:
        ops.invite_companion(project, actor=vaeworld.volunteer, email=vaeworld.volunteer.email)
    assert error.value.field == "email"
    rows = ops.projects_for_companion(vaeworld.adviser)
    assert [(p.id, s.id) for p, s, _d in rows] == [(project.id, share.id)]
    # The companion's views go to the share's access log.
    ops.record_companion_view(project, vaeworld.adviser, "vae")
    log = share_ops.access_log(share)
    assert [(row.viewer_id, row.what) for row in log] == [(vaeworld.adviser.id, "vae")]
    # Expiry ends the access.
    from app.core.db import utcnow

    share.expires_at = utcnow() - timedelta(seconds=1)
    assert not project.can_view(vaeworld.adviser) and ops.projects_for_companion(vaeworld.adviser) == []
    share.expires_at = utcnow() + timedelta(days=1)
    assert project.can_view(vaeworld.adviser)
    # Revocation too.
    ops.end_companion(project, share, actor=vaeworld.volunteer)
    assert share.revoked_at is not None and not project.can_view(vaeworld.adviser)
    assert "companion_ended" in [e.kind for e in ops.timeline(project)]


def test_companion_list_orders_by_next_deadline(vaeworld, make_project, create_user):
    from app.vae import operations as ops
    from app.vae.models import VaeStatus
    from tests.vae.conftest import walk

    today = date.today()
    other = create_user("second@example.org", name="Second Candidate")
    later = make_project()
    sooner = make_project(other)
    walk(later, vaeworld.volunteer, (VaeStatus.FEASIBILITY_SENT, today - timedelta(days=5)))
    walk(sooner, other, (VaeStatus.FEASIBILITY_SENT, today - timedelta(days=50)))
    idle = make_project()
    for project, owner in ((later, vaeworld.volunteer), (sooner, other), (idle, vaeworld.volunteer)):
        ops.invite_companion(project, actor=owner, email=vaeworld.adviser.email)
    rows = ops.projects_for_companion(vaeworld.adviser)
    assert [p.id for p, _s, _d in rows] == [sooner.id, later.id, idle.id]
    assert rows[0][2].key == "admissibility_answer" and rows[2][2] is None


def test_the_bloc_page_proposes_missions_the_suggestion_engine_finds_for_the_gaps(app, vaeworld, login, db_session):
    """Real text: the example RNCP certification as shipped, and a mission written in plain French about logistics.
    Its words lead the engine to the logistics competence of bloc 2 (not covered: no claim touches it), and not to
    the competences the text says nothing about."""
    from pathlib import Path

    from app.frameworks import operations as framework_ops
    from app.frameworks.importers.yaml_format import parse_files
    from app.frameworks.models import Framework
    from app.vae import gap
    from app.vae import operations as ops
    from app.vae.models import VaeRoute
    from tests import cast

    path = Path(app.root_path).parent / "competencies" / "example-rncp-coordination-projets-solidarite.yaml"
    frameworks, _crosswalks = parse_files([path])
    framework_ops.import_batch(frameworks, make_current=True)
    framework = db_session.scalar(
        sa.select(Framework).where(Framework.slug == "example-rncp-coordination-projets-solidarite")
    )
    logistics = cast.create_mission(
        vaeworld.volunteer,
        title="Logisticien à Gao",
        activities="J'ai organisé la logistique du projet : les achats de matériel, les transports vers les "
        "villages et la gestion des stocks de l'entrepôt, selon les procédures de l'ONG.",
        results="Les stocks étaient suivis chaque semaine et aucun transport n'a manqué.",
    )
    project = ops.create_project(
        vaeworld.volunteer,
        ops.ProjectData(framework_id=framework.id, route=VaeRoute.FRANCE_VAE, started_on=date.today()),
    )
    analysis = gap.analyse(project)
    bloc = next(b for b in analysis.blocs if b.code == "RNCP00000BC02")
    gap.suggest_experiences(project, analysis, bloc)
    suggested = {item.node.code: item.suggested_ids for item in bloc.competences}
    assert logistics.id in suggested["RNCP00000BC02.C3"]
    assert logistics.id not in suggested["RNCP00000BC02.C4"]  # safety rules: the text says nothing of them
    assert all(len(ids) <= gap.SUGGEST_PER_GAP for ids in suggested.values())
    client = app.test_client()
    login(client, vaeworld.volunteer)
    page = client.get(f"/vae/{project.id}/blocs/RNCP00000BC02").get_data(as_text=True)
    assert "Suggested from the words of your missions:" in page and "Logisticien à Gao" in page
