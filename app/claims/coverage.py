"""Portfolio dashboard figures: coverage per framework, hints, and the coverage chart (pygal SVG).

Coverage here is how much of a framework a volunteer has *claimed*; whether validated claims *meet* a
certification's requirements (the VAE rule) is :mod:`app.claims.requirements`.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from dataclasses import dataclass, field
from datetime import date

import pygal
import sqlalchemy as sa
from flask_babel import get_locale
from flask_babel import gettext as _
from pygal.style import Style

from app.claims.models import NARRATIVE_PARTS, Claim, ClaimState, claim_evidence
from app.claims.operations import CLAIMABLE_KINDS
from app.core.i18n import current_language
from app.experiences.models import Experience, ExperienceKind
from app.extensions import db
from app.frameworks.models import FrameworkNode, FrameworkVersion, localized
from app.organisations.models import Organisation

#: Every character :meth:`str.strip` removes: a narrative part made only of them is blank, as
#: :attr:`Claim.narrative_parts_done` counts it, and ``ltrim`` (PostgreSQL and SQLite) removes the same set.
_BLANK = "".join(ch for ch in map(chr, range(0x3001)) if ch.isspace())


@dataclass(frozen=True, slots=True)
class PortfolioClaim:
    """One claim as the dashboard and its panels show it: plain values read by one statement (no ORM object, no
    lazy attribute: hundreds of them cost the page more than its SQL)."""

    id: int
    node_id: int
    code: str
    version_id: int
    experience_id: int
    experience_title: str
    level_rank: int | None
    state: ClaimState
    has_evidence: bool
    has_narrative: bool


def portfolio_claims(owner_id: int) -> list[PortfolioClaim]:
    """The owner's claims in creation order, as :class:`PortfolioClaim` rows (one statement)."""
    db.session.flush()  # what session.execute would do first (autoflush); the connection does not
    # Core execution on the session's connection (same transaction): the ORM layer adds nothing to plain columns.
    # .all(): one fetch for the whole result (iterating fetched row by row, a tenth of the function's time).
    rows = db.session.connection().execute(_portfolio_claims_query(), {"owner_id": owner_id}).all()
    return [PortfolioClaim(*row) for row in rows]


@functools.cache
def _portfolio_claims_query() -> sa.Select:
    """The statement of :func:`portfolio_claims`, built once (a dozen SQL functions: building it each time cost as
    much as reading 200 rows); the owner is the bound parameter ``owner_id``."""
    has_evidence = (
        sa.select(claim_evidence.c.claim_id).where(claim_evidence.c.claim_id == Claim.id).exists().correlate(Claim)
    )
    # The first 64 characters decide for nearly every text (ltrim copies the whole of a long narrative); the whole
    # text is trimmed only when they are blank. One bound parameter for the blank characters, used a dozen times:
    # sent (and converted by the driver) once, not as twelve copies of the same long string.
    blank = sa.bindparam("blank", _BLANK, type_=sa.String)
    has_narrative = sa.or_(
        *(sa.func.length(sa.func.ltrim(sa.func.substr(getattr(Claim, p), 1, 64), blank)) > 0 for p in NARRATIVE_PARTS),
        *(sa.func.length(sa.func.ltrim(getattr(Claim, part), blank)) > 0 for part in NARRATIVE_PARTS),
    )
    return (
        sa.select(
            Claim.id,
            Claim.node_id,
            FrameworkNode.code,
            FrameworkNode.version_id,
            Claim.experience_id,
            Experience.title,
            Claim.level_rank,
            Claim.state,
            has_evidence,
            has_narrative,
        )
        .join(FrameworkNode, FrameworkNode.id == Claim.node_id)
        .join(Experience, Experience.id == Claim.experience_id)
        .where(Claim.owner_id == sa.bindparam("owner_id"))
        .order_by(Claim.id)
    )


@dataclass(frozen=True, slots=True)
class TimelineExperience:
    """An experience as the dashboard's timeline and hints show it: plain values of one statement (the ORM
    objects with their organisation and status cost three statements and most of the time of a short list)."""

    id: int
    kind: ExperienceKind
    title: str
    start_date: date
    end_date: date | None
    host_country: str
    sending_organisation_label: str


def timeline_experiences(owner_id: int) -> list[TimelineExperience]:
    """The owner's experiences, most recent first, as :class:`TimelineExperience` rows (one statement)."""
    db.session.flush()  # as in portfolio_claims
    rows = db.session.connection().execute(_timeline_query(), {"owner_id": owner_id}).all()
    return [TimelineExperience(*row) for row in rows]


@functools.cache
def _timeline_query() -> sa.Select:
    # Experience.sending_organisation_label, in SQL: the organisation's current name, else the name typed in.
    label = sa.func.coalesce(Organisation.name, Experience.sending_organisation_name)
    return (
        sa.select(
            Experience.id,
            Experience.kind,
            Experience.title,
            Experience.start_date,
            Experience.end_date,
            Experience.host_country,
            label,
        )
        .outerjoin(Organisation, Organisation.id == Experience.sending_organisation_id)
        .where(Experience.owner_id == sa.bindparam("owner_id"))
        .order_by(Experience.start_date.desc(), Experience.id.desc())
    )


@dataclass
class FrameworkCoverage:
    """How much of one framework version a volunteer has claimed (the version's title already in the page's
    language)."""

    version_id: int
    title: str
    claimable_total: int
    claimed: set[int] = field(default_factory=set)
    by_level: dict[int | None, int] = field(default_factory=dict)
    with_evidence: int = 0
    without_evidence: int = 0


