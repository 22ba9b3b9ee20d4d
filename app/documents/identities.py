"""Which key signs a document: the NGO's own (uploaded PKCS#12, or a certificate the instance's root CA issued it)
for the documents an NGO issues, the platform's for the others. Operations flush and log, never commit.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app

from app.auth.models import User
from app.core.audit import log_event
from app.core.db import utcnow
from app.documents.models import DocumentKind, SigningIdentity, SigningSource
from app.extensions import db
from app.organisations.models import Organisation
from app.printing.signing import (
    IssuedCertificate,
    SigningConfig,
    issue_organisation_certificate,
    read_pkcs12,
    signing_config,
    store_cipher,
)

#: The documents an NGO issues and signs in its own name; the portfolio is the volunteer's own document, which the
#: platform signs as a verification service.
NGO_SIGNED_KINDS = (DocumentKind.ATTESTATION, DocumentKind.VAE, DocumentKind.OPINION)


def legal_name(organisation: Organisation) -> str:
    """The name the NGO signs with: its legal name when its profile has one, else its display name."""
    return getattr(organisation, "legal_name", "") or organisation.name


def current_identity(organisation: Organisation) -> SigningIdentity | None:
    """The NGO's current signing identity (not retired, not expired), if any."""
    identity = db.session.scalar(
        sa.select(SigningIdentity)
        .where(SigningIdentity.organisation_id == organisation.id, SigningIdentity.retired_at.is_(None))
        .order_by(SigningIdentity.id.desc())
        .limit(1)
    )
    return identity if identity is not None and identity.is_current else None


def ensure_identity(organisation: Organisation) -> SigningIdentity:
    """The NGO's current identity; a certificate from the instance's root CA is issued when it has none, or when
    the one the instance issued no longer names the NGO's legal name."""
    identity = current_identity(organisation)
    name = legal_name(organisation)
    if identity is not None and (identity.source == SigningSource.UPLOADED or _names(identity, name)):
        return identity
    issued = issue_organisation_certificate(current_app.config, name, organisation.country or "")
    return _store(organisation, SigningSource.INSTANCE, issued, actor=None)


def _names(identity: SigningIdentity, name: str) -> bool:
    from cryptography import x509  # optional dependency
    from cryptography.x509.oid import NameOID  # optional dependency

    certificate = x509.load_pem_x509_certificate(identity.certificate_pem.encode())
    values = certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)
    return bool(values) and values[0].value == name[:64]


def _store(organisation: Organisation, source: SigningSource, issued: IssuedCertificate, actor) -> SigningIdentity:
    now = utcnow()
    db.session.execute(
        sa.update(SigningIdentity)
        .where(SigningIdentity.organisation_id == organisation.id, SigningIdentity.retired_at.is_(None))
        .values(retired_at=now)
        .execution_options(synchronize_session=False)
    )
    identity = SigningIdentity(
        organisation_id=organisation.id,
        source=source,
        certificate_pem=issued.chain_pem,
        key_encrypted=store_cipher(current_app.config).encrypt(issued.key_pem.encode()).decode(),
        subject=issued.subject,
        fingerprint=issued.fingerprint,
        not_after=issued.not_after,
        created_at=now,
    )
    db.session.add(identity)
    db.session.flush()
    log_event(
        "signing.identity_created",
        actor=actor,
        obj=identity,
        organisation_id=organisation.id,
        data={"source": source.value, "subject": issued.subject, "fingerprint": issued.fingerprint},
    )
    return identity


def upload_pkcs12(actor: User, organisation: Organisation, data: bytes, passphrase: str) -> SigningIdentity:
    """Make the NGO's own certificate (a PKCS#12 file and its passphrase) its signing identity.

    :raises app.printing.signing.CertificateRefused: the file cannot sign (see :func:`read_pkcs12`).
    """
    return _store(organisation, SigningSource.UPLOADED, read_pkcs12(data, passphrase), actor)


def use_instance_certificate(actor: User, organisation: Organisation) -> SigningIdentity:
    """Give up an uploaded certificate: the NGO signs again with one the instance's root CA issues it."""
    issued = issue_organisation_certificate(current_app.config, legal_name(organisation), organisation.country or "")
    return _store(organisation, SigningSource.INSTANCE, issued, actor)


def signer_for(kind: DocumentKind, organisation_id: int | None) -> tuple[SigningConfig, str]:
    """The key that signs a document of ``kind`` issued by ``organisation_id``, and the signer's subject.

    The NGO's key is decrypted here, for this render only; ``TSA_URL`` adds a timestamp to either signature.
    """
    tsa_url = current_app.config.get("TSA_URL", "")
    organisation = db.session.get(Organisation, organisation_id) if organisation_id else None
    if kind not in NGO_SIGNED_KINDS or organisation is None:
        platform = signing_config(current_app.config)
        return SigningConfig(platform.key_path, platform.cert_path, platform.passphrase, tsa_url=tsa_url), ""
    identity = ensure_identity(organisation)
    key_pem = store_cipher(current_app.config).decrypt(identity.key_encrypted.encode()).decode()
    return SigningConfig(key_pem=key_pem, cert_pem=identity.certificate_pem, tsa_url=tsa_url), identity.subject


def organisation_trust(organisation_id: int | None) -> list[bytes]:
    """The certificates an NGO uploaded (current and retired): a document they signed is trusted as that NGO's,
    since its admin registered them here. The instance's own roots are added by the caller."""
    if not organisation_id:
        return []
    chains = db.session.scalars(
        sa.select(SigningIdentity.certificate_pem).where(
            SigningIdentity.organisation_id == organisation_id, SigningIdentity.source == SigningSource.UPLOADED
        )
    )
    return [chain.encode() for chain in chains]
