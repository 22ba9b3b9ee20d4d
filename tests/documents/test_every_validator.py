"""Issue 20: a document printed in one NGO's name, and its /verify page, name every organisation whose current
validation of the same claim version stands — not only the issuing NGO's. Read back from the PDF (pdftotext) and
from the verify page."""

from __future__ import annotations

import pytest

from app.documents import codes
from app.extensions import db
from app.validation import operations as vops
from app.validation.models import FactsDecision, ItemDecision
from tests import cast
from tests.documents.conftest import pdf_text, print_document

SECOND = "Otto Other (Autre ONG)"


def _join(world):
    """The volunteer is a member of the other NGO too (a consortium's mission, a host partner on Acquis)."""
    from app.organisations import operations as org_ops
    from app.organisations.models import MembershipRole

    org_ops.add_member(world.other_ngo, world.volunteer, MembershipRole.VOLUNTEER, actor=None)


@pytest.fixture
def covalidated(docworld):
    """docworld, with the other NGO validating the first claim (same version) and rejecting the second."""
    _join(docworld)
    submission = cast.submit_claims(docworld.volunteer, docworld.mission, docworld.other_ngo, docworld.claims)
    vops.confirm_facts(submission, docworld.other_trainer, FactsDecision.CONFIRMED, acknowledged=True)
    first, second = submission.current_items
    vops.decide_item(first, docworld.other_trainer, vops.Decision(ItemDecision.VALIDATED))
    vops.decide_item(second, docworld.other_trainer, vops.Decision(ItemDecision.REJECTED, comment="Not here"))
    db.session.flush()
    return docworld


def _text(client, document) -> str:
    response = client.get(f"/documents/{document.id}/download")
    assert response.status_code == 200
    # pdftotext breaks long lines: compare on one line.
    return " ".join(pdf_text(response.data).split())


def _verify(app, document) -> str:
    response = app.test_client().get(f"/verify/{codes.formatted(document.code)}", headers={"Accept-Language": "en"})
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _validators(document) -> list[tuple[str, str]]:
    return sorted((e["code"], e["organisation"]) for e in document.snapshot["entries"])


def _assert_both_listed(app, client, document, codes_of_claims):
    first, second = codes_of_claims
    # The first claim: both NGOs; the second, which the other NGO rejected: only the NGO that validated it.
    assert _validators(document) == sorted(
        [(first, "Autre ONG"), (first, "Solidarité Monde"), (second, "Solidarité Monde")]
    )
    text = _text(client, document).lower()
    # Whichever is printed first, the claim names both ("Validated by …; validated by …").
    assert "validated by théo trainer (solidarité monde)" in text and f"validated by {SECOND.lower()}" in text
    assert text.count("validated by") >= 3
    page = _verify(app, document)
    assert "Théo Trainer (Solidarité Monde)" in page and SECOND in page
    assert page.count("entry-valid") == 3


def test_the_attestation_names_every_ngo_that_validated(app, client, login, covalidated):
    login(client, covalidated.volunteer)
    document, _ = print_document(client, "attestation", language="en", experience_id=str(covalidated.mission.id))
    # The other NGO confirmed the facts last: it issues the attestation, of the one claim it validated, and
    # names the first NGO's validation of the same version beside its own.
    assert document.issuer_name == "Autre ONG"
    assert _validators(document) == sorted([(covalidated.nodes[0].code, n) for n in ("Autre ONG", "Solidarité Monde")])
    text = _text(client, document)
    assert f"Validated by {SECOND}" in text and "validated by Théo Trainer (Solidarité Monde)" in text
    page = _verify(app, document)
    assert "Théo Trainer (Solidarité Monde)" in page and SECOND in page and page.count("entry-valid") == 2


def test_a_portfolio_printed_by_one_ngo_names_the_other(app, client, login, covalidated):
    login(client, covalidated.trainer)
    response = client.post(
        f"/documents/for/{covalidated.ngo.id}/{covalidated.volunteer.id}/print", data={"opinion-language": "en"}
    )
    assert response.status_code == 302
    from app.documents.models import Document

    document = db.session.get(Document, int(response.headers["Location"].rstrip("/").split("/")[-1]))
    assert document.issuer_name == "Solidarité Monde"
    _assert_both_listed(app, client, document, [n.code for n in covalidated.nodes[:2]])
    # The summary counts claims, not validations: two claims validated, whoever validated them.
    assert document.snapshot["summary"]["validated"] == 2


