"""Gap analysis of a VAE project, bloc by bloc.

The rule, at the level of each competence of a chosen bloc (the same reading as the printed VAE dossier,
``app.documents.context``, with claims not yet validated counted as work in progress):

* **covered** — a current NGO validation of that competence (same framework, same code) or of a competence linked
  to it by an ``exact`` or ``close`` crosswalk link, at or above the level the bloc requires
  (:func:`app.claims.requirements.required_level`);
* **partly covered** — such a claim that is not validated yet (draft, submitted, changes requested), or validated
  below the required level, or a validated/claimed competence linked by a looser link (broader, narrower, related);
* **not covered** — nothing of the above.

A bloc is covered when all its competences are, partly when at least one is covered or partly covered. For each
gap, the volunteer's experiences whose claims touch it (through any link) are the ones that could evidence it;
missions with no claim at all are listed as raw material to write about. On a bloc's page, the competences not
covered also get the missions the suggestion engine finds for them (:func:`suggest_experiences`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app.claims.models import Claim, ClaimState
from app.claims.requirements import MEETING_RELATIONS, required_level
from app.claims.suggestions import experience_text
from app.core.i18n import current_language
from app.documents.context import current_validations
from app.experiences.models import Experience, ExperienceKind
from app.extensions import db
from app.frameworks.models import CrosswalkLink, FrameworkNode, NodeKind, Relation
from app.frameworks.operations import nodes_in_order
from app.frameworks.suggest import index_for
from app.frameworks.suggest_index import top
from app.frameworks.textproc import content_terms, guess_language
from app.vae.models import VaeProject

STATUSES = ("covered", "partly", "not_covered")
#: The suggestion engine reads at most this many missions (the most recent), each up to SUGGEST_TEXT characters; a
#: competence is proposed for a mission when it is among the mission's SUGGEST_TOP best matches, and each gap gets
#: at most SUGGEST_PER_GAP missions. Bounded work, in memory from the version's cached index: one statement.
SUGGEST_MISSIONS = 40
SUGGEST_TEXT = 5_000
SUGGEST_TOP = 5
SUGGEST_PER_GAP = 3


@dataclass
class CompetenceGap:
    node: FrameworkNode
    status: str
    #: Experience ids whose claims support the competence (any link), for "which experiences could evidence it".
    experience_ids: list[int] = field(default_factory=list)
    #: The current NGO validations this competence's status rests on (claims of the same code or linked to it),
    #: which the printed documents list so that /verify shows their live status.
    validation_ids: list[int] = field(default_factory=list)
    #: Missions the suggestion engine finds for a competence not covered (see :func:`suggest_experiences`).
    suggested_ids: list[int] = field(default_factory=list)


@dataclass
class BlocGap:
    node: FrameworkNode
    required: int
    competences: list[CompetenceGap]

    @property
    def code(self) -> str:
        return self.node.code

    @property
    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(STATUSES, 0)
        for item in self.competences:
            counts[item.status] += 1
        return counts

    @property
    def status(self) -> str:
        statuses = {c.status for c in self.competences}
        if self.competences and statuses == {"covered"}:
            return "covered"
        return "partly" if statuses & {"covered", "partly"} else "not_covered"

    @property
    def percent_covered(self) -> int:
        return round(100 * self.counts["covered"] / len(self.competences)) if self.competences else 0


@dataclass
class GapAnalysis:
    blocs: list[BlocGap]
    experiences: dict[int, Experience]
    #: Missions without any claim: material the volunteer has not used yet.
    unused_missions: list[Experience]
    #: Claim id → its current NGO validation (claims of the volunteer, rejected ones left out).
    validations: dict = field(default_factory=dict)


def _meets(claim: Claim, level: int | None, required: int) -> bool:
    if not claim.node.version.levels:
        return True  # a framework without a scale carries no level: the rule cannot apply
    return (level or claim.level_rank or 0) >= required


def analyse(project: VaeProject) -> GapAnalysis:
    """The gap analysis of ``project`` (a fixed number of statements whatever the portfolio's size)."""
    version = project.framework_version
    nodes = nodes_in_order(version.id)
    experiences = {
        e.id: e
        for e in db.session.scalars(
            sa.select(Experience)
            .where(Experience.owner_id == project.owner_id)
            .options(selectinload(Experience.sending_organisation))
            .order_by(Experience.start_date)
        )
    }
    claims = [
        c
        for c in db.session.scalars(
            sa.select(Claim)
            .where(Claim.owner_id == project.owner_id)
            .options(selectinload(Claim.node).selectinload(FrameworkNode.version))
            .order_by(Claim.id)
        )
        if c.state != ClaimState.REJECTED
    ]
    validations = current_validations([c.id for c in claims])
    claim_nodes = {c.node_id for c in claims}
    target_ids = {n.id for n in nodes}
    relations: dict[int, list[tuple[int, Relation]]] = defaultdict(list)
    if claim_nodes:
        for link in db.session.scalars(
            sa.select(CrosswalkLink).where(
                sa.or_(
                    sa.and_(
                        CrosswalkLink.source_node_id.in_(target_ids), CrosswalkLink.target_node_id.in_(claim_nodes)
                    ),
                    sa.and_(
                        CrosswalkLink.source_node_id.in_(claim_nodes), CrosswalkLink.target_node_id.in_(target_ids)
                    ),
                )
            )
        ):
            if link.source_node_id in target_ids:
                relations[link.source_node_id].append((link.target_node_id, link.relation))
            else:
                relations[link.target_node_id].append((link.source_node_id, link.relation.inverse))
    by_node: dict[int, list[Claim]] = defaultdict(list)
    by_code: dict[str, list[Claim]] = defaultdict(list)
    for claim in claims:
        by_node[claim.node_id].append(claim)
        if claim.node.version.framework_id == project.framework_id:
            by_code[claim.node.code].append(claim)

    def judge(node: FrameworkNode, required: int) -> CompetenceGap:
        status = "not_covered"
        used: list[int] = []
        relied: list[int] = []
        candidates = [(c, True) for c in by_code.get(node.code, [])]
        for claim_node_id, relation in relations.get(node.id, []):
            candidates += [(c, relation in MEETING_RELATIONS) for c in by_node.get(claim_node_id, [])]
        for claim, covering in candidates:
            if claim.experience_id not in used:
                used.append(claim.experience_id)
            validation = validations.get(claim.id)
            if validation is not None and validation.id not in relied:
                relied.append(validation.id)
            if covering and validation is not None and _meets(claim, validation.level, required):
                status = "covered"
            elif status == "not_covered":
                status = "partly"
        return CompetenceGap(node, status, used, relied)

    children: dict[int | None, list[FrameworkNode]] = defaultdict(list)
    for node in nodes:
        children[node.parent_id].append(node)
    chosen = set(project.bloc_codes or [])
    blocs = []
    for root in children[None]:
        if root.kind != NodeKind.BLOC or root.code not in chosen:
            continue
        required = required_level(version.certification, root.code)
        competences = [n for n in children[root.id] if n.kind != NodeKind.INDICATOR]
        blocs.append(BlocGap(root, required, [judge(n, required) for n in competences]))
    claimed = {c.experience_id for c in claims}
    unused = [e for e in experiences.values() if e.kind == ExperienceKind.MISSION and e.id not in claimed]
    return GapAnalysis(blocs, experiences, unused, validations)


def suggest_experiences(project: VaeProject, analysis: GapAnalysis, bloc: BlocGap) -> None:
    """Fill ``suggested_ids`` of the competences of ``bloc`` that are not covered: the volunteer's missions whose
    own words (activities, results, context) the suggestion engine matches to that competence of the target
    version, best match first. Missions already supporting the competence through a claim are left out (they are
    listed already). Bounded (see ``SUGGEST_*``) and one statement whatever the portfolio's size."""
    gaps = {item.node.id: item for item in bloc.competences if item.status == "not_covered"}
    if not gaps:
        return
    missions = [e for e in analysis.experiences.values() if e.kind == ExperienceKind.MISSION]
    missions = sorted(missions, key=lambda e: (e.start_date, e.id), reverse=True)[:SUGGEST_MISSIONS]
    index = index_for(project.framework_version)
    positions = {node.id: position for position, node in enumerate(index.nodes) if node.id in gaps}
    if not positions:
        return
    found: dict[int, list[tuple[float, int]]] = defaultdict(list)
    for mission in missions:
        text = experience_text(mission)[:SUGGEST_TEXT]
        language = guess_language(text, default=current_language())
        terms = content_terms(text, language)
        if not terms:
            continue
        weights, _surface = index.query_terms(terms, language)
        ranked = dict(top(index.score(weights), SUGGEST_TOP))
        for node_id, position in positions.items():
            score = ranked.get(position, 0.0)
            if score > 0 and mission.id not in gaps[node_id].experience_ids:
                found[node_id].append((score, mission.id))
    for node_id, scored in found.items():
        scored.sort(key=lambda item: (-item[0], item[1]))
        gaps[node_id].suggested_ids = [mission_id for _score, mission_id in scored[:SUGGEST_PER_GAP]]
