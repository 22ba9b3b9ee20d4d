"""VAE projects in the personal data export, and what erasure does to them (the companion's side included)."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from tests.vae.conftest import walk

TODAY = date.today()


def _decided_project_with_a_companion(vaeworld, make_project):
    from app.vae import operations as ops
    from app.vae.models import VaeOutcome, VaeStatus

    project = make_project()
    ops.invite_companion(project, actor=vaeworld.volunteer, email=vaeworld.adviser.email)
    thread = ops.add_comment(project, actor=vaeworld.adviser, body="Décrivez le diagnostic.", bloc_code="B1")
    ops.add_comment(project, actor=vaeworld.volunteer, body="C'est fait.", parent=thread)
    ops.save_draft(project, "B1", ops.DraftData(fields={"context": "Une ONG au Pérou"}), actor=vaeworld.volunteer)
    ops.save_draft(
        project,
        "B1",
        ops.DraftData(
            fields={"context": "Une ONG au Pérou", "activities": "J'ai animé le comité"},
            claim_ids=(vaeworld.claims[0].id,),
            evidence_ids=(vaeworld.evidence.id,),
        ),
        actor=vaeworld.volunteer,
    )
    walk(
        project,
        vaeworld.volunteer,
        (VaeStatus.FEASIBILITY_SENT, TODAY - timedelta(days=300)),
        (VaeStatus.ADMISSIBLE, TODAY - timedelta(days=250)),
        (VaeStatus.VALIDATION_SENT, TODAY - timedelta(days=20)),
        (VaeStatus.JURY_SCHEDULED, TODAY - timedelta(days=5)),
    )
    following = ops.record_outcome(
        project,
        ops.OutcomeData(VaeOutcome.PARTIAL, TODAY, "Certificateur fictif", acquired=("B1",)),
        actor=vaeworld.volunteer,
    )
    return project, following


def test_the_export_holds_the_volunteers_vae_projects(vaeworld, make_project):
    from app.portability.export import build_export

    project, following = _decided_project_with_a_companion(vaeworld, make_project)
    document, _files = build_export(vaeworld.volunteer)
    first, second = document["vae_projects"]
    assert (first["framework"], first["framework_version"], first["route"]) == ("rncp-vae-test", "1", "france_vae")
    assert first["blocs"] == ["B1", "B2"] and first["status"] == "decided" and first["outcome"] == "partial"
    assert first["jury_on"] == (TODAY - timedelta(days=5)).isoformat() and first["certifier"] == "Certificateur fictif"
    assert [b["bloc"] for b in first["acquired_blocs"]] == ["B1"] and first["acquired_blocs"][0]["title"]["fr"]
    assert second["continues"] == "v1" and second["blocs"] == ["B2"]
    comments = first["comments"]
    assert [(c["by"], c["body"], c["reply_to"]) for c in comments] == [
        ("companion", "Décrivez le diagnostic.", None),
        ("self", "C'est fait.", comments[0]["ref"]),
    ]
    assert comments[0]["author_name"] == "Adèle Adviser" and comments[0]["bloc"] == "B1"
    (draft,) = first["drafts"]
    assert draft["bloc"] == "B1" and draft["revision"] == 2
    assert draft["fields"]["activities"] == "J'ai animé le comité"
    # Claims and evidence by their refs in this same export, never database ids.
    claim_ref = next(
        c["ref"]
        for x in document["experiences"]
        for c in x["claims"]
        if c["node_code"] == vaeworld.claims[0].node.code and c["situation"] == vaeworld.claims[0].situation
    )
    assert draft["claims"] == [claim_ref] and draft["evidence"] == ["e1"]
    assert [r["revision"] for r in draft["revisions"]] == [1, 2] and draft["revisions"][0]["claims"] == []
    kinds = [e["kind"] for e in first["timeline"]]
    assert kinds[0] == "created" and {"companion_invited", "comment", "draft", "status", "outcome"} <= set(kinds)
    # The companion's writing on another's project is in their own export, not the project itself.
    adviser_document, _ = build_export(vaeworld.adviser)
    assert adviser_document["vae_projects"] == []
    assert [c["body"] for c in adviser_document["records"]["vae_comments"]] == ["Décrivez le diagnostic."]
    assert {e["kind"] for e in adviser_document["records"]["vae_events"]} == {"comment"}
    assert "author_id" not in adviser_document["records"]["vae_comments"][0]
    assert project.id and following is not None


def test_an_import_leaves_vae_projects_out_and_the_export_stays_comparable(vaeworld, make_project):
    from app.portability.export import NOT_RESTORED, build_export, comparable

    _decided_project_with_a_companion(vaeworld, make_project)
    document, _files = build_export(vaeworld.volunteer)
    assert "vae_projects" in NOT_RESTORED and "vae_projects" not in comparable(document)


def test_erasure_removes_the_projects_and_forgets_the_companion(vaeworld, make_project, db_session):
    from app.portability.erasure import erase_user
    from app.vae.models import AcquiredBloc, VaeComment, VaeEvent, VaeProject

    project, _following = _decided_project_with_a_companion(vaeworld, make_project)
    project_id = project.id
    # The companion is erased: their comment stays in the volunteer's thread, naming nobody.
    erase_user(vaeworld.adviser)
    db_session.flush()
    comments = db_session.scalars(
        sa.select(VaeComment).where(VaeComment.project_id == project_id).order_by(VaeComment.id)
    ).all()
    assert (comments[0].body, comments[0].author_id) == ("Décrivez le diagnostic.", None)
    invited = db_session.scalars(
        sa.select(VaeEvent).where(VaeEvent.project_id == project_id, VaeEvent.kind == "companion_invited")
    ).one()
    assert "email" not in invited.data and "vaeadviser" not in str(invited.data)
    assert all(
        e.actor_id is None
        for e in db_session.scalars(sa.select(VaeEvent).where(VaeEvent.kind == "comment"))
        if e.data.get("comment_id") == comments[0].id
    )
    # The volunteer is erased: their projects and acquired blocs go.
    erase_user(vaeworld.volunteer)
    db_session.flush()
    assert db_session.scalar(sa.select(sa.func.count()).select_from(VaeProject)) == 0
    assert db_session.scalar(sa.select(sa.func.count()).select_from(AcquiredBloc)) == 0