def test_the_holders_portfolio_and_vae_dossier_name_both(app, client, login, covalidated):
    login(client, covalidated.volunteer)
    portfolio, _ = print_document(client, "portfolio", language="en")
    _assert_both_listed(app, client, portfolio, [n.code for n in covalidated.nodes[:2]])
    vae, _ = print_document(client, "vae", language="en", framework="rncp-test")
    _assert_both_listed(app, client, vae, [n.code for n in covalidated.nodes[:2]])


def test_the_opinion_names_the_other_ngo(app, client, login, covalidated):
    login(client, covalidated.trainer)
    url = f"/documents/opinions/{covalidated.ngo.id}/{covalidated.volunteer.id}"
    assert client.post(url, data={"author_role": "Formateur", "opinion": "Avis favorable."}).status_code == 302
    from app.documents.models import Document, Opinion

    opinion = db.session.query(Opinion).one()
    response = client.post(f"/documents/opinions/{opinion.id}/print", data={"opinion-language": "en"})
    assert response.status_code == 302
    document = db.session.get(Document, int(response.headers["Location"].rstrip("/").split("/")[-1]))
    _assert_both_listed(app, client, document, [n.code for n in covalidated.nodes[:2]])


def test_a_validation_awaiting_its_countersignature_is_not_named(app, client, login, docworld):
    """Only a current validation of the printed version counts: one still awaiting its second trainer's
    countersignature is not (yet) a validation."""
    from app.validation import countersign

    admin = cast.make_person(
        email="otheradmin@example.org", name="Ada Other", member_of=docworld.other_ngo, role="admin"
    )
    _join(docworld)
    countersign.set_rule(docworld.other_ngo, admin, countersign.RuleData(framework_slug="*"))
    submission = cast.submit_claims(docworld.volunteer, docworld.mission, docworld.other_ngo, docworld.claims[:1])
    cast.validate_everything(submission, docworld.other_trainer)
    db.session.flush()
    login(client, docworld.volunteer)
    document, _ = print_document(client, "portfolio", language="en")
    assert {e["organisation"] for e in document.snapshot["entries"]} == {"Solidarité Monde"}
    # (The other NGO confirmed the facts: its trainer is named for that, not as a validator.)
    assert f"validated by {SECOND}".lower() not in _text(client, document).lower()


def test_verify_names_a_later_validation_the_document_does_not_list(app, client, login, docworld):
    """A document printed before the other NGO validated lists one NGO; its verify page names the other NGO's
    current validation of the same version as "not listed in the document", and stops once it is revoked."""
    import sqlalchemy as sa

    from app.claims.validations import ClaimValidation
    from app.documents.context import _validation_entry

    first = db.session.scalar(sa.select(ClaimValidation).where(ClaimValidation.claim_id == docworld.claims[0].id))
    earlier = cast.store_document_stand_in(
        docworld.volunteer, docworld.ngo, snapshot={"entries": [_validation_entry(first, "en")]}
    )
    assert "not listed in the document" not in _verify(app, earlier)

    _join(docworld)
    submission = cast.submit_claims(docworld.volunteer, docworld.mission, docworld.other_ngo, docworld.claims[:1])
    cast.validate_everything(submission, docworld.other_trainer)
    db.session.flush()
    page = " ".join(_verify(app, earlier).split())
    assert f"also validated by {SECOND} on" in page and "not listed in the document" in page

    # A document that lists both names each once, with nothing "not listed".
    login(client, docworld.volunteer)
    both, _ = print_document(client, "portfolio", language="en")
    assert "not listed in the document" not in _verify(app, both)

    other = db.session.scalar(
        sa.select(ClaimValidation).where(ClaimValidation.organisation_id == docworld.other_ngo.id)
    )
    vops.revoke_validation(other, _other_admin(docworld), "Mistake")
    db.session.flush()
    assert "not listed in the document" not in _verify(app, earlier)


def _other_admin(world):
    return cast.make_person(email="otheradmin2@example.org", name="Ada Other", member_of=world.other_ngo, role="admin")
