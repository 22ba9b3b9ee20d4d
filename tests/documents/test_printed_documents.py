"""Every kind of document, printed for real: from the command line on the demo data, and with hostile text in
every field that reaches it.

Each PDF is read back: its title in the chosen language, the QR code decoded to the verify address, the tagging
(structure tree, marked content) that makes it accessible, the signature, and no canary request.
"""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa

from tests.documents import test_sandbox
from tests.documents.conftest import pdf_text, print_document
from tests.translated import translated

canary = test_sandbox.canary  # the local canary server that must receive no request

DEMO_VOLUNTEER = "benevole@demo.acquis.example"
KINDS = [
    ("portfolio", "fr", "Portfolio of competences"),
    ("attestation", "en", "Attestation of completed international solidarity volunteering mission"),
    ("vae", "es", "VAE dossier"),
    ("opinion", "fr", "Association's opinion"),
]


def decoded_qr_codes(data: bytes) -> list[str]:
    """The texts of the QR codes found in the PDF's images."""
    import zxingcpp
    from pypdf import PdfReader

    texts = []
    for page in PdfReader(io.BytesIO(data)).pages:
        for image in page.images:
            texts += [result.text for result in zxingcpp.read_barcodes(image.image)]
    return texts


def assert_tagged(data: bytes) -> None:
    from pypdf import PdfReader

    catalog = PdfReader(io.BytesIO(data)).trailer["/Root"]
    assert "/StructTreeRoot" in catalog, "untagged PDF"
    assert catalog["/MarkInfo"]["/Marked"] == True  # noqa: E712 - a pypdf BooleanObject
    assert catalog.get("/Lang")


@pytest.fixture
def demo_runner(app, db_session):
    runner = app.test_cli_runner()
    for args in (["frameworks", "import", "competencies"], ["demo", "seed"]):
        result = runner.invoke(args=args)
        assert result.exit_code == 0, result.output
    return runner


