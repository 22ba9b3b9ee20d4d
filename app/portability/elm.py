"""Validated missions as European Learning Model (ELM 3) JSON-LD documents — **unsigned** European Digital Credentials.

European Digital Credentials are sealed by an EDC issuer (eSeal, JAdES); Acquis does not seal them. Each document
conforms to the EDC-generic shapes (``EDC-generic-no-cv.ttl``) except what sealing adds (the issuer's eIDAS legal
identifier and the ``issued`` date), so an EDC issuer can load, seal and send it. The mission is a
``LearningActivity``; the competences validated on it form a ``LearningAchievement`` whose specification lists
``LearningOutcome``s, each with ``relatedESCOSkill`` when a crosswalk (or the node itself) gives an ESCO URI and
``relatedSkill`` for the Acquis framework node. The NGO that validated is the issuer and the awarding body (with its
country as location); the host referent's confirmation is carried as ``evidence``. Languages, countries and the
credential type are EU authority-table concepts; text fields are language maps; the display parameters carry a PNG
page of the credential. Ids are ``urn:epass:<type>:<uuid>`` derived from the experience.

A portfolio is a ``VerifiablePresentation`` of the credentials of every validated mission, held by the volunteer.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from app.claims.models import Claim
from app.claims.validations import ClaimValidation
from app.core.db import utcnow
from app.core.i18n import force_locale
from app.core.security import canonical_url
from app.experiences.models import Experience
from app.extensions import db
from app.frameworks.models import CrosswalkLink, FrameworkNode, Relation, localized
from app.portability import eu_vocabularies as vocab
from app.portability import images
from app.validation.models import ReferentRequest

CONTEXT = ["https://www.w3.org/2018/credentials/v1", "http://data.europa.eu/snb/model/context/edc-ap"]
ESCO_PREFIX = "http://data.europa.eu/esco/"
ESCO_SCHEME = "http://data.europa.eu/esco/concept-scheme/skills"
DRAFT_NOTE = {
    "en": "Unsigned draft exported by Acquis: not a sealed European Digital Credential.",
    "fr": "Brouillon non signé exporté par Acquis : ce n'est pas un justificatif numérique européen scellé.",
    "es": "Borrador sin firmar exportado por Acquis: no es una credencial digital europea sellada.",
}
VOLUNTEERING = {"en": "Volunteering", "fr": "Volontariat", "es": "Voluntariado"}
REFERENT_CONFIRMATION = {
    "en": "Confirmation by the host referent",
    "fr": "Confirmation par le référent d'accueil",
    "es": "Confirmación por el referente de acogida",
}


def _urn(kind: str, experience: Experience, suffix: str = "") -> str:
    seed = f"{current_app.config['BASE_URL']}/experiences/{experience.id}/{kind}/{suffix}"
    return f"urn:epass:{kind}:{uuid.uuid5(uuid.NAMESPACE_URL, seed)}"


def _text(value: str, language: str) -> dict:
    return {language: value}


def _iso(moment) -> str:
    return moment.replace(microsecond=0, tzinfo=None).isoformat() + "Z"


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


@dataclass
class Validated:
    """What the exports read about a set of experiences, loaded in a fixed number of statements.

    ``claims``: the claims with a current validation (neither revoked nor superseded), by experience id;
    ``validations``: those validations by claim id (with their NGO); ``esco``: ESCO URIs by node id;
    ``confirmations``: the host referents' confirmations by experience id.
    """

    claims: dict[int, list] = field(default_factory=dict)
    validations: dict[int, object] = field(default_factory=dict)
    esco: dict[int, list[str]] = field(default_factory=dict)
    confirmations: dict[int, list] = field(default_factory=dict)


def load_validated(experiences) -> Validated:
    """Load what :func:`elm_document` and the Europass CV need for ``experiences`` (a fixed number of statements)."""
    ids = [e.id for e in experiences] or [0]
    validations = {
        v.claim_id: v
        for v in db.session.scalars(
            sa.select(ClaimValidation)
            .join(Claim, Claim.id == ClaimValidation.claim_id)
            .where(
                Claim.experience_id.in_(ids),
                ClaimValidation.is_current,
            )
            .options(selectinload(ClaimValidation.organisation))
        )
    }
    loaded = Validated(validations=validations)
    claims = db.session.scalars(
        sa.select(Claim)
        .where(Claim.id.in_(list(validations) or [0]))
        .options(selectinload(Claim.node))
        .order_by(Claim.id)
    )
    for claim in claims:
        loaded.claims.setdefault(claim.experience_id, []).append(claim)
    loaded.esco = esco_uris({c.node_id for group in loaded.claims.values() for c in group})
    confirmed = db.session.scalars(
        sa.select(ReferentRequest)
        .where(ReferentRequest.experience_id.in_(ids), ReferentRequest.confirmed_at.is_not(None))
        .order_by(ReferentRequest.confirmed_at, ReferentRequest.id)
    )
    for request in confirmed:
        loaded.confirmations.setdefault(request.experience_id, []).append(request)
    return loaded


def _organisation(organisation, experience: Experience, language: str) -> dict:
    """An NGO as an ELM Organisation: legal name and location (its country, an EU authority-table concept)."""
    node = {
        "id": _urn("organisation", experience, organisation.slug),
        "type": "Organisation",
        "legalName": _text(organisation.name, language),
        "homepage": {
            "id": _urn("webResource", experience, organisation.slug),
            "type": "WebResource",
            "contentURL": canonical_url("organisations.detail", slug=organisation.slug),
        },
    }
    country = vocab.country_concept(organisation.country)
    if country:
        node["location"] = {
            "id": _urn("location", experience, organisation.slug),
            "type": "Location",
            "address": {
                "id": _urn("address", experience, organisation.slug),
                "type": "Address",
                "countryCode": country,
            },
        }
    return node


def _outcome(claim, experience: Experience, uris: list[str], language: str) -> dict:
    node = claim.node
    labels = {k: v for k, v in (node.title or {}).items() if v}
    outcome = {
        "id": _urn("learningOutcome", experience, str(claim.id)),
        "type": "LearningOutcome",
        "title": labels or _text(node.code, language),
        "relatedSkill": [
            {
                "id": node.uri or canonical_url("frameworks.node", node_id=node.id),
                "type": "Concept",
                "notation": node.code,
                "prefLabel": labels or _text(node.code, language),
            }
        ],
    }
    if uris:
        outcome["relatedESCOSkill"] = [
            {"id": uri, "type": "Concept", "inScheme": {"id": ESCO_SCHEME, "type": "ConceptScheme"}} for uri in uris
        ]
    return outcome


def _activity(experience: Experience, awarded_by: dict | None, language: str) -> dict:
    temporal = {
        "id": _urn("period", experience),
        "type": "PeriodOfTime",
        "startDate": f"{experience.start_date.isoformat()}T00:00:00Z",
    }
    if experience.end_date:
        temporal["endDate"] = f"{experience.end_date.isoformat()}T23:59:59Z"
    activity = {
        "id": _urn("learningActivity", experience),
        "type": "LearningActivity",
        "title": _text(experience.title, language),
        "dcType": {"type": "Concept", "prefLabel": VOLUNTEERING},
        "temporal": temporal,
        "specifiedBy": {
            "id": _urn("learningActivitySpec", experience),
            "type": "LearningActivitySpecification",
            "title": _text(experience.title, language),
            "language": vocab.language_concept(language),
        },
    }
    if awarded_by:
        activity["awardedBy"] = awarded_by
    if experience.activities:
        activity["description"] = _text(experience.activities, language)
    country = vocab.country_concept(experience.host_country)
    if country:
        activity["location"] = {
            "id": _urn("location", experience, "host"),
            "type": "Location",
            "address": {"id": _urn("address", experience, "host"), "type": "Address", "countryCode": country},
        }
    if experience.hours:
        activity["workload"] = f"PT{experience.hours}H"
    return activity


def _referent_evidence(experience: Experience, confirmations, subject_id: str, language: str) -> list[dict]:
    """The host referent's confirmations of the mission, as supporting evidence (who, role, when, what)."""
    evidence = []
    for request in confirmations:
        with force_locale(language):
            facts = _("The facts of the mission were confirmed.") if request.facts_confirmed else ""
            statement = _(
                "Confirmed by the host referent %(name)s (%(role)s, %(organisation)s) on %(date)s.",
                name=request.name,
                role=request.role or "—",
                organisation=request.organisation_name or experience.host_name or "—",
                date=request.confirmed_at.date().isoformat(),
            )
        evidence.append(
            {
                "id": _urn("evidence", experience, str(request.id)),
                "type": "Evidence",
                "dcType": {"type": "Concept", "prefLabel": REFERENT_CONFIRMATION},
                "evidenceStatement": " ".join(part for part in (statement, facts) if part),
                "evidenceTarget": {"id": subject_id, "type": "Person"},
            }
        )
    return evidence


