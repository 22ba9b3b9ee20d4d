"""Open Badges 3.0: an AchievementCredential for a validated competence, signed as a JWT-VC by the NGO that validated.

* **Issuer**: the NGO that validated, as a Profile served at ``/badges/issuers/<slug>`` (public: its name, its page,
  its image, its country). The NGO signs with its own keys (:mod:`app.portability.keys`): the JOSE header's ``kid``
  names the key in the JWKS at ``/.well-known/jwks.json``, whose entry carries the profile's id as ``iss`` — the way
  OB 3.0 asks verifiers to find an issuer's key. ``RS256`` by default, ``ES256`` on request (``?alg=ES256``).
* **Achievement**: ``achievementType`` Competency, aligned to the framework node (``targetUrl`` the node's URI —
  the ESCO concept URI for ESCO nodes — else its public page; ``targetCode`` the node code; ``targetFramework`` the
  framework version title), with the validated level as a result, a PNG image of the competence and the NGO, and
  its name, description and criteria in the credential's language (``inLanguage``): ``?lang=`` or the holder's.
* **Evidence**: the narrative as validated (the snapshot frozen by the validation), no files.
* **Subject**: a salted SHA-256 of the volunteer's e-mail address (``identifier``), not the address itself.
* **Status**: a W3C Bitstring Status List per NGO and algorithm at ``/badges/issuers/<slug>/status`` (a JWT-VC signed
  with the same key as the credentials that point at it); the bit at the validation's id is set once the validation
  is revoked, so a verifier checking status reports it revoked.
"""

from __future__ import annotations

import base64
import uuid
from datetime import timedelta

import jwt
import sqlalchemy as sa
from flask_babel import gettext as _

from app.claims.models import NARRATIVE_PARTS
from app.claims.narrative import NARRATIVE_LABELS
from app.claims.validations import ClaimValidation
from app.core.db import utcnow
from app.core.i18n import force_locale, is_supported
from app.core.security import canonical_url
from app.extensions import db
from app.frameworks.models import localized
from app.organisations.models import Organisation
from app.portability import images, keys

