"""Access policy of the ``vae`` blueprint.

The volunteer manages their project (status, outcome, companions, sworn statement, printing, writing). A companion
— here ``adviser``, invited through a named-adviser share attached to the project — reads the project and its blocs
and comments (threads, resolving); everyone else gets 404, guests the login page. Expired and revoked companion
shares: tests/vae/test_views.py.
"""

from tests.access import PLATFORM_ADMIN, USER, expect, rule

OWNER_ONLY = expect(404, guest="login", volunteer="ok")
OWNER_AND_COMPANION = expect(404, guest="login", volunteer="ok", adviser="ok")


def build(world):
    """A VAE project of world.volunteer on a small RNCP certification (blocs B1, B2), with world's adviser as its
    companion, and a comment thread on B1."""
    from datetime import date, timedelta

    from app.core.db import utcnow
    from app.extensions import db
    from app.sharing.models import Share, ShareKind
    from app.vae.models import VaeComment, VaeProject, VaeRoute
    from tests.vae.conftest import make_certification

    framework, nodes = make_certification(db.session, ())
    volunteer = world.users["volunteer"]
    world.vae_share = Share(
        owner_id=volunteer.id,
        kind=ShareKind.ADVISER,
        adviser_email=world.users["adviser"].email,
        # Without documents, like world.share: the documents' grant rule stays as tests/documents expects it.
        include_documents=False,
        expires_at=utcnow() + timedelta(days=30),
    )
    world.vae_project = VaeProject(
        owner_id=volunteer.id,
        framework_id=framework.id,
        framework_version_id=nodes["B1"].version_id,
        route=VaeRoute.FRANCE_VAE,
        bloc_codes=["B1", "B2"],
        started_on=date.today() - timedelta(days=30),
        companions=[world.vae_share],
    )
    db.session.add_all([world.vae_share, world.vae_project])
    db.session.flush()
    world.vae_thread = VaeComment(
        project_id=world.vae_project.id, bloc_code="B1", author_id=volunteer.id, body="Une question"
    )
    db.session.add(world.vae_thread)
    db.session.flush()


def _project(w):
    return {"project_id": w.vae_project.id}


def _bloc(w):
    return {"project_id": w.vae_project.id, "code": "B1"}


POLICY = {
    "vae.index": rule(USER),
    "vae.new": rule(USER, methods=("GET", "POST")),
    "vae.import_rncp": rule(PLATFORM_ADMIN, methods=("GET", "POST")),
    "vae.companion": rule(USER),
    "vae.project": rule(OWNER_AND_COMPANION, url=_project),
    "vae.advance": rule(OWNER_ONLY, url=_project, methods=("POST",)),
    "vae.outcome": rule(OWNER_ONLY, url=_project, methods=("POST",)),
    "vae.invite": rule(OWNER_ONLY, url=_project, methods=("POST",)),
    "vae.end_companion": rule(
        OWNER_ONLY, url=lambda w: {"project_id": w.vae_project.id, "share_id": w.vae_share.id}, methods=("POST",)
    ),
    "vae.sworn": rule(OWNER_ONLY, url=_project, methods=("POST",)),
    "vae.print": rule(OWNER_ONLY, url=lambda w: {"project_id": w.vae_project.id, "kind": "livret1"}, methods=("POST",)),
    "vae.bloc": rule(OWNER_AND_COMPANION, url=_bloc),
    "vae.save_bloc": rule(OWNER_ONLY, url=_bloc, methods=("POST",), data=lambda w: {"context": "Au Pérou"}),
    "vae.comment": rule(OWNER_AND_COMPANION, url=_bloc, methods=("POST",), data=lambda w: {"body": "Bien"}),
    "vae.resolve": rule(
        OWNER_AND_COMPANION,
        url=lambda w: {"project_id": w.vae_project.id, "comment_id": w.vae_thread.id},
        methods=("POST",),
    ),
}
