"""The instance's signing key and PAdES signatures (pyHanko).

By default each instance generates, on first use, a self-signed RSA-3072 certificate and key under
``INSTANCE_DIR/signing/`` (directory 0700, files 0600). A configured certificate replaces it:
``SIGNING_KEY_PATH`` and ``SIGNING_CERT_PATH`` (PEM), with ``SIGNING_KEY_PASSPHRASE`` when the key is encrypted.

RSA, not ECDSA P-256: pyHanko declares the ISO 32002 extension (PDF 2.0) for ECDSA signatures, which a PDF/A-3 file
must not carry. The signature field is invisible, so no appearance font has to be embedded and PDF/A stays intact.

That key signs what the platform itself vouches for (the volunteer's portfolio, survey reports), and it signed every
document issued before NGOs had identities of their own, so it stays a trust root. Documents an NGO issues
(attestation, VAE dossier, opinion) are signed in the NGO's name: by a certificate the NGO uploaded (PKCS#12), or by
one the instance's own **root CA** issues it (O = the NGO's legal name). The root CA is created on first use under
``INSTANCE_DIR/signing/root-ca/``; its key file is encrypted with the store key (``SIGNING_STORE_KEY``, or derived
from ``SECRET_KEY`` when unset), which also encrypts the NGOs' keys in the database. ``flask signing trust-root``
writes the trust roots (the root CA and the platform certificate) for readers to import.

With ``TSA_URL`` set, each signature carries an RFC 3161 timestamp from that authority (PAdES B-T); otherwise it is
PAdES B-B.
"""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import fcntl
import io
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

SIGNATURE_FIELD = "AcquisSignature"
ROOT_CA_DIR = "root-ca"
#: Validity of a certificate the root CA issues to an NGO.
ORGANISATION_CERTIFICATE_DAYS = 365 * 5
#: Largest PKCS#12 file an NGO admin may upload.
PKCS12_MAX_BYTES = 64 * 1024


@dataclass(frozen=True)
class SigningConfig:
    """A signing key and certificate: files (the platform's key), or PEM data (an NGO's key, decrypted for one
    render and handed to the sandboxed child through its standard input only)."""

    key_path: str = ""
    cert_path: str = ""
    passphrase: str = ""
    key_pem: str = ""
    #: The signer's certificate first, then the rest of its chain.
    cert_pem: str = ""
    tsa_url: str = ""


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
    from cryptography import x509  # optional dependency

    host = base_url.split("://", 1)[-1].split("/", 1)[0] or "localhost"
    usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=True,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    _generate_self_signed(
        directory,
        key_file,
        cert_file,
        common_name=f"Acquis document signing ({host})",
        extensions=[(x509.BasicConstraints(ca=True, path_length=None), True), (usage, True)],
    )


def _generate_self_signed(
    directory: Path,
    key_file: Path,
    cert_file: Path,
    *,
    common_name: str,
    extensions: list,
    passphrase: bytes | None = None,
    subject_key_id: bool = False,
) -> None:
    """Create a self-signed RSA-3072 certificate (O = Acquis, 20 years) and its key once, under ``directory``
    (0700, files 0600; the key encrypted with ``passphrase`` when given). Several workers may start at once: one
    generates under a file lock, the others wait and find the files.

    :param extensions: ``(extension, critical)`` pairs added to the certificate.
    :param subject_key_id: also add the key's Subject Key Identifier (a CA that issues certificates needs it).
    """
    from cryptography import x509  # optional dependency
    from cryptography.hazmat.primitives import hashes, serialization  # optional dependency
    from cryptography.hazmat.primitives.asymmetric import rsa  # optional dependency
    from cryptography.x509.oid import NameOID  # optional dependency

    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    with open(directory / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if key_file.exists() and cert_file.exists():
            return
        key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64]),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Acquis"),
            ]
        )
        now = datetime.now(UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=365 * 20))
        )
        for extension, critical in extensions:
            builder = builder.add_extension(extension, critical=critical)
        if subject_key_id:
            builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        certificate = builder.sign(key, hashes.SHA256())
        encryption = serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
        _write_private(
            key_file, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
        )
        _write_private(cert_file, certificate.public_bytes(serialization.Encoding.PEM))