@pytest.mark.parametrize(("kind", "language", "title"), KINDS, ids=[kind for kind, *_ in KINDS])
def test_dossier_render_prints_each_kind_from_the_demo_data(app, demo_runner, tmp_path, kind, language, title):
    from app.printing.signing import check_signature, trust_roots

    out = tmp_path / f"{kind}.pdf"
    result = demo_runner.invoke(
        args=["dossier", "render", "--user", DEMO_VOLUNTEER, "--kind", kind, "--lang", language, "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    code = re.search(r"code (\S+), sha256", result.output).group(1)  # the check symbol may be one of *~$=U
    data = out.read_bytes()
    text = pdf_text(data).replace("\n", " ")
    with app.app_context():
        assert translated(language, title) in text
    assert code in text
    assert set(decoded_qr_codes(data)) == {f"{app.config['BASE_URL']}/verify/{code}"}
    assert_tagged(data)
    # Attestations and opinions are signed in the NGO's name, the portfolio by the platform: both are trust roots.
    assert check_signature(data, trust_roots(app.config)).ok


def test_dossier_render_explains_what_is_missing(demo_runner, tmp_path):
    out = str(tmp_path / "x.pdf")
    unknown = demo_runner.invoke(
        args=["dossier", "render", "--user", "nobody@example.org", "--kind", "vae", "--out", out]
    )
    assert unknown.exit_code != 0 and "no user nobody@example.org" in unknown.output
    adviser = "conseillere@demo.acquis.example"
    nothing = demo_runner.invoke(args=["dossier", "render", "--user", adviser, "--kind", "opinion", "--out", out])
    assert nothing.exit_code != 0 and "no association's opinion" in nothing.output


def test_hostile_text_in_attestation_vae_and_opinion_fields_is_printed_literally(
    app, client, login, db_session, docworld, canary
):
    from app.documents.models import Opinion
    from app.validation.models import ReferentRequest, Submission

    url, hits = canary
    hostile = f'<img src="file:///etc/passwd"> <link rel=attachment href="{url}/x"> {url}/y'
    docworld.ngo.name = f"NGO {hostile}"[:200]
    submission = db_session.scalar(sa.select(Submission).where(Submission.experience_id == docworld.mission.id))
    submission.facts_comment = f"facts {hostile}"
    for referent in db_session.scalars(sa.select(ReferentRequest)):
        referent.name = f"Rosa {hostile}"[:120]
        referent.organisation_name = f"Host {hostile}"[:200]
        referent.comment = f"comment {hostile}"
    db_session.flush()
    login(client, docworld.trainer)
    response = client.post(
        f"/documents/opinions/{docworld.ngo.id}/{docworld.volunteer.id}",
        data={
            "author_role": "Formatrice",  # names and roles refuse markup at the form; free text keeps it literally
            **{field: f"{field} {hostile}" for field in ("relationship_text", "opinion", "engagement", "competences")},
        },
    )
    assert response.status_code == 302
    opinion = db_session.scalar(sa.select(Opinion))
    response = client.post(f"/documents/opinions/{opinion.id}/print", data={"opinion-language": "en"})
    printed = [int(response.headers["Location"].rstrip("/").split("/")[-1])]
    client = app.test_client()
    login(client, docworld.volunteer)
    printed += [
        print_document(client, "attestation", language="en", experience_id=docworld.mission.id)[0].id,
        print_document(client, "vae", language="en", framework=docworld.rncp.slug)[0].id,
        print_document(client, "portfolio", language="en")[0].id,
    ]
    for document_id in printed:
        data = client.get(f"/documents/{document_id}/download").data
        assert data.startswith(b"%PDF")
        text = pdf_text(data).replace("\n", " ")
        assert '<img src="file:///etc/passwd">' in text, document_id
        assert f"{url}/y" in text
        assert b"/JavaScript" not in data and b"/Launch" not in data
    portfolio_text = pdf_text(client.get(f"/documents/{printed[-1]}/download").data).replace("\n", " ")
    assert "Rosa <img" in portfolio_text and "comment <img" in portfolio_text
    assert hits == []


def test_an_edited_validated_claim_prints_as_it_was_validated(client, login, db_session, docworld):
    from app.claims import operations as claim_ops
    from app.claims.models import ClaimState

    claim = docworld.claims[0]
    validated_situation = claim.situation
    claim_ops.update_claim(
        claim,
        claim_ops.ClaimData(node_id=claim.node_id, level_rank=1, situation="Draft text nobody validated"),
        actor=docworld.volunteer,
    )
    assert claim.state == ClaimState.DRAFT and claim.version == 2 and claim.evidence == []
    db_session.flush()
    login(client, docworld.volunteer)
    document, _ = print_document(client, "portfolio", language="en")
    printed = next(c for e in document.snapshot["experiences"] for c in e["claims"] if c["id"] == claim.id)
    assert printed["narrative"]["situation"] == validated_situation
    assert [item["sha256"] for item in printed["evidence"]] == [docworld.pdf.sha256]
    text = pdf_text(client.get(f"/documents/{document.id}/download").data)
    assert "Draft text nobody validated" not in text
    assert validated_situation in text


def test_demo_attestation_names_the_ngo_its_signatory_and_the_host_referent(app, demo_runner, tmp_path):
    """``flask dossier render`` on the demo data: issued and signed by the NGO, not by the platform."""
    from app.printing.signing import check_signature, trust_roots

    out = tmp_path / "attestation.pdf"
    result = demo_runner.invoke(
        args=["dossier", "render", "--user", DEMO_VOLUNTEER, "--kind", "attestation", "--lang", "fr", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    text = " ".join(pdf_text(data).split())
    assert "Association Terre Solidaire" in text and "RNA W691234567" in text
    assert "Hugo Bernard" in text and "Directeur" in text  # the signatory and their role
    assert "Rosa Quispe" in text and "Asociación Manos Unidas Lima" in text  # the host referent
    check = check_signature(data, trust_roots(app.config))
    assert check.ok and check.organisation == "Association Terre Solidaire"


def test_demo_vae_first_page_summary_and_notice_once(app, demo_runner, tmp_path):
    """The VAE dossier's first page carries the profile of validated competences; the fictional-example notice
    is printed once per document."""
    import io

    from pypdf import PdfReader

    out = tmp_path / "vae.pdf"
    result = demo_runner.invoke(
        args=["dossier", "render", "--user", DEMO_VOLUNTEER, "--kind", "vae", "--lang", "en", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    first = " ".join(PdfReader(io.BytesIO(data)).pages[0].extract_text().split())
    assert "Profile of the validated competences" in first and "SI.2.1" in first
    text = " ".join(pdf_text(data).split())
    with app.app_context():
        notice = translated("en", "This certification is a fictional example used for demonstration.")
    assert text.count(notice) == 1
