"""Issue 20: an NGO's validations are the NGO's record. They outlive the claim (withdrawn, still verifiable),
erasure keeps only the pseudonymous record the README describes, a second trainer's countersignature can be
required, and several NGOs validate the same claim each on its own."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.claims.validations import ClaimValidation
from app.core.errors import UserError
from app.extensions import db
from app.validation import countersign
from app.validation import errors as validation_errors
from app.validation import operations as ops
from app.validation.models import ItemDecision
from tests.cast import ACTIONS, store_document_stand_in, submit_claims, validate_everything


def _validations(**where) -> list[ClaimValidation]:
    query = sa.select(ClaimValidation).order_by(ClaimValidation.id)
    for column, value in where.items():
        query = query.where(getattr(ClaimValidation, column) == value)
    return list(db.session.scalars(query))


def _document_of(world, validations):
    from app.documents.context import _validation_entry

    return store_document_stand_in(
        world.volunteer, world.ngo, snapshot={"entries": [_validation_entry(v, "en") for v in validations]}
    )


def _verify(client, document) -> str:
    from app.documents import codes

    response = client.get(f"/verify/{codes.formatted(document.code)}", headers={"Accept-Language": "en"})
    assert response.status_code == 200
    return response.get_data(as_text=True)


# --- Validations outlive their claims --------------------------------------------------------------------------


def test_deleting_a_validated_claim_keeps_the_record_and_verify_stays_truthful(submitted, client):
    from app.claims import operations as claim_ops

    world = submitted
    validate_everything(world.submission, world.trainer)
    validation = _validations(claim_id=world.claims[0].id)[0]
    snapshot, digest, validation_id = dict(validation.snapshot), validation.content_hash, validation.id
    document = _document_of(world, [validation])
    assert "Valid" in _verify(client, document)

    claim_ops.delete_claim(world.claims[0], actor=world.volunteer)
    db.session.flush()

    record = db.session.get(ClaimValidation, validation_id)
    assert record is not None and record.claim_id is None and record.withdrawn_at is not None
    assert record.snapshot == snapshot and record.content_hash == digest
    assert record.validator_name == "Théo Trainer" and record.holder_id == world.volunteer.id
    assert not record.is_current
    page = _verify(client, document)
    assert "Théo Trainer (Solidarité Monde)" in page
    assert "Withdrawn by the holder on" in page and "Unknown" not in page

    # The NGO may still revoke its record; /verify then says so, with the reason.
    ops.revoke_validation(record, world.admin, "Evidence found to be forged")
    db.session.flush()
    page = _verify(client, document)
    assert "Revoked by the NGO on" in page and "Evidence found to be forged" in page


def test_deleting_the_experience_withdraws_every_record(submitted):
    from app.experiences import operations as experience_ops

    validate_everything(submitted.submission, submitted.trainer)
    experience_ops.delete_experience(submitted.mission, actor=submitted.volunteer)
    db.session.flush()
    records = _validations(organisation_id=submitted.ngo.id)
    assert len(records) == 3
    assert all(r.claim_id is None and r.withdrawn_at is not None and r.item_id is None for r in records)


def test_erasure_keeps_only_the_pseudonymous_record(submitted):
    from app.documents.models import Document
    from app.portability.erasure import erase_user

    world = submitted
    validate_everything(world.submission, world.trainer)
    record = _validations(claim_id=world.claims[0].id)[0]
    record_id, digest, node = record.id, record.content_hash, dict(record.snapshot["node"])
    _document_of(world, [record])
    volunteer_id = world.volunteer.id

    erase_user(world.volunteer)
    db.session.flush()

    kept = db.session.get(ClaimValidation, record_id)
    # Kept: the competence, the level, the NGO, the trainer, the dates and the hash of what was validated.
    assert kept.content_hash == digest
    assert kept.snapshot == {"node": node, "level": 2, "erased": True}
    assert kept.organisation_id == world.ngo.id and kept.validator_name == "Théo Trainer"
    assert kept.validated_at is not None and kept.withdrawn_at is not None
    # Removed: the link to the person, the narrative, the evidence, the documents issued to them.
    assert kept.holder_id is None and kept.claim_id is None
    text = str(kept.snapshot)
    assert "Valentine" not in text and ACTIONS.format(code="C1") not in text and "Photo of the well" not in text
    assert db.session.scalar(sa.select(sa.func.count(Document.id)).where(Document.holder_id == volunteer_id)) == 0
    assert len(_validations(organisation_id=world.ngo.id)) == 3


# --- Countersignature ---------------------------------------------------------------------------------------


@pytest.fixture
def rule(world):
    """Solidarité Monde requires a second trainer for level 2 and above on the test framework."""
    return countersign.set_rule(world.ngo, world.admin, countersign.RuleData("val-fw", min_level=2))


def test_countersignature_required_and_recorded(submitted, rule, app, login):
    from app.core.audit import AuditEvent
    from app.documents.context import current_validations

    world = submitted
    ops.confirm_facts(world.submission, world.trainer, ops.FactsDecision.CONFIRMED, acknowledged=True)
    ops.decide_item(world.items[0], world.trainer, ops.Decision(ItemDecision.VALIDATED, level=2))
    ops.decide_item(
        world.items[1], world.trainer, ops.Decision(ItemDecision.VALIDATED, level=1, comment="Shown at discovery level")
    )
    high = _validations(claim_id=world.claims[0].id)[0]
    low = _validations(claim_id=world.claims[1].id)[0]
    assert high.awaiting_countersignature and not high.is_current
    assert not low.countersignature_required and low.is_current
    assert set(current_validations([c.id for c in world.claims])) == {world.claims[1].id}  # not printable yet

    assert not countersign.can_countersign(high, world.trainer)  # the validator
    assert not countersign.can_countersign(high, world.volunteer)
    assert not countersign.can_countersign(high, world.other_trainer)  # another NGO
    with pytest.raises(validation_errors.TransitionRefused):
        countersign.countersign(high, world.trainer)

    validator = app.test_client()
    login(validator, world.trainer)
    assert validator.post(f"/validation/validations/{high.id}/countersign").status_code == 403
    assert validator.post(f"/validation/validations/{low.id}/countersign").status_code == 409  # nothing to sign

    client = app.test_client()
    login(client, world.trainer2)
    listing = client.get("/validation/countersignatures")
    assert listing.status_code == 200 and f"/validation/validations/{high.id}/countersign" in listing.text
    assert client.post(f"/validation/validations/{high.id}/countersign").status_code == 302
    db.session.refresh(high)
    assert high.countersigned_by_id == world.trainer2.id and high.countersigner_name == "Tess Trainer"
    assert high.countersigned_at is not None and high.is_current
    assert set(current_validations([c.id for c in world.claims])) == {world.claims[0].id, world.claims[1].id}
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "validation.countersigned"))
    assert event.actor_id == world.trainer2.id and event.organisation_id == world.ngo.id

    # A second countersignature is refused, naming who signed first.
    again = client.post(f"/validation/validations/{high.id}/countersign")
    assert again.status_code == 409 and "Tess Trainer" in again.text
    with pytest.raises(validation_errors.AlreadyDecided):
        countersign.countersign(high, world.admin)


def test_verify_names_the_countersigner(submitted, rule, client):
    world = submitted
    validate_everything(world.submission, world.trainer, level=2)
    record = _validations(claim_id=world.claims[0].id)[0]
    document = _document_of(world, [record])
    assert "Awaiting the countersignature of a second trainer" in _verify(client, document)
    countersign.countersign(record, world.trainer2)
    db.session.flush()
    page = _verify(client, document)
    assert "countersigned by Tess Trainer on" in page and "Valid" in page


def test_rules_page_sets_and_removes_a_rule(world, app, login):
    client = app.test_client()
    login(client, world.admin)
    url = f"/validation/organisations/{world.ngo.slug}/countersignature"
    assert client.get(url).status_code == 200
    assert client.post(url, data={"framework_slug": "val-fw", "min_level": "3"}).status_code == 302
    rules = countersign.rules_of(world.ngo.id)
    assert [(r.framework_slug, r.min_level) for r in rules] == [("val-fw", 3)]
    assert client.post(url, data={"framework_slug": "no-such-fw", "min_level": ""}).status_code == 422
    assert client.post(f"{url}/{rules[0].id}/delete").status_code == 302
    assert countersign.rules_of(world.ngo.id) == []


# --- Several organisations ----------------------------------------------------------------------------------


def test_two_ngos_validate_the_same_claim_independently(submitted, app, login, client):
    world = submitted
    validate_everything(world.submission, world.trainer)
    # NGO A's validation does not block a submission to NGO B.
    page_client = app.test_client()
    login(page_client, world.volunteer)
    page = page_client.get(f"/validation/experiences/{world.mission.id}/submit")
    assert page.status_code == 200 and "No competence of this experience can be submitted now" not in page.text
    second = submit_claims(world.volunteer, world.mission, world.other_ngo, world.claims[:2])
    ops.confirm_facts(second, world.other_trainer, ops.FactsDecision.CONFIRMED, acknowledged=True)
    first_item, second_item = second.current_items
    ops.decide_item(first_item, world.other_trainer, ops.Decision(ItemDecision.VALIDATED))
    ops.decide_item(second_item, world.other_trainer, ops.Decision(ItemDecision.REJECTED, comment="Not shown here"))
    db.session.flush()

    on_first = _validations(claim_id=world.claims[0].id)
    assert {v.organisation_id for v in on_first} == {world.ngo.id, world.other_ngo.id}
    assert all(v.is_current for v in on_first)  # B's validation replaces nothing of A's
    on_second = _validations(claim_id=world.claims[1].id)
    assert [v.organisation_id for v in on_second] == [world.ngo.id] and on_second[0].is_current
    db.session.refresh(world.claims[1])
    assert world.claims[1].state.value == "validated"  # B's rejection leaves A's validation standing

    # NGO A cannot validate the same version twice; B may still take the claim it rejected.
    with pytest.raises(UserError):
        submit_claims(world.volunteer, world.mission, world.ngo, world.claims[:1])

    # A document lists every validator; so does /verify.
    from app.documents.context import co_validations, current_validations

    chosen = current_validations([world.claims[0].id])
    others = co_validations(chosen)
    assert len(others[world.claims[0].id]) == 1
    document = _document_of(world, on_first)
    page = _verify(client, document)
    assert "Théo Trainer (Solidarité Monde)" in page and "Otto Other (Autre ONG)" in page


def test_one_standing_validation_per_ngo_and_version(submitted):
    """The database holds the rule too: a second standing validation of one version by the same NGO fails,
    one by another NGO does not."""
    world = submitted
    validate_everything(world.submission, world.trainer)
    existing = _validations(claim_id=world.claims[0].id)[0]

    def copy(organisation_id):
        return ClaimValidation(
            claim_id=existing.claim_id,
            claim_version=existing.claim_version,
            snapshot=existing.snapshot,
            content_hash=existing.content_hash,
            framework_version_id=existing.framework_version_id,
            organisation_id=organisation_id,
        )

    with pytest.raises(sa.exc.IntegrityError), db.session.begin_nested():
        db.session.add(copy(world.ngo.id))
        db.session.flush()
    with db.session.begin_nested():
        db.session.add(copy(world.other_ngo.id))
        db.session.flush()


def test_the_export_gives_back_withdrawn_records(submitted):
    """The NGO's record of a deleted claim still refers to the person: it is in their export (right of access)."""
    from app.claims import operations as claim_ops
    from app.portability.export import build_export

    validate_everything(submitted.submission, submitted.trainer)
    record = _validations(claim_id=submitted.claims[0].id)[0]
    claim_ops.delete_claim(submitted.claims[0], actor=submitted.volunteer)
    db.session.flush()
    withdrawn = build_export(submitted.volunteer)[0]["records"]["withdrawn_validations"]
    assert [(row["id"], row["content_hash"]) for row in withdrawn] == [(record.id, record.content_hash)]
    assert withdrawn[0]["withdrawn_at"]


def test_the_dashboard_says_a_validation_awaits_or_has_its_countersignature(submitted, rule, app, login):
    """The volunteer's dashboard lists standing validations; one awaiting or bearing a second trainer's
    countersignature says so (the fast sentence of a plain validation would leave that out)."""
    world = submitted
    validate_everything(world.submission, world.trainer, level=2)
    record = _validations(claim_id=world.claims[0].id)[0]
    assert record.awaiting_countersignature
    volunteer = app.test_client()
    login(volunteer, world.volunteer)
    page = volunteer.get("/portfolio/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    awaiting = page.count("Awaiting countersignature")
    assert awaiting == len(_validations(countersignature_required=True)) >= 1
    assert "Countersigned by" not in page
    countersign.countersign(record, world.trainer2)
    db.session.flush()
    page = volunteer.get("/portfolio/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert page.count("Awaiting countersignature") == awaiting - 1
    assert page.count("Countersigned by Tess Trainer on") == 1