def _write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically, readable by its owner only."""
    temporary = path.with_suffix(".part")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)


def sign_pdf(pdf: bytes, signing: SigningConfig, *, reason: str = "", location: str = "", name: str = "") -> bytes:
    """A PAdES signature over ``pdf`` (incremental update, invisible field): B-T with a timestamp from
    ``signing.tsa_url``, B-B without one."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter  # optional dependency
    from pyhanko.sign import fields, signers  # optional dependency

    signer = _load_signer(signing)
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    metadata = signers.PdfSignatureMetadata(
        field_name=SIGNATURE_FIELD,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason or None,
        location=location or None,
        name=name or None,
    )
    timestamper = None
    if signing.tsa_url:
        from pyhanko.sign.timestamps.aiohttp_client import HTTPTimeStamper  # optional dependency

        timestamper = HTTPTimeStamper(signing.tsa_url, timeout=20)
    output = io.BytesIO()
    _run_async(
        lambda: signers.async_sign_pdf(
            writer,
            metadata,
            signer=signer,
            timestamper=timestamper,
            new_field_spec=fields.SigFieldSpec(SIGNATURE_FIELD),
            output=output,
        )
    )
    return output.getvalue()


def _load_signer(signing: SigningConfig):
    """A pyHanko signer for ``signing``'s key and certificate(s), holding the key loaded once (see
    :func:`_cached_key_signer`)."""
    from pyhanko.keys import load_cert_from_pemder, load_certs_from_pemder_data  # optional dependency

    if signing.key_pem:
        chain = list(load_certs_from_pemder_data(signing.cert_pem.encode()))
        return _cached_key_signer(signing.key_pem.encode(), None, chain)
    passphrase = signing.passphrase.encode() if signing.passphrase else None
    try:
        certificate = load_cert_from_pemder(signing.cert_path)
        key_data = Path(signing.key_path).read_bytes()
        return _cached_key_signer(key_data, passphrase, [certificate], register_chain=False)
    except (OSError, ValueError, TypeError) as error:
        raise RuntimeError("could not load the signing key or certificate") from error


def _cached_key_signer(key_data: bytes, passphrase: bytes | None, chain: list, *, register_chain: bool = True):
    """A ``SimpleSigner`` that signs with one key object, parsed (and checked) once.

    pyHanko's ``SimpleSigner.sign_raw`` parses its key from DER at every call, and a PAdES signature calls it twice
    (a dry run sizes the signature, then the real one): with OpenSSL 3 each parse of an RSA-3072 key re-runs its
    consistency check, about a tenth of a second of CPU. Here the key is parsed once and kept; signatures other
    than RSA PKCS#1 v1.5 (a PKCS#12 an NGO uploaded with another key type) go through pyHanko's own code.
    """
    from asn1crypto import pem  # optional dependency (pyHanko's)
    from cryptography.hazmat.primitives import serialization  # optional dependency
    from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15  # optional dependency
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey  # optional dependency
    from pyhanko.keys.internal import translate_pyca_cryptography_key_to_asn1  # optional dependency
    from pyhanko.sign import signers  # optional dependency
    from pyhanko_certvalidator.registry import SimpleCertificateStore  # optional dependency
    from pyhanko_certvalidator.util import get_pyca_cryptography_hash  # optional dependency

    load = serialization.load_pem_private_key if pem.detect(key_data) else serialization.load_der_private_key
    key = load(key_data, password=passphrase)

    class CachedKeySigner(signers.SimpleSigner):
        def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
            try:
                mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
            except ValueError:
                mechanism = ""
            if isinstance(key, RSAPrivateKey) and mechanism == "rsassa_pkcs1v15":
                return key.sign(data, PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))
            return super().sign_raw(data, digest_algorithm)

    registry = SimpleCertificateStore.from_certs(chain) if register_chain else SimpleCertificateStore()
    return CachedKeySigner(
        signing_cert=chain[0], signing_key=translate_pyca_cryptography_key_to_asn1(key), cert_registry=registry
    )


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
    #: The signer certificate's O (organisation) attribute: the NGO that signed.
    organisation: str = ""
    #: The signature carries an RFC 3161 timestamp (PAdES B-T).
    timestamped: bool = False

    @property
    def ok(self) -> bool:
        return self.present and self.intact and self.valid and self.trusted and self.covers_whole_file


