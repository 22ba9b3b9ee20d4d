"""The demo seed: a VAE project in progress for the demo volunteer, with the demo adviser as companion."""

from __future__ import annotations


def test_demo_seed_has_a_vae_project_with_a_companion(app, db_session, monkeypatch):
    from pathlib import Path

    from app.auth import operations as auth_ops
    from app.core import mail
    from app.demo.cli import seed_demo
    from app.frameworks import operations as framework_ops
    from app.frameworks.importers.yaml_format import parse_files
    from app.vae import operations as ops
    from app.vae.models import VaeStatus

    monkeypatch.setattr(mail, "deliver", lambda message: None)
    framework_ops.import_batch(*parse_files([Path("competencies")]))
    seed_demo()
    seed_demo()  # idempotent
    volunteer = auth_ops.get_user_by_email("benevole@demo.acquis.example")
    adviser = auth_ops.get_user_by_email("conseillere@demo.acquis.example")
    projects = ops.projects_of(volunteer)
    assert len(projects) == 1
    project = projects[0]
    assert project.status == VaeStatus.ADMISSIBLE and project.bloc_codes[0] == "RNCP00000BC01"
    assert project.can_view(adviser) and ops.next_deadline(project).key == "start_path"
    assert ops.threads(project)[project.bloc_codes[0]][0].first.author_id == adviser.id
    assert ops.draft_of(project, project.bloc_codes[0]).word_count > 10
    assert [p.id for p, _s, _d in ops.projects_for_companion(adviser)] == [project.id]
