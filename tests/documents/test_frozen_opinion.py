"""The association's opinion is frozen on the validations it was written from: a later validation does not change
it; saving after one writes a new version, and the old one stays verifiable, marked superseded."""

from __future__ import annotations

from tests import cast


def test_a_frozen_opinion_does_not_change_after_a_new_validation(app, client, login, docworld):
    from app.documents import codes
    from app.documents import operations as ops
    from app.documents.context import build_opinion
    from app.documents.models import DocumentKind

    first = ops.save_opinion(docworld.admin, docworld.ngo, docworld.volunteer, ops.OpinionData(opinion="Favourable."))
    before = build_opinion(first, "en")
    codes_before = [c["code"] for c in before["competences"]]
    assert len(codes_before) == 2
    # The NGO validates a third competence afterwards.
    extra = cast.create_claims(docworld.volunteer, docworld.mission, docworld.nodes[2:3])
    submission = cast.submit_claims(docworld.volunteer, docworld.mission, docworld.ngo, extra)
    cast.validate_everything(submission, docworld.trainer, confirm_facts=False)
    after = build_opinion(first, "en")
    assert [c["code"] for c in after["competences"]] == codes_before
    assert ops.opinion_is_stale(first)

    # Printed now, the old version is the frozen one; then a new version supersedes it.
    old_document = ops.request_document(
        docworld.volunteer, ops.PrintRequest(DocumentKind.OPINION, "en", docworld.volunteer, opinion=first)
    )
    ops.dispatch(old_document)
    second = ops.save_opinion(
        docworld.admin, docworld.ngo, docworld.volunteer, ops.OpinionData(opinion="Still favourable."), first
    )
    assert second.id != first.id and second.version == 2 and first.superseded_at is not None
    assert len(build_opinion(second, "en")["competences"]) == 3
    assert ops.current_opinion(docworld.ngo.id, docworld.volunteer.id) == second
    document = old_document.document
    page = client.get(f"/verify/{codes.formatted(document.code)}", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    assert "This opinion (version 1) was superseded" in page.get_data(as_text=True)


def test_editing_without_new_validations_keeps_the_version(docworld):
    from app.documents import operations as ops

    first = ops.save_opinion(docworld.admin, docworld.ngo, docworld.volunteer, ops.OpinionData(opinion="A."))
    again = ops.save_opinion(docworld.admin, docworld.ngo, docworld.volunteer, ops.OpinionData(opinion="B."), first)
    assert again.id == first.id and again.version == 1 and again.opinion == "B."
