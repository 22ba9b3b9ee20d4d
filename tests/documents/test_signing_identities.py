"""Documents signed in the NGO's name: a certificate from the instance's root CA (O = the NGO's legal name) or the
NGO's own PKCS#12; PAdES B-T against a local RFC 3161 timestamp server; the trust roots on /verify and in the CLI;
documents the platform key signed before keep verifying."""

from __future__ import annotations

import asyncio
import io
import stat
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.documents.conftest import pdf_text, print_document
from tests.translated import printed


def _download(client, document) -> bytes:
    response = client.get(f"/documents/{document.id}/download")
    assert response.status_code == 200
    return response.data


def _validate(data: bytes, roots_pem: list[bytes]):
    """pyHanko's own validation of the last signature against ``roots_pem`` only."""
    from pyhanko.keys import load_certs_from_pemder_data
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import async_validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    roots = [cert for pem in roots_pem for cert in load_certs_from_pemder_data(pem)]
    signature = PdfFileReader(io.BytesIO(data)).embedded_signatures[-1]
    return asyncio.run(async_validate_pdf_signature(signature, ValidationContext(trust_roots=roots)))


def _print_attestation(client, login, docworld) -> tuple:
    login(client, docworld.volunteer)
    document, _response = print_document(client, "attestation", language="fr", experience_id=str(docworld.mission.id))
    return document, _download(client, document)


def test_attestation_is_signed_in_the_ngos_name_under_the_instance_root(app, client, login, docworld):
    from app.printing.signing import check_signature, signing_config, trust_roots

    document, data = _print_attestation(client, login, docworld)
    root_pem, _platform_pem = trust_roots(app.config)
    status = _validate(data, [root_pem])
    assert status.intact and status.valid and status.trusted
    assert status.signing_cert.subject.native["organization_name"] == "Solidarité Monde"
    assert status.signing_cert.issuer.native["common_name"].startswith("Acquis root CA")
    # The platform's own certificate alone does not vouch for it: the NGO signed, not the platform.
    assert not check_signature(data, signing_config(app.config).cert_path).trusted
    check = check_signature(data, trust_roots(app.config))
    assert check.ok and check.organisation == "Solidarité Monde" and not check.timestamped
    assert "O=Solidarité Monde" in document.signed_by
    english, _response = print_document(client, "attestation", language="en", experience_id=str(docworld.mission.id))
    text = pdf_text(_download(client, english)).replace("\n", " ")
    assert "issued by Solidarité Monde and signed electronically in its name" in text


def test_root_ca_key_is_encrypted_and_private(app, docworld):
    from cryptography import x509

    from app.printing.signing import instance_root

    certificate, _key = instance_root(app.config)
    directory = Path(app.config["INSTANCE_DIR"]) / "signing" / "root-ca"
    key_file = directory / "key.pem"
    assert b"ENCRYPTED PRIVATE KEY" in key_file.read_bytes()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca


def test_portfolio_stays_signed_by_the_platform_as_verification_service(app, client, login, docworld):
    from app.printing.signing import check_signature, signing_config

    login(client, docworld.volunteer)
    document, _response = print_document(client, "portfolio", language="en")
    data = _download(client, document)
    assert check_signature(data, signing_config(app.config).cert_path).ok
    assert document.signed_by == ""
    assert "the holder's own document" in pdf_text(data).replace("\n", " ").replace("\u2019", "'")


