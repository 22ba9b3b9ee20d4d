"""Open Badges 3.0: an AchievementCredential for a validated competence, signed as a JWT-VC by this instance.

* **Issuer**: the NGO that validated, as a Profile served at ``/badges/issuers/<slug>`` (public, with the instance's
  public key as a JWK). Every NGO's credentials are signed with the instance's key (Acquis signs on their behalf).
* **Achievement**: ``achievementType`` Competency, aligned to the framework node (``targetUrl`` the node's URI —
  the ESCO concept URI for ESCO nodes — else its public page; ``targetCode`` the node code; ``targetFramework`` the
  framework version title), with the validated level as a result.
* **Evidence**: the narrative as validated (the snapshot frozen by the validation), no files.
* **Subject**: a salted SHA-256 of the volunteer's e-mail address (``identifier``), not the address itself.
* **Status**: a W3C Bitstring Status List per NGO at ``/badges/issuers/<slug>/status`` (signed JWT-VC); the bit at
  the validation's id is set once the validation is revoked, so a verifier checking status reports it revoked.

The key (EC P-256, ES256) lives in ``INSTANCE_DIR/badges/ob3-key.pem`` (0600), created on first use, unless
``OB3_KEY_PATH`` names another PEM file.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from flask import current_app

from app.claims.models import NARRATIVE_PARTS
from app.claims.narrative import NARRATIVE_LABELS
from app.core.db import utcnow
from app.core.security import canonical_url
from app.extensions import db
from app.frameworks.models import localized
from app.organisations.models import Organisation

ALGORITHM = "ES256"
STATUS_PURPOSE = "revocation"
#: The status list grows in steps of the W3C minimum size (16 KiB uncompressed).
STATUS_LIST_BITS = 131072


def _key_path() -> Path:
    configured = current_app.config.get("OB3_KEY_PATH")
    if configured:
        return Path(configured)
    return Path(current_app.config["INSTANCE_DIR"]) / "badges" / "ob3-key.pem"


def private_key_pem() -> bytes:
    """The instance's signing key (created with restrictive permissions on first use)."""
    path = _key_path()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(pem)
    return path.read_bytes()


def public_key_pem() -> bytes:
    key = serialization.load_pem_private_key(private_key_pem(), password=None)
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def public_jwk() -> dict:
    from jwt.algorithms import ECAlgorithm

    key = serialization.load_pem_private_key(private_key_pem(), password=None)
    return json.loads(ECAlgorithm.to_jwk(key.public_key()))


def issuer_id(organisation: Organisation) -> str:
    return canonical_url("portability.issuer", slug=organisation.slug)


def status_list_url(organisation: Organisation) -> str:
    return canonical_url("portability.status_list", slug=organisation.slug)


def issuer_profile(organisation: Organisation) -> dict:
    """The OB 3.0 Profile of an NGO, with the verification key."""
    return {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        ],
        "id": issuer_id(organisation),
        "type": ["Profile"],
        "name": organisation.name,
        "url": current_app.config["BASE_URL"],
        "publicKeyJwk": public_jwk(),
    }


def badge_eligible(validation) -> bool:
    """Only a current (neither revoked nor superseded) validation gets a new credential."""
    return validation is not None and validation.is_current


def current_validation(claim):
    from app.validation.models import ClaimValidation

    return db.session.scalar(
        sa.select(ClaimValidation)
        .where(
            ClaimValidation.claim_id == claim.id,
            ClaimValidation.revoked_at.is_(None),
            ClaimValidation.superseded_at.is_(None),
        )
        .order_by(ClaimValidation.validated_at.desc(), ClaimValidation.id.desc())
    )


def build_credential(validation, *, language: str = "fr"):
    """The :class:`openbadgeslib.ob3.OpenBadgeCredential` for a validation (not signed)."""
    from openbadgeslib.ob3 import (
        Achievement,
        Alignment,
        Evidence,
        IdentityObject,
        Issuer,
        OpenBadgeCredential,
        Result,
        status_entry,
    )

    claim = validation.claim
    node = claim.node
    version = node.version
    organisation = validation.organisation
    title, _fallback = localized(node.title, language)
    framework_title, _fallback = localized(version.title, language)
    node_url = node.uri or canonical_url("frameworks.node", node_id=node.id)
    level_label = ""
    for level in version.levels or []:
        if level.get("rank") == validation.level:
            level_label = localized(level.get("label") or {}, language)[0]
    snapshot = validation.snapshot or {}
    narrative = "\n\n".join(
        f"{NARRATIVE_LABELS[part]}: {snapshot.get(part) or getattr(claim, part)}"
        for part in NARRATIVE_PARTS
        if snapshot.get(part) or getattr(claim, part)
    )
    achievement = Achievement(
        id=canonical_url("frameworks.node", node_id=node.id),
        name=title or node.code,
        description=localized(node.description, language)[0] or title or node.code,
        criteria_narrative=(
            f"Validated by {organisation.name} from the volunteer's account of a mission and their evidence."
        ),
        achievement_type="Competency",
        alignments=[
            Alignment(
                target_name=title or node.code,
                target_url=node_url,
                target_code=node.code,
                target_framework=f"{framework_title} ({version.version})",
            )
        ],
    )
    salt = uuid.uuid5(uuid.NAMESPACE_URL, f"acquis-ob3-salt:{validation.id}").hex
    credential = OpenBadgeCredential(
        issuer=Issuer(id=issuer_id(organisation), name=organisation.name, url=current_app.config["BASE_URL"]),
        recipient_id=None,
        achievement=achievement,
        id=f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, issuer_id(organisation) + f'#v{validation.id}')}",
        issuance_date=validation.validated_at,
        evidence=[Evidence(narrative=narrative[:20000], name=claim.experience.title)],
        credential_status=[status_entry(status_list_url(organisation), STATUS_PURPOSE, validation.id)],
        identifiers=[IdentityObject.create(claim.owner.email, salt)],
        results=[Result(value=level_label or str(validation.level))] if validation.level else [],
    )
    return credential


def sign_credential(validation, *, language: str = "fr") -> str:
    """The signed JWT-VC of a validation."""
    from openbadgeslib.ob3 import OB3Signer

    return OB3Signer(private_key_pem(), algorithm=ALGORITHM).sign(build_credential(validation, language=language))


def status_list_jwt(organisation: Organisation) -> str:
    """The NGO's signed revocation list: bit ``validation.id`` is set for every revoked validation."""
    from openbadgeslib.ob3 import build_status_list_credential, sign_status_list_credential

    from app.validation.models import ClaimValidation

    revoked = list(
        db.session.scalars(
            sa.select(ClaimValidation.id).where(
                ClaimValidation.organisation_id == organisation.id, ClaimValidation.revoked_at.is_not(None)
            )
        )
    )
    highest = db.session.scalar(sa.select(sa.func.max(ClaimValidation.id))) or 0
    size = STATUS_LIST_BITS * (highest // STATUS_LIST_BITS + 1)
    now = utcnow()
    document = build_status_list_credential(
        issuer_id(organisation),
        status_list_url(organisation),
        STATUS_PURPOSE,
        revoked,
        size_bits=size,
        issued=now - timedelta(minutes=5),
        valid_until=now + timedelta(days=1),
    )
    return sign_status_list_credential(document, private_key_pem(), ALGORITHM)
