"""Plain data for printed documents: models in, JSON-ready dicts out (no ORM object leaves this module).

The dict a ``build_*`` function returns is the document's *snapshot*: it is stored with the document, embedded in
the PDF as ``snapshot.json``, and is the only input of the template. Texts that come from language maps are resolved
in the document's language here, as ``{"text": …, "fallback": "fr" | None}`` so the template marks fallbacks;
dates are ISO strings formatted by the template in the document's language. Every function runs a fixed number of
statements whatever the size of the portfolio.

Every snapshot has the same top-level keys: ``kind``, ``language``, ``holder`` ({"name"}), ``issuer`` ({"name",
"organisation_id"}), ``title`` and ``entries`` — the validations it relies on, each with ``validation_id``,
``code``, ``title``, ``validator``, ``organisation``, ``validated_at`` and ``level`` (the verify page shows their
live status). A printed claim names every organisation whose current validation of the same version stands
(``co_validations``), whichever NGO issues the document, and those are entries too (issue 20).

The VAE dossier's coverage of a certification follows the rule of :mod:`app.claims.requirements`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app.auth.models import User
from app.claims.models import NARRATIVE_PARTS, Claim, ClaimState
from app.claims.requirements import bloc_status, required_level, requirement_status
from app.claims.validations import ClaimValidation
from app.core.countries import country_name
from app.experiences.models import Experience, ExperienceKind
from app.experiences.rules import union_days
from app.extensions import db
from app.frameworks.models import (
    CrosswalkLink,
    Framework,
    FrameworkKind,
    FrameworkNode,
    FrameworkVersion,
    NodeKind,
    Relation,
    localized,
)
from app.frameworks.operations import nodes_in_order
from app.organisations.models import Organisation
from app.organisations.profile import letterhead
from app.validation.models import ReferentRequest, Submission

#: Bumped whenever a template's output changes for the same snapshot (part of the cache key).
TEMPLATE_VERSION = "2026.12.1"


class ContextError(Exception):
    """The document cannot be built; ``code`` names why (the view translates it)."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


# --- Small converters ---------------------------------------------------------------------------------------


def _label(language_map: dict | None, language: str) -> dict:
    text, fallback = localized(language_map, language)
    return {"text": text, "fallback": fallback}


def _date(value: str) -> date:
    return date.fromisoformat(value)