def _own_pkcs12(passphrase: bytes, organisation: str = "Association Solidarité Monde"):
    """An NGO's own CA and signing certificate, packed as PKCS#12 (what a commercial CA would deliver)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    now = datetime.now(UTC)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test qualified CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    data = pkcs12.serialize_key_and_certificates(
        b"ngo", key, leaf, [ca], serialization.BestAvailableEncryption(passphrase)
    )
    return data, ca.public_bytes(serialization.Encoding.PEM)


def test_an_uploaded_pkcs12_signs_the_ngos_documents(app, client, login, docworld):
    from app.documents import operations as ops
    from app.documents.identities import current_identity
    from app.documents.models import SigningSource

    data, ca_pem = _own_pkcs12(b"s3cret passphrase")
    login(client, docworld.admin)
    wrong = client.post(
        f"/documents/signing/{docworld.ngo.id}",
        data={"upload-file": (io.BytesIO(data), "ngo.p12"), "upload-passphrase": "wrong"},
        content_type="multipart/form-data",
    )
    refusal = printed(
        "fr", "This file could not be opened: check that it is a PKCS#12 file and that the passphrase is right."
    )
    assert wrong.status_code == 422 and refusal in wrong.get_data(as_text=True)
    response = client.post(
        f"/documents/signing/{docworld.ngo.id}",
        data={"upload-file": (io.BytesIO(data), "ngo.p12"), "upload-passphrase": "s3cret passphrase"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    identity = current_identity(docworld.ngo)
    assert identity.source == SigningSource.UPLOADED
    assert "PRIVATE KEY" not in identity.key_encrypted  # stored encrypted
    page = client.get(f"/documents/signing/{docworld.ngo.id}").get_data(as_text=True)
    assert "Association Solidarité Monde" in page and "PRIVATE KEY" not in page

    client.post("/auth/logout")
    _document, pdf = _print_attestation(client, login, docworld)
    status = _validate(pdf, [ca_pem])
    assert status.intact and status.valid and status.trusted
    assert status.signing_cert.subject.native["organization_name"] == "Association Solidarité Monde"
    verdict = ops.verify_upload(pdf)
    assert verdict.outcome == "genuine" and verdict.signature_ok


def test_non_rsa_pkcs12_is_refused(app, docworld):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    from app.printing.signing import CertificateRefused, read_pkcs12

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "EC NGO")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    data = pkcs12.serialize_key_and_certificates(b"x", key, cert, None, serialization.NoEncryption())
    with pytest.raises(CertificateRefused) as refused:
        read_pkcs12(data, "")
    assert refused.value.code == "not_rsa"
    own, _ca = _own_pkcs12(b"pass")
    assert read_pkcs12(own, "pass").subject == "O=Association Solidarité Monde"
    with pytest.raises(CertificateRefused) as unreadable:
        read_pkcs12(b"not a pkcs12 file", "")
    assert unreadable.value.code == "unreadable"


# --- A local RFC 3161 timestamp server ------------------------------------------------------------------------


def _tsa_certificate():
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.now(UTC)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Local test TSA")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(key, hashes.SHA256())
    )
    der_key = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return cert, der_key


@pytest.fixture
def local_tsa():
    """An RFC 3161 server on 127.0.0.1 (pyHanko's DummyTimeStamper behind HTTP): yields (url, certificate PEM)."""
    from asn1crypto import keys, tsp
    from asn1crypto import x509 as asn1_x509
    from cryptography.hazmat.primitives import serialization
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

    cert, der_key = _tsa_certificate()
    stamper = DummyTimeStamper(
        tsa_cert=asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER)),
        tsa_key=keys.PrivateKeyInfo.load(der_key),
    )
    requests: list[int] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            answer = stamper.request_tsa_response(tsp.TimeStampReq.load(body)).dump()
            requests.append(len(body))
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", cert.public_bytes(serialization.Encoding.PEM), requests
    finally:
        server.shutdown()
        server.server_close()


def test_with_tsa_url_the_signature_carries_a_trusted_timestamp(app, client, login, docworld, local_tsa, monkeypatch):
    from app.printing.signing import trust_roots

    url, tsa_pem, requests = local_tsa
    monkeypatch.setitem(app.config, "TSA_URL", url)
    _document, data = _print_attestation(client, login, docworld)
    assert requests, "the timestamp server was not asked"
    status = _validate(data, [trust_roots(app.config)[0], tsa_pem])
    assert status.intact and status.valid and status.trusted
    assert status.timestamp_validity is not None
    assert status.timestamp_validity.intact and status.timestamp_validity.valid and status.timestamp_validity.trusted


def test_documents_the_platform_key_signed_before_keep_verifying(app, docworld):
    from app.printing.pdf import render
    from app.printing.signing import check_signature, sign_pdf, signing_config, trust_roots

    pdf = render("<p>An attestation from before NGO certificates</p>")
    legacy = sign_pdf(pdf, signing_config(app.config), reason="legacy")
    check = check_signature(legacy, trust_roots(app.config))
    assert check.ok and check.organisation == "Acquis"


def test_verify_pages_link_to_the_trust_root_with_its_fingerprint(app, client, login, docworld):
    from cryptography import x509

    from app.documents import codes
    from app.printing.signing import fingerprint

    document, _data = _print_attestation(client, login, docworld)
    client.post("/auth/logout")
    pem = client.get("/verify/trust-root.pem")
    assert pem.status_code == 200 and pem.data.count(b"BEGIN CERTIFICATE") == 2
    root = x509.load_pem_x509_certificate(pem.data)
    page = client.get(f"/verify/{codes.formatted(document.code)}", headers={"Accept-Language": "en"}).get_data(
        as_text=True
    )
    assert fingerprint(root) in page and "/verify/trust-root.pem" in page
    assert "Signed in the name of" in page and "Solidarité Monde" in page


def test_cli_writes_the_trust_roots(app, tmp_path):
    out = tmp_path / "roots.pem"
    result = app.test_cli_runner().invoke(args=["signing", "trust-root", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().count(b"BEGIN CERTIFICATE") == 2
    assert "SHA-256" in result.output