STATUS_PURPOSE = "revocation"
#: The status list grows in steps of the W3C minimum size (16 KiB uncompressed).
STATUS_LIST_BITS = 131072
OB3_CONTEXTS = ["https://www.w3.org/ns/credentials/v2", "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]
issuer_id = keys.issuer_id


def credential_language(requested: str | None, holder) -> str:
    """The language of a credential: the one asked for when supported, else the holder's, else French."""
    for candidate in (requested, getattr(holder, "locale", None)):
        if candidate and is_supported(candidate):
            return candidate
    return "fr"


def credential_algorithm(requested: str | None) -> str:
    """The signing algorithm asked for (``RS256`` or ``ES256``, any case), else the default; None when unknown."""
    if not requested:
        return keys.DEFAULT_ALGORITHM
    requested = requested.upper()
    return requested if requested in keys.ALGORITHMS else None


def status_list_url(organisation: Organisation, algorithm: str = keys.DEFAULT_ALGORITHM) -> str:
    """The NGO's status list signed with ``algorithm`` (the default needs no parameter)."""
    extra = {} if algorithm == keys.DEFAULT_ALGORITHM else {"alg": algorithm}
    return canonical_url("portability.status_list", slug=organisation.slug, **extra)


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()


def issuer_profile(organisation: Organisation) -> dict:
    """The OB 3.0 Profile of an NGO: name, page, image and country. Its keys are in the JWKS, not here."""
    return {
        "@context": OB3_CONTEXTS,
        "id": issuer_id(organisation),
        "type": ["Profile"],
        "name": organisation.name,
        "url": canonical_url("organisations.detail", slug=organisation.slug),
        "image": {
            "id": canonical_url("portability.issuer_image", slug=organisation.slug),
            "type": "Image",
            "caption": organisation.name,
        },
        "address": {"type": ["Address"], "addressCountryCode": organisation.country},
    }


def badge_eligible(validation) -> bool:
    """Only a current (neither revoked nor superseded) validation gets a new credential."""
    return validation is not None and validation.is_current


def current_validation(claim):
    return db.session.scalar(
        sa.select(ClaimValidation)
        .where(
            ClaimValidation.claim_id == claim.id,
            ClaimValidation.is_current,
        )
        .order_by(ClaimValidation.validated_at.desc(), ClaimValidation.id.desc())
    )


def _level_label(version, level, language: str) -> str:
    for entry in version.levels or []:
        if entry.get("rank") == level:
            return localized(entry.get("label") or {}, language)[0]
    return ""


def badge_image(validation, language: str) -> bytes:
    """The PNG image of a validation's badge: the competence and the NGO, in ``language``."""
    node = validation.claim.node
    with force_locale(language):
        title = localized(node.title, language)[0] or node.code
        return images.badge_png(title, validation.organisation.name, _("Validated competence"))


def build_credential(validation, *, language: str = "fr", algorithm: str = keys.DEFAULT_ALGORITHM):
    """The :class:`openbadgeslib.ob3.OpenBadgeCredential` for a validation (not signed), in ``language``."""
    with force_locale(language):
        return _build_credential(validation, language, algorithm)


def _build_credential(validation, language: str, algorithm: str):
    from openbadgeslib.ob3 import (  # optional dependency
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
    level_label = _level_label(version, validation.level, language)
    snapshot = validation.snapshot or {}
    narrative = "\n\n".join(
        f"{NARRATIVE_LABELS[part]}: {snapshot.get(part) or getattr(claim, part)}"
        for part in NARRATIVE_PARTS
        if snapshot.get(part) or getattr(claim, part)
    )
    achievement = Achievement(
        id=canonical_url("frameworks.node", node_id=node.id) + f"#achievement-{organisation.slug}",
        name=title or node.code,
        description=localized(node.description, language)[0] or title or node.code,
        criteria_narrative=_(
            "Validated by %(organisation)s from the volunteer's account of a mission and their evidence.",
            organisation=organisation.name,
        ),
        image_url=_data_uri(badge_image(validation, language)),
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
    profile = issuer_profile(organisation)
    return OpenBadgeCredential(
        issuer=Issuer(id=profile["id"], name=organisation.name, url=profile["url"], image_url=profile["image"]["id"]),
        recipient_id=None,
        achievement=achievement,
        id=f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, issuer_id(organisation) + f'#v{validation.id}')}",
        issuance_date=validation.validated_at,
        evidence=[Evidence(narrative=narrative[:20000], name=claim.experience.title)],
        credential_status=[status_entry(status_list_url(organisation, algorithm), STATUS_PURPOSE, validation.id)],
        identifiers=[IdentityObject.create(claim.owner.email, salt)],
        results=[Result(value=level_label or str(validation.level))] if validation.level else [],
    )


def credential_payload(validation, *, language: str = "fr", algorithm: str = keys.DEFAULT_ALGORITHM) -> dict:
    """The JWT payload (the credential itself, OB 3.0 native VC-JWT) with its language stated."""
    payload = build_credential(validation, language=language, algorithm=algorithm).to_jwt_payload()
    # Only the two contexts the credential's terms come from (openbadgeslib also lists the extensions context).
    payload["@context"] = list(OB3_CONTEXTS)
    payload["credentialSubject"]["achievement"]["inLanguage"] = language
    return payload


def _sign(organisation: Organisation, payload: dict, algorithm: str) -> str:
    """A compact JWS whose header names the NGO's key by ``kid`` (resolved through the JWKS)."""
    key = keys.private_key(organisation, algorithm)
    kid = keys.public_jwk(organisation, algorithm, key=key)["kid"]
    return jwt.encode(payload, key, algorithm=algorithm, headers={"kid": kid, "typ": "JWT"})


def sign_credential(validation, *, language: str = "fr", algorithm: str = keys.DEFAULT_ALGORITHM) -> str:
    """The signed JWT-VC of a validation, signed by the validating NGO's key."""
    payload = credential_payload(validation, language=language, algorithm=algorithm)
    return _sign(validation.organisation, payload, algorithm)


def status_list_jwt(organisation: Organisation, algorithm: str = keys.DEFAULT_ALGORITHM) -> str:
    """The NGO's signed revocation list: bit ``validation.id`` is set for every revoked validation."""
    from openbadgeslib.ob3 import build_status_list_credential  # optional dependency

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
    url = status_list_url(organisation, algorithm)
    document = build_status_list_credential(
        issuer_id(organisation),
        url,
        STATUS_PURPOSE,
        revoked,
        size_bits=size,
        issued=now - timedelta(minutes=5),
        valid_until=now + timedelta(days=1),
    )
    payload = {**document, "iss": document["issuer"], "jti": document["id"], "nbf": int(now.timestamp()) - 300}
    return _sign(organisation, payload, algorithm)