def check_signature(pdf: bytes, roots) -> SignatureCheck:
    """Validate the (last) signature of ``pdf`` against ``roots``: a certificate file's path (the platform
    certificate, as before), or a list of PEM certificates (see :func:`trust_roots`)."""
    from pyhanko.keys import load_cert_from_pemder, load_certs_from_pemder_data  # optional dependency
    from pyhanko.pdf_utils.reader import PdfFileReader  # optional dependency
    from pyhanko.sign.validation import SignatureCoverageLevel, async_validate_pdf_signature  # optional dependency
    from pyhanko_certvalidator import ValidationContext  # optional dependency

    try:
        reader = PdfFileReader(io.BytesIO(pdf))
        signatures = reader.embedded_signatures
    except Exception:
        return SignatureCheck(False, False, False, False, False)
    if not signatures:
        return SignatureCheck(False, False, False, False, False)
    if isinstance(roots, (str, Path)):
        certificates = [load_cert_from_pemder(str(roots))]
    else:
        certificates = [cert for pem in roots for cert in load_certs_from_pemder_data(pem)]
    context = ValidationContext(trust_roots=certificates)
    status = _run_async(lambda: async_validate_pdf_signature(signatures[-1], context))
    return SignatureCheck(
        present=True,
        intact=bool(status.intact),
        valid=bool(status.valid),
        trusted=bool(status.trusted),
        covers_whole_file=status.coverage == SignatureCoverageLevel.ENTIRE_FILE,
        signer=status.signing_cert.subject.human_friendly if status.signing_cert else "",
        organisation=_organisation_of(status.signing_cert),
        timestamped=status.timestamp_validity is not None,
    )


def _organisation_of(certificate) -> str:
    if certificate is None:
        return ""
    return str(certificate.subject.native.get("organization_name", "") or "")


# --- Trust roots, the instance's root CA and the NGOs' certificates --------------------------------------------


def _derive(config, purpose: bytes) -> bytes:
    """32 bytes for ``purpose`` from ``SIGNING_STORE_KEY``, else from ``SECRET_KEY`` (HKDF: the session key itself
    never encrypts anything, and each purpose gets an unrelated key)."""
    from cryptography.hazmat.primitives import hashes  # optional dependency
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF  # optional dependency

    material = config.get("SIGNING_STORE_KEY") or os.environ.get("SIGNING_STORE_KEY") or config["SECRET_KEY"]
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(material.encode())


def store_cipher(config):
    """The Fernet cipher that protects the NGOs' private keys in the database."""
    from cryptography.fernet import Fernet  # optional dependency

    return Fernet(base64.urlsafe_b64encode(_derive(config, b"acquis signing store")))


def _root_passphrase(config) -> bytes:
    """The root CA key file's passphrase: derived, never written anywhere."""
    return base64.urlsafe_b64encode(_derive(config, b"acquis root ca"))


def instance_root(config):
    """The instance's root CA: (certificate, private key), created on first use (RSA-3072, 20 years, key file
    encrypted, directory 0700, files 0600)."""
    from cryptography import x509  # optional dependency
    from cryptography.hazmat.primitives import serialization  # optional dependency

    directory = Path(config["INSTANCE_DIR"]) / "signing" / ROOT_CA_DIR
    key_file, cert_file = directory / "key.pem", directory / "cert.pem"
    if not (key_file.exists() and cert_file.exists()):
        _generate_root(config, directory, key_file, cert_file)
    certificate = x509.load_pem_x509_certificate(cert_file.read_bytes())
    key = serialization.load_pem_private_key(key_file.read_bytes(), password=_root_passphrase(config))
    return certificate, key


def _generate_root(config, directory: Path, key_file: Path, cert_file: Path) -> None:
    from cryptography import x509  # optional dependency

    _generate_self_signed(
        directory,
        key_file,
        cert_file,
        common_name=f"Acquis root CA ({_host(config)})",
        extensions=[
            (x509.BasicConstraints(ca=True, path_length=0), True),
            (_key_usage(cert_sign=True), True),
        ],
        passphrase=_root_passphrase(config),
        subject_key_id=True,
    )


def _host(config) -> str:
    return config.get("BASE_URL", "").split("://", 1)[-1].split("/", 1)[0] or "localhost"


def _key_usage(*, cert_sign: bool):
    from cryptography import x509  # optional dependency

    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=True,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


@dataclass(frozen=True)
class IssuedCertificate:
    """A certificate and its key for an NGO: PEM chain (signer first), the key in PEM (PKCS#8, unencrypted: the
    caller encrypts it with :func:`store_cipher` before storing it)."""

    chain_pem: str
    key_pem: str
    subject: str
    fingerprint: str
    not_after: datetime


