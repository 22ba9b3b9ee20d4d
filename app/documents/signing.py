"""The instance's signing key and PAdES signatures (pyHanko).

By default each instance generates, on first use, a self-signed RSA-3072 certificate and key under
``INSTANCE_DIR/signing/`` (directory 0700, files 0600). A configured certificate replaces it:
``SIGNING_KEY_PATH`` and ``SIGNING_CERT_PATH`` (PEM), with ``SIGNING_KEY_PASSPHRASE`` when the key is encrypted.

RSA, not ECDSA P-256: pyHanko declares the ISO 32002 extension (PDF 2.0) for ECDSA signatures, which a PDF/A-3 file
must not carry. The signature field is invisible, so no appearance font has to be embedded and PDF/A stays intact.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import fcntl
import io
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

SIGNATURE_FIELD = "AcquisSignature"


@dataclass(frozen=True)
class SigningConfig:
    key_path: str
    cert_path: str
    passphrase: str = ""


def signing_config(config) -> SigningConfig:
    """The signing key and certificate to use, generating the instance's own on first use."""
    key_path = config.get("SIGNING_KEY_PATH") or os.environ.get("SIGNING_KEY_PATH", "")
    cert_path = config.get("SIGNING_CERT_PATH") or os.environ.get("SIGNING_CERT_PATH", "")
    if key_path and cert_path:
        passphrase = config.get("SIGNING_KEY_PASSPHRASE") or os.environ.get("SIGNING_KEY_PASSPHRASE", "")
        return SigningConfig(key_path, cert_path, passphrase)
    directory = Path(config["INSTANCE_DIR"]) / "signing"
    key_file, cert_file = directory / "key.pem", directory / "cert.pem"
    if not (key_file.exists() and cert_file.exists()):
        _generate_instance_key(directory, key_file, cert_file, config.get("BASE_URL", ""))
    return SigningConfig(str(key_file), str(cert_file))


def _generate_instance_key(directory: Path, key_file: Path, cert_file: Path, base_url: str) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    lock_path = directory / ".lock"
    with open(lock_path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # several workers may start at once: one generates, the others wait
        if key_file.exists() and cert_file.exists():
            return
        key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
        host = base_url.split("://", 1)[-1].split("/", 1)[0] or "localhost"
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, f"Acquis document signing ({host})"[:64]),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Acquis"),
            ]
        )
        now = datetime.now(UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=365 * 20))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=True,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(key, hashes.SHA256())
        )
        for path, data in (
            (
                key_file,
                key.private_bytes(
                    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
                ),
            ),
            (cert_file, certificate.public_bytes(serialization.Encoding.PEM)),
        ):
            temporary = path.with_suffix(".part")
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(temporary, path)


def sign_pdf(pdf: bytes, signing: SigningConfig, *, reason: str = "", location: str = "", name: str = "") -> bytes:
    """A PAdES B-B signature over ``pdf`` (incremental update, invisible field)."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    passphrase = signing.passphrase.encode() if signing.passphrase else None
    signer = signers.SimpleSigner.load(signing.key_path, signing.cert_path, key_passphrase=passphrase)
    if signer is None:
        raise RuntimeError("could not load the signing key or certificate")
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    metadata = signers.PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason or None,
        location=location or None,
        name=name or None,
    )
    output = io.BytesIO()
    _run_async(
        lambda: signers.async_sign_pdf(
            writer, metadata, signer=signer, new_field_spec=fields.SigFieldSpec(SIGNATURE_FIELD), output=output
        )
    )
    return output.getvalue()


def _run_async(make_coroutine):
    """Run a pyHanko coroutine to completion, also from a thread that already runs an event loop.

    pyHanko's synchronous helpers call ``asyncio.run``, which refuses to start inside a running loop (an async
    server, or a test session that drives a browser); a short-lived thread with its own loop works everywhere.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make_coroutine())
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make_coroutine())).result()


@dataclass(frozen=True)
class SignatureCheck:
    present: bool
    intact: bool
    valid: bool
    trusted: bool
    covers_whole_file: bool
    signer: str = ""

    @property
    def ok(self) -> bool:
        return self.present and self.intact and self.valid and self.trusted and self.covers_whole_file


def check_signature(pdf: bytes, cert_path: str) -> SignatureCheck:
    """Validate the (last) signature of ``pdf`` against the instance certificate as trust root."""
    from pyhanko.keys import load_cert_from_pemder
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import SignatureCoverageLevel, async_validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    try:
        reader = PdfFileReader(io.BytesIO(pdf))
        signatures = reader.embedded_signatures
    except Exception:
        return SignatureCheck(False, False, False, False, False)
    if not signatures:
        return SignatureCheck(False, False, False, False, False)
    root = load_cert_from_pemder(cert_path)
    context = ValidationContext(trust_roots=[root])
    status = _run_async(lambda: async_validate_pdf_signature(signatures[-1], context))
    return SignatureCheck(
        present=True,
        intact=bool(status.intact),
        valid=bool(status.valid),
        trusted=bool(status.trusted),
        covers_whole_file=status.coverage == SignatureCoverageLevel.ENTIRE_FILE,
        signer=status.signing_cert.subject.human_friendly if status.signing_cert else "",
    )