@dataclass
class Hints:
    claims_without_evidence: list[PortfolioClaim]
    claims_without_narrative: list[PortfolioClaim]
    missions_without_claims: list[TimelineExperience] | list[Experience]

    @property
    def any(self) -> bool:
        return bool(self.claims_without_evidence or self.claims_without_narrative or self.missions_without_claims)


def coverage(claims: list[PortfolioClaim]) -> list[FrameworkCoverage]:
    """Coverage of every framework version the claims point at (one statement: the versions' titles and numbers
    of claimable competences, as plain values)."""
    result: dict[int, FrameworkCoverage] = {}
    version_ids = {claim.version_id for claim in claims}
    versions = _versions(version_ids)
    for claim in claims:
        item = result.get(claim.version_id)
        if item is None:
            item = result[claim.version_id] = versions[claim.version_id]
        if claim.node_id in item.claimed:
            continue  # the same competence claimed in two experiences counts once
        item.claimed.add(claim.node_id)
        item.by_level[claim.level_rank] = item.by_level.get(claim.level_rank, 0) + 1
        if claim.has_evidence:
            item.with_evidence += 1
        else:
            item.without_evidence += 1
    return sorted(result.values(), key=lambda c: c.title.lower())


def _versions(version_ids: set[int]) -> dict[int, FrameworkCoverage]:
    """An empty :class:`FrameworkCoverage` per version id (its title and claimable total)."""
    if not version_ids:
        return {}
    db.session.flush()  # as in portfolio_claims
    rows = db.session.connection().execute(_versions_query(), {"version_ids": sorted(version_ids)})
    language = current_language()
    return {
        version_id: FrameworkCoverage(version_id, localized(title, language)[0], claimable or 0)
        for version_id, title, claimable in rows
    }


@functools.cache
def _versions_query() -> sa.Select:
    """The statement of :func:`_versions`, built once (the ids are the expanding parameter ``version_ids``)."""
    total = (
        sa.select(sa.func.count())
        .where(FrameworkNode.version_id == FrameworkVersion.id, FrameworkNode.kind.in_(CLAIMABLE_KINDS))
        .correlate(FrameworkVersion)
        .scalar_subquery()
    )
    return sa.select(FrameworkVersion.id, FrameworkVersion.title, total).where(
        FrameworkVersion.id.in_(sa.bindparam("version_ids", expanding=True))
    )


def hints(claims: list[PortfolioClaim], experiences: list[TimelineExperience] | list[Experience]) -> Hints:
    """What is missing: evidence, narratives, claims on missions. Claims under review are left out: they cannot be
    edited until decided, so their hints would lead to a locked page."""
    claimed_experiences = {claim.experience_id for claim in claims}
    editable = [c for c in claims if c.state != ClaimState.SUBMITTED]
    return Hints(
        claims_without_evidence=[c for c in editable if not c.has_evidence],
        claims_without_narrative=[c for c in editable if not c.has_narrative],
        missions_without_claims=[
            e for e in experiences if e.kind == ExperienceKind.MISSION and e.id not in claimed_experiences
        ],
    )


CHART_STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1b1f23",
    foreground_strong="#1b1f23",
    foreground_subtle="#4a5560",
    colors=("#9ecae1", "#4292c6", "#08519c", "#08306b", "#b3401a", "#4a5560"),
    font_family="DejaVu Sans, sans-serif",
)


def coverage_chart(items: list[FrameworkCoverage]) -> str | None:
    """A stacked horizontal bar chart (competences claimed per level, per framework) as an SVG data URI.

    Rendered once per content: the chart depends only on the titles, the counts per level and the language, so the
    SVG is kept in a small in-process cache keyed by them (pygal takes a quarter of the dashboard's time).
    """
    if not items:
        return None
    content = (
        str(get_locale()),
        tuple((item.title, tuple(sorted(item.by_level.items(), key=_level_key))) for item in items),
    )
    return _chart_for(hashlib.sha256(repr(content).encode()).hexdigest(), content)


def _level_key(entry) -> tuple[int, int]:
    rank, _count = entry
    return (1, 0) if rank is None else (0, rank)


@functools.lru_cache(maxsize=512)
def _chart_for(_digest: str, content: tuple) -> str:
    """The chart of ``content`` (language, per framework: title and (rank, count) pairs); cached by its digest."""
    _locale, frameworks = content
    counts = [dict(levels) for _title, levels in frameworks]
    chart = pygal.HorizontalStackedBar(
        style=CHART_STYLE,
        js=[],
        disable_xml_declaration=False,
        width=800,
        height=120 + 60 * len(frameworks),
        legend_at_bottom=True,
        print_values=False,
        show_y_guides=False,
        truncate_label=60,
        title=_("Competences claimed per framework, by level"),
    )
    chart.x_labels = [title for title, _levels in frameworks]
    largest = max(sum(levels.values()) for levels in counts)
    step = max(1, largest // 10)
    chart.y_labels = list(range(0, largest + step, step))  # whole numbers: these are counts of competences
    ranks = sorted({rank for levels in counts for rank in levels if rank is not None})
    for rank in ranks:
        chart.add(_("Level %(rank)d", rank=rank), [levels.get(rank, 0) for levels in counts])
    if any(None in levels for levels in counts):
        chart.add(_("No level"), [levels.get(None, 0) for levels in counts])
    svg = chart.render()
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode()
