"""The documents and sharing pages run the same number of SQL statements with 1 and with 6 missions, documents,
shares, access-log rows, volunteers and imported validations (no N+1 queries)."""

from __future__ import annotations

import types
from datetime import date

import pytest
import sqlalchemy as sa

from tests.fixtures.statements import statements_for

SMALL, LARGE = 1, 6


@pytest.fixture
def data(db_session, fast_hashing, ngo, trainer, volunteer, framework, create_user, add_member):
    """``data.grow(n)`` brings each collection to ``n`` items: the volunteer's missions (each with a claim the
    NGO validated and facts it confirmed), documents issued to the volunteer (each a portfolio of all missions so
    far), shares to the adviser (the first one limited to the missions, which it follows), access-log rows on the
    first share, other volunteers validated by the trainer with an opinion each, imported validations; and
    ``data.verify_document`` is a document relying on every validation so far."""
    from app.documents import operations as document_ops
    from app.extensions import db
    from app.portability.models import ImportedValidation
    from app.sharing import operations as share_ops
    from app.sharing.models import ShareKind
    from app.validation import queries as validation_queries
    from tests import cast

    d = types.SimpleNamespace(missions=[], documents=[], shares=[], others=[], imported=0, logs=0)
    d.ngo, d.trainer, d.volunteer = ngo, trainer, volunteer  # the shared cast (tests/conftest.py)
    d.adviser = cast.make_person(email="count-adviser@example.org", name="Adèle Adviser", adviser=True, locale="en")
    d.version, d.nodes = framework

    def validated_mission(owner, index):
        mission = cast.create_mission(
            owner,
            title=f"Mission {index}",
            start_date=date(2020 + index, 1, 1),
            end_date=date(2020 + index, 6, 30),
            sending_organisation_id=d.ngo.id,
        )
        claims = cast.create_claims(owner, mission, d.nodes[:1], evidence=[cast.store_evidence(owner, b"%PDF-1.4")])
        cast.validate_everything(cast.submit_claims(owner, mission, d.ngo, claims), d.trainer)
        return mission, claims

    def validations_of_volunteer():
        from app.claims.models import Claim

        claim_ids = list(db.session.scalars(sa.select(Claim.id).where(Claim.owner_id == d.volunteer.id)))
        return [v for group in validation_queries.validations_for_claims(claim_ids).values() for v in group]

    def grow(n):
        while len(d.missions) < n:
            mission, _claims = validated_mission(d.volunteer, len(d.missions))
            d.missions.append(mission)
            for share in d.shares[:1]:
                share.experiences.append(mission)
        while len(d.documents) < n:
            snapshot = {"experiences": [{"id": m.id, "claims": []} for m in d.missions], "entries": []}
            d.documents.append(cast.store_document_stand_in(d.volunteer, d.ngo, snapshot=snapshot))
        while len(d.shares) < n + 1:  # the first one limited, the others whole: both kinds at every size
            first = not d.shares
            share, _ = share_ops.create_share(
                d.volunteer,
                share_ops.ShareData(
                    kind=ShareKind.ADVISER,
                    adviser_email=d.adviser.email,
                    whole_portfolio=not first,
                    experience_ids=tuple(m.id for m in d.missions) if first else (),
                ),
            )
            d.shares.append(share)
        while d.logs < n:
            share_ops.log_access(d.shares[0], d.adviser, "experience", f"Mission {d.logs}")
            d.logs += 1
        while len(d.others) < n:
            other = create_user(f"count-other{len(d.others)}@example.org", name=f"Other {len(d.others)}")
            add_member(d.ngo, other, "volunteer")
            validated_mission(other, len(d.others))
            document_ops.save_opinion(d.trainer, d.ngo, other, document_ops.OpinionData(opinion="Favourable."))
            d.others.append(other)
        while d.imported < n:
            db.session.add(
                ImportedValidation(
                    claim_id=_first_claim_id(d.volunteer),
                    owner_id=d.volunteer.id,
                    organisation_name=f"Elsewhere {d.imported}",
                    validated_at=None,
                )
            )
            d.imported += 1
        from app.documents.context import _validation_entry

        entries = [_validation_entry(v, "en") for v in validations_of_volunteer()]
        d.verify_document = cast.store_document_stand_in(
            d.volunteer, d.ngo, snapshot={"entries": entries}, kind=d.documents[0].kind
        )
        db.session.flush()
        return d

    d.grow = grow
    return d


def _first_claim_id(user) -> int:
    from app.claims.models import Claim
    from app.extensions import db

    return db.session.scalar(sa.select(Claim.id).where(Claim.owner_id == user.id).order_by(Claim.id).limit(1))


PAGES = {
    "documents": ("volunteer", lambda d: "/documents/"),
    "opinions": ("trainer", lambda d: "/documents/opinions"),
    "verify": (None, lambda d: f"/verify/{_formatted(d.verify_document.code)}"),
    "document": ("volunteer", lambda d: f"/documents/{d.documents[0].id}"),
    "sharing": ("volunteer", lambda d: "/sharing/"),
    "sharing-detail": ("volunteer", lambda d: f"/sharing/{d.shares[0].id}"),
    "shared-with-me": ("adviser", lambda d: "/sharing/with-me"),
    "shared-selection": ("adviser", lambda d: f"/shared/{d.shares[0].id}"),
    "shared-whole": ("adviser", lambda d: f"/shared/{d.shares[-1].id}"),
    "shared-profile": ("adviser", lambda d: f"/shared/{d.shares[-1].id}/profile"),
    "volunteer-home": ("volunteer", lambda d: "/"),
    "shared-experience": ("adviser", lambda d: f"/shared/{d.shares[0].id}/experiences/{d.missions[0].id}"),
    "my-data": ("volunteer", lambda d: "/account/data"),
}


def _formatted(code: str) -> str:
    from app.documents import codes

    return codes.formatted(code)


@pytest.mark.parametrize("page", list(PAGES))
def test_page_statement_count_does_not_grow(app, login, data, page):
    actor, url_for_page = PAGES[page]
    client = app.test_client()
    data.grow(SMALL)
    if actor is not None:
        login(client, getattr(data, actor))
    url = url_for_page(data)
    statements_for(client, url)  # warm up (first-request work and the adviser's binding are not measured)
    small = statements_for(client, url)
    data.grow(LARGE)
    url = url_for_page(data)
    statements_for(client, url)
    large = statements_for(client, url)
    extra = "\n".join(large[len(small) :]) if len(large) > len(small) else ""
    assert len(large) == len(small), f"{len(small)} statements with {SMALL}, {len(large)} with {LARGE}:\n{extra}"


def test_the_data_really_grows(app, login, data):
    """The large pages do show the grown data (the measure is not of empty pages)."""
    data.grow(LARGE)
    client = app.test_client()
    login(client, data.adviser)
    page = client.get(f"/shared/{data.shares[0].id}").get_data(as_text=True)
    assert all(f"Mission {i}" in page for i in range(LARGE))
    assert all(f"/shared/{data.shares[0].id}/documents/{d.id}" in page for d in data.documents)
    assert client.get("/sharing/with-me").get_data(as_text=True).count("/shared/") == LARGE + 1
    trainer = app.test_client()
    login(trainer, data.trainer)
    assert trainer.get("/documents/opinions").get_data(as_text=True).count("Other ") >= LARGE
    volunteer = app.test_client()
    login(volunteer, data.volunteer)
    documents = volunteer.get("/documents/").get_data(as_text=True)
    assert all(f">Mission {i}<" in documents for i in range(LARGE))