def issue_organisation_certificate(config, legal_name: str, country: str = "") -> IssuedCertificate:
    """A signing certificate for an NGO from the instance's root CA (O = ``legal_name``)."""
    from cryptography import x509  # optional dependency
    from cryptography.hazmat.primitives import hashes, serialization  # optional dependency
    from cryptography.hazmat.primitives.asymmetric import rsa  # optional dependency
    from cryptography.x509.oid import NameOID  # optional dependency

    root_cert, root_key = instance_root(config)
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    attributes = []
    if len(country) == 2 and country.isalpha():
        attributes.append(x509.NameAttribute(NameOID.COUNTRY_NAME, country.upper()))
    attributes += [
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, legal_name[:64]),
        x509.NameAttribute(NameOID.COMMON_NAME, legal_name[:64]),
    ]
    now = datetime.now(UTC)
    not_after = min(now + timedelta(days=ORGANISATION_CERTIFICATE_DAYS), root_cert.not_valid_after_utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(attributes))
        .issuer_name(root_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(cert_sign=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_cert.public_key()),
            critical=False,
        )
        .sign(root_key, hashes.SHA256())
    )
    chain = certificate.public_bytes(serialization.Encoding.PEM) + root_cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return IssuedCertificate(
        chain.decode(), key_pem.decode(), certificate.subject.rfc4514_string(), fingerprint(certificate), not_after
    )


class CertificateRefused(ValueError):
    """An uploaded PKCS#12 that cannot sign; ``code`` names the reason."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


def read_pkcs12(data: bytes, passphrase: str) -> IssuedCertificate:
    """The key and certificate chain inside a PKCS#12 file.

    :raises CertificateRefused: ``too_big``, ``unreadable`` (not PKCS#12, or a wrong passphrase), ``no_key``,
        ``not_rsa`` (an ECDSA signature would break PDF/A-3, see the module's docstring), ``expired``, ``usage``
        (the certificate is not meant for signatures that commit its holder: no non-repudiation key usage, which
        readers and pyHanko's validation require of a document signature).
    """
    from cryptography.hazmat.primitives import serialization  # optional dependency
    from cryptography.hazmat.primitives.asymmetric import rsa  # optional dependency
    from cryptography.hazmat.primitives.serialization import pkcs12  # optional dependency

    if len(data) > PKCS12_MAX_BYTES:
        raise CertificateRefused("too_big")
    try:
        key, certificate, others = pkcs12.load_key_and_certificates(data, passphrase.encode() or None)
    except (ValueError, TypeError):
        raise CertificateRefused("unreadable") from None
    if key is None or certificate is None:
        raise CertificateRefused("no_key")
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < 2048:
        raise CertificateRefused("not_rsa")
    now = datetime.now(UTC)
    if not (certificate.not_valid_before_utc <= now < certificate.not_valid_after_utc):
        raise CertificateRefused("expired")
    if not _commits(certificate):
        raise CertificateRefused("usage")
    chain = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in [certificate, *(others or [])])
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return IssuedCertificate(
        chain.decode(),
        key_pem.decode(),
        certificate.subject.rfc4514_string(),
        fingerprint(certificate),
        certificate.not_valid_after_utc,
    )


def _commits(certificate) -> bool:
    from cryptography import x509  # optional dependency

    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return False
    return usage.content_commitment


def fingerprint(certificate) -> str:
    """The SHA-256 fingerprint of a certificate, as hex pairs separated by colons."""
    from cryptography.hazmat.primitives import hashes  # optional dependency

    return certificate.fingerprint(hashes.SHA256()).hex(":").upper()


def trust_roots(config) -> list[bytes]:
    """The instance's trust roots in PEM: its root CA, then the platform's signing certificate."""
    from cryptography.hazmat.primitives import serialization  # optional dependency

    root_cert, _key = instance_root(config)
    platform = Path(signing_config(config).cert_path).read_bytes()
    return [root_cert.public_bytes(serialization.Encoding.PEM), platform]


def trust_root_fingerprints(config) -> list[tuple[str, str]]:
    """(subject, SHA-256 fingerprint) of each trust root, as the /verify pages print them."""
    from cryptography import x509  # optional dependency

    result = []
    for pem in trust_roots(config):
        certificate = x509.load_pem_x509_certificate(pem)
        result.append((certificate.subject.rfc4514_string(), fingerprint(certificate)))
    return result