def _iso(value: date | datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _level(version: FrameworkVersion, rank: int | None, language: str) -> dict | None:
    if rank is None:
        return None
    for level in version.levels or []:
        if level.get("rank") == rank:
            return {"rank": rank, **_label(level.get("label"), language)}
    return {"rank": rank, "text": str(rank), "fallback": None}


def _validation_entry(validation: ClaimValidation, language: str) -> dict:
    node = validation.snapshot.get("node", {})
    return {
        "validation_id": validation.id,
        "claim_id": validation.claim_id,
        "claim_version": validation.claim_version,
        "code": node.get("code", ""),
        "title": _label(node.get("title"), language),
        "framework": node.get("framework", ""),
        "validator": validation.validator_name,
        "organisation": validation.organisation.name if validation.organisation else "",
        "validated_at": _iso(validation.validated_at),
        "level": validation.level,
        "content_hash": validation.content_hash,
    }


def as_count(value) -> int | float | None:
    """``value`` as a number, or ``None`` when it is not one.

    A column typed INTEGER on SQLite keeps whatever text an older import stored in it ("lots"); a printed
    document shows such a figure as missing rather than failing. Numeric text ("12") is read as its number.
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return value if value == value and abs(value) != float("inf") else None
    try:
        return int(str(value).strip())
    except ValueError:
        return None


def _facts(experience: Experience, language: str) -> dict:
    status = experience.status
    return {
        "id": experience.id,
        "kind": experience.kind.value,
        "title": experience.title,
        "start_date": _iso(experience.start_date),
        "end_date": _iso(experience.end_date),
        "duration_days": experience.duration_days,
        "status_code": experience.status_code or "",
        "status": _label(status.name, language) if status is not None else None,
        "legal_basis": status.legal_basis if status is not None else "",
        "sending_organisation": experience.sending_organisation_label,
        "host_name": experience.host_name,
        "host_country": experience.host_country,
        "host_country_name": country_name(experience.host_country, language) if experience.host_country else "",
        "host_city": experience.host_city,
        "working_time": experience.working_time.value if experience.working_time else None,
        "hours_per_week": as_count(experience.hours_per_week),
        "team_size": as_count(experience.team_size),
        "budget_managed_eur": as_count(experience.budget_managed_eur),
        "people_served": as_count(experience.people_served),
        "languages_used": experience.languages_used,
        "context": experience.context,
        "activities": experience.activities,
        "results": experience.results,
        "provider": experience.provider,
        "training_kind": experience.training_kind.value if experience.training_kind else None,
        "hours": as_count(experience.hours),
        "certificate": experience.certificate,
    }


def _evidence(evidence) -> dict:
    return {
        "id": evidence.id,
        "title": evidence.title,
        "filename": evidence.original_filename,
        "added_at": _iso(evidence.created_at),
        "sha256": evidence.sha256,
        "mime": evidence.mime,
        "pages": evidence.pages,
        "size": evidence.size,
    }


def _claim(claim: Claim, validation: ClaimValidation | None, language: str, others: list[ClaimValidation] = ()) -> dict:
    """A claim as printed: with a current validation, exactly the version that was validated (the claim may have
    been edited since into a new draft, which must not appear under the validator's name); else as it is now.

    :param others: the other organisations' current validations of the same version (:func:`co_validations`),
        printed beside the first: a document names every validator (issue 20).
    """
    node = claim.node
    version = node.version
    data = {
        "id": claim.id,
        "experience_id": claim.experience_id,
        "code": node.code,
        "title": _label(node.title, language),
        "framework": version.framework.slug,
        "framework_title": _label(version.title, language),
        "framework_version": version.version,
        "level": _level(version, validation.level if validation else claim.level_rank, language),
        "state": "validated" if validation is not None else claim.state.value,
        "narrative": {part: getattr(claim, part) or "" for part in NARRATIVE_PARTS},
        "evidence": [_evidence(e) for e in claim.evidence],
        "validation": _validation_entry(validation, language) if validation is not None else None,
        "co_validations": [_validation_entry(v, language) for v in others] if validation is not None else [],
    }
    if validation is not None and validation.claim_version != claim.version:
        data.update(_validated_content(claim, validation.snapshot or {}, language))
    return data


def _validated_content(claim: Claim, snapshot: dict, language: str) -> dict:
    """The competence, narrative and evidence of the validated version, from the validation's snapshot."""
    content: dict = {"narrative": {part: (snapshot.get("narrative") or {}).get(part) or "" for part in NARRATIVE_PARTS}}
    current = {e.id: e for e in claim.evidence}
    content["evidence"] = [
        _evidence(current[item["id"]])
        if item.get("id") in current and current[item["id"]].sha256 == item.get("sha256")
        else {
            "id": item.get("id"),
            "title": item.get("title", ""),
            "filename": None,
            "added_at": None,
            "sha256": item.get("sha256", ""),
            "mime": item.get("mime"),
            "pages": item.get("pages"),
            "size": None,
        }
        for item in snapshot.get("evidence") or []
    ]
    node = snapshot.get("node") or {}
    if node and node.get("id") != claim.node_id:  # the draft moved to another competence
        content["code"] = node.get("code", "")
        content["title"] = _label(node.get("title"), language)
        content["framework"] = node.get("framework", "")
        content["framework_version"] = node.get("framework_version", "")
    return content


def _holder(holder: User) -> dict:
    return {"id": holder.id, "name": holder.display_name}


# --- Loading -----------------------------------------------------------------------------------------------------


def _claims_of(holder: User, experience_ids) -> list[Claim]:
    return list(
        db.session.scalars(
            sa.select(Claim)
            .where(Claim.owner_id == holder.id, Claim.experience_id.in_(list(experience_ids)))
            .options(
                selectinload(Claim.node).selectinload(FrameworkNode.version).selectinload(FrameworkVersion.framework),
                selectinload(Claim.evidence),
            )
            .order_by(Claim.experience_id, Claim.id)
        )
    )


def co_validations(chosen: dict[int, ClaimValidation]) -> dict[int, list[ClaimValidation]]:
    """For each claim, the other organisations' current validations of the same version as the one printed
    (several NGOs may validate one claim, each on its own; a document names every validator). One statement."""
    versions = {cid: v.claim_version for cid, v in chosen.items()}
    if not versions:
        return {}
    found: dict[int, list[ClaimValidation]] = defaultdict(list)
    query = (
        sa.select(ClaimValidation)
        .where(
            ClaimValidation.claim_id.in_(list(versions)),
            ClaimValidation.id.not_in([v.id for v in chosen.values()]),
            ClaimValidation.is_current,
        )
        .options(selectinload(ClaimValidation.organisation))
        .order_by(ClaimValidation.validated_at, ClaimValidation.id)
    )
    for validation in db.session.scalars(query):
        if versions.get(validation.claim_id) == validation.claim_version:
            found[validation.claim_id].append(validation)
    return found


def validation_entries(claims: list[dict]) -> list[dict]:
    """The ``entries`` of a snapshot: each printed claim's validation followed by the other organisations'
    validations of the same version, once each (the verify page shows the live status of every one)."""
    entries, seen = [], set()
    for claim in claims:
        for entry in [claim["validation"], *(claim.get("co_validations") or [])] if claim.get("validation") else []:
            if entry["validation_id"] not in seen:
                seen.add(entry["validation_id"])
                entries.append(entry)
    return entries


def current_validations(claim_ids, organisation_id: int | None = None) -> dict[int, ClaimValidation]:
    """The current (neither revoked nor superseded) validation of each claim, optionally by one NGO."""
    if not claim_ids:
        return {}
    query = (
        sa.select(ClaimValidation)
        .where(
            ClaimValidation.claim_id.in_(list(claim_ids)),
            ClaimValidation.is_current,
        )
        .options(selectinload(ClaimValidation.organisation))
        .order_by(ClaimValidation.validated_at)
    )
    if organisation_id is not None:
        query = query.where(ClaimValidation.organisation_id == organisation_id)
    return {v.claim_id: v for v in db.session.scalars(query)}


def _confirmations(experience_ids, language: str) -> dict[int, dict]:
    """Facts confirmed by NGOs and answers of host referents, per experience."""
    result: dict[int, dict] = defaultdict(lambda: {"ngo": [], "referents": []})
    if not experience_ids:
        return result
    for submission in db.session.scalars(
        sa.select(Submission)
        .where(Submission.experience_id.in_(list(experience_ids)), Submission.facts_decision.is_not(None))
        .options(selectinload(Submission.organisation), selectinload(Submission.facts_confirmed_by))
        .order_by(Submission.id)
    ):
        result[submission.experience_id]["ngo"].append(
            {
                "organisation": submission.organisation.name,
                "organisation_id": submission.organisation_id,
                "by": submission.facts_confirmed_by.display_name if submission.facts_confirmed_by else "",
                "at": _iso(submission.facts_confirmed_at),
                "decision": submission.facts_decision.value,
                "comment": submission.facts_comment,
            }
        )
    for request in db.session.scalars(
        sa.select(ReferentRequest)
        .where(ReferentRequest.experience_id.in_(list(experience_ids)), ReferentRequest.confirmed_at.is_not(None))
        .order_by(ReferentRequest.id)
    ):
        result[request.experience_id]["referents"].append(_referent_answer(request, language))
    return result


def _referent_answer(request: ReferentRequest, language: str) -> dict:
    """Who confirmed (name, role, organisation, country, date) and what: the facts, and each claim they were
    asked about, confirmed or not."""
    claims = {c["claim_id"]: c for c in request.snapshot.get("claims", [])}
    confirmed = set(request.confirmed_claim_ids or [])
    country = (request.snapshot.get("facts") or {}).get("host_country") or ""
    return {
        "name": request.name,
        "organisation": request.organisation_name,
        "role": request.role,
        "country": country,
        "country_name": country_name(country, language) if country else "",
        "at": _iso(request.confirmed_at),
        "facts_confirmed": bool(request.facts_confirmed),
        "claims": [
            {"code": claims[i]["code"], "title": _label(claims[i].get("title"), language)}
            for i in request.confirmed_claim_ids or []
            if i in claims
        ],
        "claims_not_confirmed": [
            {"code": c["code"], "title": _label(c.get("title"), language)}
            for i, c in claims.items()
            if i not in confirmed
        ],
        "comment": request.comment,
    }


# --- Portfolio dossier ---------------------------------------------------------------------------------------


#: The order in which a competence's claims count for the matrix: a validated claim outweighs a pending one.
_STATE_STRENGTH = ("validated", "submitted")


def summarise_matrix(rows: list[dict]) -> list[dict]:
    """One matrix row per competence: its strongest state, the highest level at that state, the experiences.

    A dossier of 300 claims often shows the same competence in several experiences; the matrix is the overview, and
    each claim is printed in full under its experience anyway.
    """
    by_code: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_code[row["code"]].append(row)
    summary = []
    for code, group in sorted(by_code.items()):
        state = min((row["state"] for row in group), key=_state_weight)
        levels = [row["level"] for row in group if row["state"] == state and row["level"]]
        summary.append(
            {
                "code": code,
                "title": group[0]["title"],
                "level": max(levels, key=lambda level: level["rank"]) if levels else None,
                "state": state,
                "experiences": list(dict.fromkeys(row["experience"] for row in group if row["experience"])),
            }
        )
    return summary


def _state_weight(state: str) -> int:
    return _STATE_STRENGTH.index(state) if state in _STATE_STRENGTH else len(_STATE_STRENGTH)


def build_portfolio(
    holder: User,
    language: str,
    *,
    experience_ids=None,
    validated_only: bool = False,
    organisation: Organisation | None = None,
) -> dict:
    """The portfolio dossier of ``holder``: all experiences, or those in ``experience_ids``.

    :param validated_only: keep only claims with a current validation (what a trainer may print), by
        ``organisation`` when given.
    """
    query = (
        sa.select(Experience)
        .where(Experience.owner_id == holder.id)
        .options(selectinload(Experience.sending_organisation), selectinload(Experience.status))
        .order_by(Experience.start_date, Experience.id)
    )
    if experience_ids:
        query = query.where(Experience.id.in_(list(experience_ids)))
    experiences = list(db.session.scalars(query))
    if not experiences:
        raise ContextError("no_experience")
    claims = _claims_of(holder, [e.id for e in experiences])
    validations = current_validations([c.id for c in claims], organisation.id if organisation else None)
    if validated_only:
        claims = [c for c in claims if c.id in validations]
        kept = {c.experience_id for c in claims}
        experiences = [e for e in experiences if e.id in kept]
        if not experiences:
            raise ContextError("nothing_validated")
    confirmations = _confirmations([e.id for e in experiences], language)
    claims_by_experience: dict[int, list[dict]] = defaultdict(list)
    evidence_index: dict[int, dict] = {}
    matrix: dict[str, dict] = {}
    # Printed by one NGO or by the holder, a dossier names every organisation that validated the same version.
    others = co_validations(validations)
    for claim in claims:
        data = _claim(claim, validations.get(claim.id), language, others.get(claim.id, []))
        claims_by_experience[claim.experience_id].append(data)
        for item in data["evidence"]:
            evidence_index.setdefault(item["id"], item)
        framework = matrix.setdefault(
            f"{data['framework']}@{data['framework_version']}",
            {"framework": data["framework"], "title": data["framework_title"], "rows": []},
        )
        framework["rows"].append(
            {
                "code": data["code"],
                "title": data["title"],
                "level": data["level"],
                "state": data["state"],
                "experience": claim.experience.title if claim.experience else "",
            }
        )
    for framework in matrix.values():
        framework["rows"] = summarise_matrix(framework["rows"])
    experience_data = []
    for experience in experiences:
        facts = _facts(experience, language)
        facts["claims"] = claims_by_experience.get(experience.id, [])
        facts["confirmations"] = confirmations.get(experience.id, {"ngo": [], "referents": []})
        experience_data.append(facts)
    # Every validator is listed: the other organisations' validations of the same version too (issue 20).
    entries = validation_entries([c for e in experience_data for c in e["claims"]])
    missions = [e for e in experience_data if e["kind"] == ExperienceKind.MISSION.value]
    return {
        "kind": "portfolio",
        "language": language,
        "holder": _holder(holder),
        # Printed by an NGO from what it validated: the NGO issues it (and its trainers may download it again).
        "issuer": {"name": organisation.name, "organisation_id": organisation.id}
        if organisation is not None
        else {"name": "Acquis", "organisation_id": None},
        "summary": {
            "experiences": len(experience_data),
            "missions": len(missions),
            # Days on the union of the missions' periods: days two missions share count once.
            "mission_days": union_days(
                (_date(e["start_date"]), _date(e["end_date"])) for e in missions if e["end_date"]
            ),
            "claims": sum(len(e["claims"]) for e in experience_data),
            # Claims, not validations: a claim two NGOs validated counts once.
            "validated": sum(1 for e in experience_data for c in e["claims"] if c["validation"]),
            "evidence": len(evidence_index),
            "countries": sorted({e["host_country_name"] for e in experience_data if e["host_country_name"]}),
        },
        "timeline": [
            {"title": e["title"], "kind": e["kind"], "start_date": e["start_date"], "end_date": e["end_date"]}
            for e in experience_data
        ],
        "matrix": sorted(matrix.values(), key=lambda f: f["framework"]),
        "experiences": experience_data,
        "evidence_index": sorted(evidence_index.values(), key=lambda e: (e["added_at"] or "", e["id"])),
        "entries": entries,
    }


# --- Mission attestation ---------------------------------------------------------------------------------------


def _issuer(organisation: Organisation) -> dict:
    """The issuing NGO with its letterhead (legal name, address, registration, website, logo, stamp) and the
    member who signs its documents."""
    return {
        "name": organisation.legal_name or organisation.name,
        "organisation_id": organisation.id,
        "country": organisation.country,
        "letterhead": letterhead(organisation),
    }


def _vae_issuer(validations: list[ClaimValidation]) -> dict:
    """A VAE dossier is issued by the NGO that validated most of its entries (the volunteer's sending NGO, in
    practice); the platform when none is known."""
    counts = Counter(v.organisation_id for v in validations if v.organisation_id)
    organisation = db.session.get(Organisation, counts.most_common(1)[0][0]) if counts else None
    return _issuer(organisation) if organisation is not None else {"name": "Acquis", "organisation_id": None}


def attestation_issuer(experience: Experience) -> Submission | None:
    """The latest submission of ``experience`` whose facts an NGO confirmed (the NGO then issues the attestation)."""
    return db.session.scalar(
        sa.select(Submission)
        .where(Submission.experience_id == experience.id, Submission.facts_decision.is_not(None))
        .options(selectinload(Submission.organisation), selectinload(Submission.facts_confirmed_by))
        .order_by(Submission.facts_confirmed_at.desc(), Submission.id.desc())
        .limit(1)
    )


def build_attestation(holder: User, experience: Experience, language: str) -> dict:
    """The attestation of a mission whose facts the sending NGO confirmed, with the competences it validated.

    :raises ContextError: ``not_mission`` or ``facts_not_confirmed``.
    """
    if experience.owner_id != holder.id or experience.kind != ExperienceKind.MISSION:
        raise ContextError("not_mission")
    submission = attestation_issuer(experience)
    if submission is None:
        raise ContextError("facts_not_confirmed")
    organisation = submission.organisation
    claims = _claims_of(holder, [experience.id])
    validations = current_validations([c.id for c in claims], organisation.id)
    others = co_validations(validations)
    validated = [_claim(c, validations[c.id], language, others.get(c.id, [])) for c in claims if c.id in validations]
    facts = _facts(experience, language)
    # The facts the NGO confirmed are the ones printed (a later edit does not change an attestation).
    confirmed = submission.facts or {}
    for key in ("title", "start_date", "end_date", "host_name", "host_country", "host_city", "status_code"):
        if key in confirmed:
            facts[key] = confirmed[key]
    if facts.get("host_country"):
        facts["host_country_name"] = country_name(facts["host_country"], language)
    return {
        "kind": "attestation",
        "language": language,
        "holder": _holder(holder),
        "issuer": _issuer(organisation),
        "vsi": facts.get("status_code") == "VSI",
        "mission": facts,
        "confirmed": {
            "by": submission.facts_confirmed_by.display_name if submission.facts_confirmed_by else "",
            "at": _iso(submission.facts_confirmed_at),
            "decision": submission.facts_decision.value,
            "comment": submission.facts_comment,
            # What the trainer acknowledged (overlaps, an unusual duration): printed as a short note.
            "warnings": list(submission.facts_warnings or []),
        },
        "competences": validated,
        "entries": validation_entries(validated),
        "referents": _confirmations([experience.id], language)[experience.id]["referents"],
    }


# --- VAE dossier -----------------------------------------------------------------------------------------------


def vae_frameworks() -> list[Framework]:
    """Frameworks a VAE dossier can target (RNCP certifications)."""
    return list(
        db.session.scalars(
            sa.select(Framework)
            # Only the shared catalogue: a version from a person's data import is never current.
            .where(Framework.kind == FrameworkKind.RNCP, Framework.versions.any(FrameworkVersion.is_current))
            .options(selectinload(Framework.versions))
            .order_by(Framework.slug)
        )
    )


def build_vae(holder: User, framework_slug: str, language: str, *, annex_evidence: bool = False) -> dict:
    """The VAE dossier of ``holder`` for the current version of an RNCP framework: blocs → competences → coverage,
    with the validated claims (narratives, evidence) supporting each, in the order of the référentiel (livret 2).

    :raises ContextError: ``unknown_framework`` or ``nothing_validated``.
    """
    framework = db.session.scalar(
        sa.select(Framework).where(Framework.slug == framework_slug).options(selectinload(Framework.versions))
    )
    version = framework.current_version if framework is not None else None
    if version is None or framework.kind != FrameworkKind.RNCP:
        raise ContextError("unknown_framework")
    nodes = nodes_in_order(version.id)
    experiences = {
        e.id: e
        for e in db.session.scalars(
            sa.select(Experience)
            .where(Experience.owner_id == holder.id)
            .options(selectinload(Experience.sending_organisation), selectinload(Experience.status))
        )
    }
    claims = _claims_of(holder, list(experiences))
    validations = current_validations([c.id for c in claims])
    claims = [c for c in claims if c.id in validations]
    if not claims:
        raise ContextError("nothing_validated")
    others = co_validations(validations)
    claim_nodes = {c.node_id for c in claims}
    target_ids = {n.id for n in nodes}
    relations: dict[int, list[tuple[int, Relation]]] = defaultdict(list)  # target node → (claim node, relation)
    for link in db.session.scalars(
        sa.select(CrosswalkLink).where(
            sa.or_(
                sa.and_(CrosswalkLink.source_node_id.in_(target_ids), CrosswalkLink.target_node_id.in_(claim_nodes)),
                sa.and_(CrosswalkLink.source_node_id.in_(claim_nodes), CrosswalkLink.target_node_id.in_(target_ids)),
            )
        )
    ):
        if link.source_node_id in target_ids:
            relations[link.source_node_id].append((link.target_node_id, link.relation))
        else:
            relations[link.target_node_id].append((link.source_node_id, link.relation.inverse))
    claims_by_node: dict[int, list[Claim]] = defaultdict(list)
    claims_by_code: dict[str, list[Claim]] = defaultdict(list)
    for claim in claims:
        claims_by_node[claim.node_id].append(claim)
        if claim.node.version.framework_id == framework.id:
            claims_by_code[claim.node.code].append(claim)

    def support(node: FrameworkNode, required: int) -> tuple[str, list[dict]]:
        found: list[dict] = []
        supporting: list[tuple[Claim, int | None, Relation | None]] = []
        for claim in claims_by_code.get(node.code, []):
            found.append(
                {"relation": "same", **_claim(claim, validations[claim.id], language, others.get(claim.id, []))}
            )
            supporting.append((claim, validations[claim.id].level, None))
        for claim_node_id, relation in relations.get(node.id, []):
            for claim in claims_by_node.get(claim_node_id, []):
                printed = _claim(claim, validations[claim.id], language, others.get(claim.id, []))
                found.append({"relation": relation.value, **printed})
                supporting.append((claim, validations[claim.id].level, relation))
        for item in found:
            experience = experiences.get(item["experience_id"])
            item["experience"] = experience.title if experience else ""
        return requirement_status(supporting, required), found

    children: dict[int | None, list[FrameworkNode]] = defaultdict(list)
    for node in nodes:
        children[node.parent_id].append(node)
    blocs = []
    for root in children[None]:
        competences = [n for n in children[root.id] if n.kind != NodeKind.INDICATOR] or (
            [root] if root.kind != NodeKind.BLOC else []
        )
        rows = []
        required = required_level(version.certification, root.code)
        for competence in competences:
            status, found = support(competence, required)
            rows.append(
                {
                    "code": competence.code,
                    "title": _label(competence.title, language),
                    "status": status,
                    "support": found,
                }
            )
        blocs.append(
            {
                "code": root.code,
                "title": _label(root.title, language),
                "description": _label(root.description, language),
                "status": bloc_status(row["status"] for row in rows),
                "required_level": required,
                "competences": rows,
            }
        )
    entries = validation_entries([item for bloc in blocs for row in bloc["competences"] for item in row["support"]])
    counts = defaultdict(int)
    for bloc in blocs:
        for row in bloc["competences"]:
            counts[row["status"]] += 1
    used = sorted({c.experience_id for c in claims}, key=lambda i: experiences[i].start_date)
    return {
        "kind": "vae",
        "language": language,
        "holder": _holder(holder),
        "issuer": _vae_issuer([validations[c.id] for c in claims]),
        "framework": {
            "slug": framework.slug,
            "version": version.version,
            "title": _label(version.title, language),
            "certification": dict(version.certification or {}),
            "example": bool(version.example),
        },
        "counts": dict(counts),
        "blocs": blocs,
        "experiences": _with_referents([_facts(experiences[i], language) for i in used], language),
        "entries": entries,
        "annexes": _annexes(blocs) if annex_evidence else [],
    }


_EXTENSIONS = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}


def _annexes(blocs: list[dict]) -> list[dict]:
    """The evidence index of a VAE dossier: each evidence file supporting a listed claim once, with a safe file
    name and the claims (codes) it supports."""
    annexes: dict[int, dict] = {}
    for bloc in blocs:
        for row in bloc["competences"]:
            for item in row["support"]:
                for evidence in item.get("evidence") or []:
                    annex = annexes.setdefault(
                        evidence["id"],
                        {
                            "id": evidence["id"],
                            "name": f"evidence-{len(annexes) + 1:02d}-{evidence['sha256'][:8]}."
                            f"{_EXTENSIONS.get(evidence['mime'], 'bin')}",
                            "title": evidence["title"],
                            "mime": evidence["mime"],
                            "sha256": evidence["sha256"],
                            "size": evidence["size"],
                            "claims": [],
                        },
                    )
                    if item["code"] not in annex["claims"]:
                        annex["claims"].append(item["code"])
    return list(annexes.values())


def _with_referents(facts: list[dict], language: str) -> list[dict]:
    """``facts`` of experiences, each with the answers of its host referents (one statement for all)."""
    confirmations = _confirmations([f["id"] for f in facts], language)
    for item in facts:
        item["referents"] = confirmations[item["id"]]["referents"] if item["id"] in confirmations else []
    return facts


# --- Association's opinion ---------------------------------------------------------------------------------------


def build_opinion(opinion, language: str) -> dict:
    """The association's opinion with the entries its NGO validated for the volunteer."""
    volunteer = opinion.volunteer
    organisation = opinion.organisation
    experiences = {
        e.id: e
        for e in db.session.scalars(
            sa.select(Experience)
            .where(Experience.owner_id == volunteer.id)
            .options(selectinload(Experience.sending_organisation), selectinload(Experience.status))
            .order_by(Experience.start_date)
        )
    }
    claims = _claims_of(volunteer, list(experiences))
    validations = _opinion_validations(opinion, [c.id for c in claims])
    others = co_validations(validations)
    validated = [_claim(c, validations[c.id], language, others.get(c.id, [])) for c in claims if c.id in validations]
    used = {c["experience_id"] for c in validated}
    return {
        "kind": "opinion",
        "language": language,
        "holder": _holder(volunteer),
        "issuer": _issuer(organisation),
        "opinion": {
            "id": opinion.id,
            "author": opinion.author_name,
            "author_role": opinion.author_role,
            "target_certification": opinion.target_certification,
            "relationship": opinion.relationship_text,
            "engagement": opinion.engagement,
            "competences": opinion.competences,
            "opinion": opinion.opinion,
            "written_at": _iso(opinion.updated_at),
            "version": opinion.version,
        },
        "experiences": _with_referents([_facts(experiences[i], language) for i in experiences if i in used], language),
        "competences": validated,
        "entries": validation_entries(validated),
    }


def _opinion_validations(opinion, claim_ids) -> dict[int, ClaimValidation]:
    """The validations an opinion was frozen on (claim id → validation); the NGO's current ones for an opinion
    written before opinions were frozen."""
    if not opinion.validation_ids:
        return current_validations(claim_ids, opinion.organisation_id)
    frozen = db.session.scalars(
        sa.select(ClaimValidation)
        .where(ClaimValidation.id.in_(opinion.validation_ids))
        .options(selectinload(ClaimValidation.organisation))
    )
    return {v.claim_id: v for v in frozen if v.claim_id in set(claim_ids)}


def claim_states() -> tuple[str, ...]:
    return tuple(s.value for s in ClaimState)


def validation_entry(validation: ClaimValidation, language: str) -> dict:
    """The ``entries`` item of a snapshot for ``validation``, for packages that print through ``documents`` (the
    VAE documents): the same keys as every other document, so /verify shows the validation's live status."""
    return _validation_entry(validation, language)
