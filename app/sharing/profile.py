"""The adviser's competence profile of a shared portfolio.

Per framework, each competence the volunteer claimed with its highest validated level, who validated it and when,
how many evidence files support it and whether the host referent confirmed it. Built from the data the shared
portfolio page already loads (:func:`app.sharing.operations.shared_portfolio`) plus two statements (framework
versions, confirmed referent requests), whatever the size of the portfolio.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app.claims.models import ClaimState
from app.extensions import db
from app.frameworks.models import FrameworkVersion, localized
from app.sharing.operations import SharedPortfolio
from app.validation.models import ReferentRequest

#: The states a competence of the profile can be in, from the most to the least established.
VALIDATED = "validated"
AWAITING = "awaiting"
CLAIMED = "claimed"
STATE_LABELS = {
    VALIDATED: _l("Validated"),
    AWAITING: _l("Awaiting validation"),
    CLAIMED: _l("Claimed, not validated"),
}
_AWAITING_CLAIM_STATES = (ClaimState.SUBMITTED, ClaimState.CHANGES_REQUESTED)


@dataclass
class ProfileEntry:
    """One competence of the profile."""

    node_id: int
    code: str
    title: tuple[str, str | None]
    state: str = CLAIMED
    level: int | None = None
    level_label: str = ""
    claimed_level: int | None = None
    validator_name: str = ""
    organisation_name: str = ""
    validated_at: datetime | None = None
    evidence_count: int = 0
    missions: int = 0
    referent_name: str = ""
    referent_at: datetime | None = None

    @property
    def state_label(self) -> str:
        return str(STATE_LABELS[self.state])


@dataclass
class FrameworkProfile:
    """The competences of one framework version."""

    version_id: int
    title: tuple[str, str | None]
    max_level: int
    entries: list[ProfileEntry] = field(default_factory=list)

    @property
    def validated_count(self) -> int:
        return sum(1 for e in self.entries if e.state == VALIDATED)


@dataclass
class CompetenceProfile:
    frameworks: list[FrameworkProfile]
    #: All frameworks of the portfolio (the filter's choices), whatever the filters.
    choices: list[tuple[int, tuple[str, str | None]]]

    @property
    def is_empty(self) -> bool:
        return not any(f.entries for f in self.frameworks)


def _level_label(version: FrameworkVersion, rank: int | None) -> str:
    for level in version.levels or []:
        if level.get("rank") == rank:
            return localized(level.get("label"))[0]
    return ""


def _confirmations(experience_ids: list[int]) -> dict[int, ReferentRequest]:
    """claim id -> the latest confirmed referent request that confirmed it (one statement)."""
    if not experience_ids:
        return {}
    rows = db.session.scalars(
        sa.select(ReferentRequest)
        .where(ReferentRequest.experience_id.in_(experience_ids), ReferentRequest.confirmed_at.is_not(None))
        .order_by(ReferentRequest.confirmed_at)
    )
    result: dict[int, ReferentRequest] = {}
    for request in rows:
        for claim_id in request.confirmed_claim_ids or []:
            result[int(claim_id)] = request
    return result


def competence_profile(
    portfolio: SharedPortfolio, *, version_id: int | None = None, state: str | None = None
) -> CompetenceProfile:
    """The profile of ``portfolio``, optionally only one framework version and one state (see STATE_LABELS)."""
    claims = [c for group in portfolio.claims.values() for c in group]
    version_ids = sorted({c.node.version_id for c in claims})
    versions = (
        {v.id: v for v in db.session.scalars(sa.select(FrameworkVersion).where(FrameworkVersion.id.in_(version_ids)))}
        if version_ids
        else {}
    )
    confirmations = _confirmations([e.id for e in portfolio.experiences])
    show_evidence = portfolio.share.include_evidence

    by_version: dict[int, FrameworkProfile] = {}
    entries: dict[int, ProfileEntry] = {}
    evidence_ids: dict[int, set[int]] = {}
    for claim in sorted(claims, key=lambda c: (c.node.version_id, c.node.path, c.node.position, c.node.id)):
        node = claim.node
        version = versions[node.version_id]
        framework = by_version.get(version.id)
        if framework is None:
            ranks = [level.get("rank") or 0 for level in version.levels or []]
            framework = by_version[version.id] = FrameworkProfile(
                version.id, version.display_title(), max(ranks or [0])
            )
        entry = entries.get(node.id)
        if entry is None:
            entry = entries[node.id] = ProfileEntry(node.id, node.code, node.display_title())
            framework.entries.append(entry)
        entry.missions += 1
        if claim.level_rank and (entry.claimed_level or 0) < claim.level_rank:
            entry.claimed_level = claim.level_rank
        if show_evidence:
            evidence_ids.setdefault(node.id, set()).update(e.id for e in claim.evidence)
        if claim.state in _AWAITING_CLAIM_STATES and entry.state == CLAIMED:
            entry.state = AWAITING
        for validation in portfolio.validations.get(claim.id, []):
            if not validation.is_current:
                continue
            better = entry.state != VALIDATED or (validation.level or 0) > (entry.level or 0)
            if better:
                entry.state = VALIDATED
                entry.level = validation.level
                entry.level_label = _level_label(version, validation.level)
                entry.validator_name = validation.validator_name
                entry.organisation_name = validation.organisation.name
                entry.validated_at = validation.validated_at
        referent = confirmations.get(claim.id)
        if referent is not None and (entry.referent_at is None or referent.confirmed_at > entry.referent_at):
            entry.referent_name = referent.name
            entry.referent_at = referent.confirmed_at
    for node_id, ids in evidence_ids.items():
        entries[node_id].evidence_count = len(ids)

    frameworks = list(by_version.values())
    choices = [(f.version_id, f.title) for f in frameworks]
    if version_id is not None:
        frameworks = [f for f in frameworks if f.version_id == version_id]
    if state in STATE_LABELS:
        for framework in frameworks:
            framework.entries = [e for e in framework.entries if e.state == state]
    return CompetenceProfile(frameworks, choices)


#: Geometry of the chart (SVG user units): one row per competence.
CHART_LABEL_WIDTH = 110
CHART_BAR_WIDTH = 420
CHART_ROW_HEIGHT = 28


@dataclass(frozen=True)
class ChartRow:
    y: int
    code: str
    title: str
    claimed_width: int
    validated_width: int
    text: str


def chart_rows(framework: FrameworkProfile) -> list[ChartRow]:
    """Bars of the framework's chart: the claimed level as an outline, the validated level filled."""
    scale = framework.max_level or 1
    rows = []
    for index, entry in enumerate(framework.entries):
        validated = entry.level or 0
        claimed = max(entry.claimed_level or 0, validated)
        if framework.max_level:
            text = (
                f"{entry.level}/{framework.max_level} {entry.level_label}".strip()
                if entry.state == VALIDATED and entry.level
                else entry.state_label
            )
        else:
            text = entry.state_label
        rows.append(
            ChartRow(
                y=index * CHART_ROW_HEIGHT,
                code=entry.code,
                title=entry.title[0],
                claimed_width=round(CHART_BAR_WIDTH * min(claimed, scale) / scale) if framework.max_level else 0,
                validated_width=(
                    round(CHART_BAR_WIDTH * min(validated, scale) / scale)
                    if framework.max_level
                    else (CHART_BAR_WIDTH if entry.state == VALIDATED else 0)
                ),
                text=text,
            )
        )
    return rows
