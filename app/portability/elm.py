"""A validated mission as a European Learning Model (ELM 3) JSON-LD document — an **unsigned draft**.

European Digital Credentials are sealed by an EDC issuer (eSeal, JAdES); Acquis does not seal them. This document is
an interchange draft the volunteer can hand to an EDC issuer or keep: the mission is a ``LearningActivity``; the
competences validated on it form a ``LearningAchievement`` whose specification lists ``LearningOutcome``s, each with
``relatedESCOSkill`` when a crosswalk (or the node itself) gives an ESCO URI and ``relatedSkill`` for the Acquis
framework node. Text fields are language maps. Ids are ``urn:epass:<type>:<uuid>`` derived from the experience.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload

from app.core.db import utcnow
from app.core.security import canonical_url
from app.experiences.models import Experience
from app.extensions import db
from app.frameworks.models import CrosswalkLink, FrameworkNode, Relation

CONTEXT = ["https://www.w3.org/2018/credentials/v1", "http://data.europa.eu/snb/model/context/edc-ap"]
ESCO_PREFIX = "http://data.europa.eu/esco/"
ESCO_SCHEME = "http://data.europa.eu/esco/concept-scheme/skills"
DRAFT_NOTE = {
    "en": "Unsigned draft exported by Acquis: not a sealed European Digital Credential.",
    "fr": "Brouillon non signé exporté par Acquis : ce n'est pas un justificatif numérique européen scellé.",
    "es": "Borrador sin firmar exportado por Acquis: no es una credencial digital europea sellada.",
}


def _urn(kind: str, experience: Experience, suffix: str = "") -> str:
    seed = f"{current_app.config['BASE_URL']}/experiences/{experience.id}/{kind}/{suffix}"
    return f"urn:epass:{kind}:{uuid.uuid5(uuid.NAMESPACE_URL, seed)}"


def _text(value: str, language: str) -> dict:
    return {language: value}


def esco_uris(node_ids) -> dict[int, list[str]]:
    """ESCO concept URIs per node: the node's own URI when it is an ESCO node, and crosswalk targets (exact, close,
    broader, narrower, related) that are ESCO URIs or ESCO nodes."""
    ids = list(node_ids)
    result: dict[int, list[str]] = {i: [] for i in ids}
    if not ids:
        return result
    for node in db.session.scalars(sa.select(FrameworkNode).where(FrameworkNode.id.in_(ids))):
        if node.uri and node.uri.startswith(ESCO_PREFIX):
            result[node.id].append(node.uri)
    target = sa.orm.aliased(FrameworkNode)
    rows = db.session.execute(
        sa.select(CrosswalkLink.source_node_id, CrosswalkLink.target_uri, target.uri)
        .outerjoin(target, CrosswalkLink.target_node_id == target.id)
        .where(CrosswalkLink.source_node_id.in_(ids), CrosswalkLink.relation.in_(list(Relation)))
    )
    for source_id, target_uri, node_uri in rows:
        for uri in (target_uri, node_uri):
            if uri and uri.startswith(ESCO_PREFIX) and uri not in result[source_id]:
                result[source_id].append(uri)
    return result


def elm_document(experience: Experience, *, language: str = "fr") -> dict:
    """The ELM JSON-LD draft for an experience and its current validations (may have no outcome)."""
    from app.claims.models import Claim
    from app.validation.models import ClaimValidation

    claims = list(
        db.session.scalars(
            sa.select(Claim)
            .where(Claim.experience_id == experience.id)
            .options(selectinload(Claim.node))
            .order_by(Claim.id)
        )
    )
    validations = {
        v.claim_id: v
        for v in db.session.scalars(
            sa.select(ClaimValidation)
            .where(
                ClaimValidation.claim_id.in_([c.id for c in claims] or [0]),
                ClaimValidation.revoked_at.is_(None),
                ClaimValidation.superseded_at.is_(None),
            )
            .options(selectinload(ClaimValidation.organisation))
        )
    }
    validated = [c for c in claims if c.id in validations]
    uris = esco_uris([c.node_id for c in validated])
    outcomes = []
    for claim in validated:
        node = claim.node
        outcome = {
            "id": _urn("learningOutcome", experience, str(claim.id)),
            "type": "LearningOutcome",
            "title": {k: v for k, v in (node.title or {}).items() if v} or _text(node.code, language),
            "relatedSkill": [
                {
                    "id": node.uri or canonical_url("frameworks.node", node_id=node.id),
                    "type": "Concept",
                    "notation": node.code,
                    "prefLabel": {k: v for k, v in (node.title or {}).items() if v},
                }
            ],
        }
        if uris[node.id]:
            outcome["relatedESCOSkill"] = [
                {"id": uri, "type": "Concept", "inScheme": {"id": ESCO_SCHEME, "type": "ConceptScheme"}}
                for uri in uris[node.id]
            ]
        outcomes.append(outcome)
    organisations = {validations[c.id].organisation for c in validated}
    awarding = [
        {
            "id": _urn("organisation", experience, org.slug),
            "type": "Organisation",
            "legalName": _text(org.name, language),
        }
        for org in sorted(organisations, key=lambda o: o.name)
    ]
    temporal = {"type": "PeriodOfTime", "startDate": f"{experience.start_date.isoformat()}T00:00:00Z"}
    if experience.end_date:
        temporal["endDate"] = f"{experience.end_date.isoformat()}T23:59:59Z"
    activity = {
        "id": _urn("learningActivity", experience),
        "type": "LearningActivity",
        "title": _text(experience.title, language),
        "dcType": {"type": "Concept", "prefLabel": {"en": "Volunteering", "fr": "Volontariat", "es": "Voluntariado"}},
        "temporal": temporal,
        "specifiedBy": {
            "id": _urn("learningActivitySpec", experience),
            "type": "LearningActivitySpecification",
            "title": _text(experience.title, language),
        },
    }
    if experience.activities:
        activity["description"] = _text(experience.activities, language)
    if experience.host_country:
        activity["location"] = {
            "type": "Location",
            "address": {"type": "Address", "countryCode": {"type": "Concept", "notation": experience.host_country}},
        }
    if experience.hours:
        activity["workload"] = f"PT{experience.hours}H"
    achievement = {
        "id": _urn("learningAchievement", experience),
        "type": "LearningAchievement",
        "title": _text(experience.title, language),
        "influencedBy": [{"id": activity["id"], "type": "LearningActivity"}],
        "specifiedBy": {
            "id": _urn("learningAchievementSpec", experience),
            "type": "LearningAchievementSpecification",
            "title": _text(experience.title, language),
            "learningOutcome": outcomes,
        },
    }
    if awarding:
        achievement["awardedBy"] = {"type": "AwardingProcess", "awardingBody": awarding}
    return {
        "@context": CONTEXT,
        "id": _urn("credential", experience),
        "type": ["VerifiableCredential", "EuropeanDigitalCredential"],
        "credentialSchema": {"id": "http://data.europa.eu/snb/model/ap/edc-generic-full", "type": "ShaclValidator2017"},
        "issuanceDate": utcnow().replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "displayParameter": {
            "type": "DisplayParameter",
            "title": _text(experience.title, language),
            "description": DRAFT_NOTE,
            "language": [{"type": "Concept", "notation": language}],
        },
        "credentialSubject": {
            "id": _urn("person", experience),
            "type": "Person",
            "fullName": _text(experience.owner.display_name, language),
            "hasClaim": [activity, achievement],
        },
    }