def _display(experience: Experience, outcomes: list[dict], issuer: dict | None, language: str) -> dict:
    """Display parameters: title, languages and a PNG page of the credential (what an EDC wallet shows)."""
    titles = [localized(o["title"], language)[0] for o in outcomes]
    issuer_name = issuer["legalName"][language] if issuer else ""
    page = images.page_png(
        experience.title, experience.owner.display_name, titles, f"{issuer_name} — {DRAFT_NOTE[language]}"
    )
    return {
        "id": _urn("displayParameter", experience),
        "type": "DisplayParameter",
        "title": _text(experience.title, language),
        "description": DRAFT_NOTE,
        "language": vocab.language_concept(language),
        "primaryLanguage": vocab.language_concept(language),
        "individualDisplay": {
            "id": _urn("individualDisplay", experience),
            "type": "IndividualDisplay",
            "language": vocab.language_concept(language),
            "displayDetail": {
                "id": _urn("displayDetail", experience),
                "type": "DisplayDetail",
                "image": vocab.png_media_object(_urn("mediaObject", experience), base64.b64encode(page).decode()),
                "page": 1,
            },
        },
    }


def elm_document(experience: Experience, *, language: str = "fr", loaded: Validated | None = None) -> dict:
    """The ELM JSON-LD credential (unsigned) for an experience and its current validations (may have no outcome).

    ``loaded`` is what :func:`load_validated` read for a set of experiences including this one (loaded here if None).
    """
    loaded = loaded or load_validated([experience])
    validated, validations = loaded.claims.get(experience.id, []), loaded.validations
    outcomes = [_outcome(claim, experience, loaded.esco[claim.node_id], language) for claim in validated]
    organisations = sorted({validations[c.id].organisation for c in validated}, key=lambda o: o.name)
    if not organisations and experience.sending_organisation is not None:
        organisations = [experience.sending_organisation]
    bodies = [_organisation(org, experience, language) for org in organisations]
    awarded_by = (
        {"id": _urn("awardingProcess", experience), "type": "AwardingProcess", "awardingBody": bodies}
        if bodies
        else None
    )
    activity = _activity(experience, awarded_by, language)
    claims = [activity]
    if outcomes:
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
        if awarded_by:
            achievement["awardedBy"] = awarded_by
        claims.append(achievement)
    subject_id = _urn("person", experience)
    document = {
        "@context": CONTEXT,
        "id": _urn("credential", experience),
        "type": ["VerifiableCredential", "EuropeanDigitalCredential"],
        "credentialProfiles": vocab.generic_profile(),
        "credentialSchema": {"id": "http://data.europa.eu/snb/model/ap/edc-generic-full", "type": "ShaclValidator2017"},
        "validFrom": _iso(utcnow()),
        "displayParameter": _display(experience, outcomes, bodies[0] if bodies else None, language),
        "credentialSubject": {
            "id": subject_id,
            "type": "Person",
            "fullName": _text(experience.owner.display_name, language),
            "hasClaim": claims,
        },
    }
    if bodies:
        document["issuer"] = bodies[0]
    evidence = _referent_evidence(experience, loaded.confirmations.get(experience.id, []), subject_id, language)
    if evidence:
        document["evidence"] = evidence
    return document


def validated_experiences(user) -> list[Experience]:
    """The user's experiences with at least one current validation, oldest first."""
    validated = (
        sa.select(Claim.experience_id)
        .join(ClaimValidation, ClaimValidation.claim_id == Claim.id)
        .where(ClaimValidation.is_current)
    )
    return list(
        db.session.scalars(
            sa.select(Experience)
            .where(Experience.owner_id == user.id, Experience.id.in_(validated))
            .order_by(Experience.start_date, Experience.id)
        )
    )


def portfolio_document(user, *, language: str = "fr") -> dict:
    """A VerifiablePresentation of the ELM credentials of every validated mission (each names the volunteer)."""
    experiences = validated_experiences(user)
    loaded = load_validated(experiences)
    credentials = [elm_document(experience, language=language, loaded=loaded) for experience in experiences]
    seed = f"{current_app.config['BASE_URL']}/users/{user.id}/portfolio"
    return {
        "@context": CONTEXT,
        "id": f"urn:epass:presentation:{uuid.uuid5(uuid.NAMESPACE_URL, seed)}",
        "type": ["VerifiablePresentation"],
        "verifiableCredential": credentials,
    }
