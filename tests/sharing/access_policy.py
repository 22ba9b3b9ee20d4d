"""Access policy of the ``sharing`` blueprint.

The volunteer manages their shares (404 for anyone else). Pages read through a share answer 404 to everyone but
the named adviser (an adviser share) — guests included, with the same 404 as for an unknown share. A link token is
public by nature: whoever holds it is let in (redirected to the token-free page).
"""

from tests.access import USER, expect, rule

OWNER_ONLY = expect(404, guest="login", volunteer="ok")
NAMED_ADVISER_ONLY = expect(404, adviser="ok")


def build(world):
    """An adviser share of world.volunteer's portfolio (without documents) with world's adviser, the whole
    portfolio with documents shared with the shared_adviser, and a link share."""
    from datetime import timedelta

    from app.auth.models import sha256_hex
    from app.core.db import utcnow
    from app.extensions import db
    from app.sharing.models import Share, ShareKind

    if not hasattr(world, "evidence"):
        from tests.claims.access_policy import build as build_claims

        build_claims(world)
    volunteer = world.users["volunteer"]
    world.share = Share(
        owner_id=volunteer.id,
        kind=ShareKind.ADVISER,
        adviser_email=world.users["adviser"].email,
        include_documents=False,
        expires_at=utcnow() + timedelta(days=30),
    )
    # The whole portfolio with its documents, shared with another adviser: documents.document/download open
    # to them (a grant rule), nothing else.
    world.documents_share = Share(
        owner_id=volunteer.id,
        kind=ShareKind.ADVISER,
        adviser_email=world.users["shared_adviser"].email,
        include_documents=True,
        expires_at=utcnow() + timedelta(days=30),
    )
    world.link_token = "access-matrix-link-token-0123456789abcdefghij"
    world.link_share = Share(
        owner_id=volunteer.id,
        kind=ShareKind.LINK,
        token_hash=sha256_hex(world.link_token),
        expires_at=utcnow() + timedelta(days=30),
    )
    db.session.add_all([world.share, world.documents_share, world.link_share])
    db.session.flush()


def _share(w):
    return {"share_id": w.share.id}


POLICY = {
    "sharing.index": rule(USER, methods=("GET", "POST")),
    "sharing.detail": rule(OWNER_ONLY, url=_share),
    "sharing.revoke": rule(OWNER_ONLY, url=_share, methods=("POST",)),
    "sharing.shared_with_me": rule(USER),
    "sharing.open_link": rule(expect("ok"), url=lambda w: {"token": w.link_token}, notes="the token is the key"),
    "sharing.portfolio": rule(NAMED_ADVISER_ONLY, url=_share),
    "sharing.profile": rule(NAMED_ADVISER_ONLY, url=_share, notes="the competence profile of the shared portfolio"),
    "sharing.experience": rule(
        NAMED_ADVISER_ONLY, url=lambda w: {"share_id": w.share.id, "experience_id": w.mission.id}
    ),
    "sharing.evidence_file": rule(
        NAMED_ADVISER_ONLY, url=lambda w: {"share_id": w.share.id, "evidence_id": w.evidence.id}
    ),
    "sharing.document": rule(
        expect(404, shared_adviser="ok"),
        url=lambda w: {"share_id": w.documents_share.id, "document_id": w.document.id},
        notes="through the share that includes documents: only its adviser (no-documents shares: tests/sharing)",
    ),
    "sharing.notes": rule(NAMED_ADVISER_ONLY, url=_share, methods=("POST",), data=lambda w: {"body": "note"}),
}
