"""Validations: the immutable record that an NGO validated one version of one claim, owned by the claims floor.

A validation is a fact about a claim, so it lives where ``claims`` can read it: deleting evidence that a validated
version lists is refused from here (:func:`app.claims.records.validated_claims_using`), without asking a package
above. The review that produces it (submissions, decisions, referents) stays in ``validation``, which writes these
rows; the table (``claim_validations``) and its columns are unchanged.

"Current" is defined once, by :attr:`ClaimValidation.is_current` (a hybrid property: a Python test on a loaded
row, a SQL condition in a query).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from markupsafe import escape
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.claims.models import Claim
from app.core.db import Base, utcnow
from app.core.templating import day_formatter
from app.extensions import db
from app.organisations.models import MembershipRole, Organisation


class ClaimValidation(Base):
    """An immutable record: this version of this claim, with exactly this content, was validated."""

    __tablename__ = "claim_validations"
    __table_args__ = (
        # One winner per NGO: a version of a claim has at most one standing validation by each organisation
        # (other organisations validate it independently).
        sa.Index(
            "uq_claim_validations_claim_version_org",
            "claim_id",
            "claim_version",
            "organisation_id",
            unique=True,
            sqlite_where=sa.text("revoked_at IS NULL"),
            postgresql_where=sa.text("revoked_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: NULL once the holder deleted the claim: the NGO's record outlives it (see ``withdrawn_at``).
    claim_id: Mapped[int | None] = mapped_column(sa.ForeignKey("claims.id", ondelete="SET NULL"), index=True)
    claim_version: Mapped[int]
    item_id: Mapped[int | None] = mapped_column(sa.ForeignKey("submission_items.id", ondelete="SET NULL"))
    snapshot: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    content_hash: Mapped[str] = mapped_column(sa.String(64))
    framework_version_id: Mapped[int] = mapped_column(sa.ForeignKey("framework_versions.id"))
    level: Mapped[int | None]
    validator_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    validator_name: Mapped[str] = mapped_column(sa.String(120), default="")
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    validated_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    revoked_reason: Mapped[str] = mapped_column(sa.Text, default="")
    superseded_at: Mapped[datetime | None]
    # --- Issue 20: the NGO's record outlives the claim; countersignature (app/validation/archive.py, countersign.py)
    #: The volunteer whose claim was validated (NULL once their account is erased).
    holder_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    #: When the holder deleted the claim, its experience or their account: out of the portfolio, kept as a record.
    withdrawn_at: Mapped[datetime | None]
    #: The NGO's rules asked for a second trainer's countersignature when the claim was validated.
    countersignature_required: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    countersigned_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    countersigner_name: Mapped[str] = mapped_column(sa.String(120), default="", server_default="")
    countersigned_at: Mapped[datetime | None]

    claim = relationship(Claim)
    organisation = relationship(Organisation)
    validator = relationship(User, foreign_keys=[validator_id])
    revoked_by = relationship(User, foreign_keys=[revoked_by_id])
    countersigned_by = relationship(User, foreign_keys=[countersigned_by_id])

    @property
    def awaiting_countersignature(self) -> bool:
        """Validated by one trainer, the second one the NGO requires has not signed yet (not complete)."""
        return self.countersignature_required and self.countersigned_at is None

    @hybrid_property
    def is_complete(self) -> bool:
        """Needs no countersignature, or has it."""
        return not self.awaiting_countersignature

    @is_complete.inplace.expression
    @classmethod
    def _is_complete_expression(cls) -> sa.ColumnElement[bool]:
        return sa.or_(cls.countersignature_required.is_(False), cls.countersigned_at.is_not(None))

    @hybrid_property
    def is_current(self) -> bool:
        """Valid and printable: complete, neither revoked, withdrawn by the holder nor replaced by the validation
        of a newer version. In a query, ``ClaimValidation.is_current`` is the same rule as a SQL condition."""
        return (
            self.revoked_at is None
            and self.superseded_at is None
            and self.withdrawn_at is None
            and not self.awaiting_countersignature
        )

    @is_current.inplace.expression
    @classmethod
    def _is_current_expression(cls) -> sa.ColumnElement[bool]:
        return sa.and_(
            cls.revoked_at.is_(None),
            cls.superseded_at.is_(None),
            cls.withdrawn_at.is_(None),
            cls.is_complete,
        )

    @property
    def organisation_name(self) -> str:
        """The validating NGO's name (what :class:`ValidationLine` carries as a plain value)."""
        return self.organisation.name

    def can_revoke(self, user) -> bool:
        """Organisation admins of the NGO that validated."""
        return self.revoked_at is None and self.organisation.has_role(user, MembershipRole.ADMIN)


@dataclass(frozen=True, slots=True)
class ValidationLine:
    """What a list of validations shows of one (the ``validation_line`` macro reads the same attributes of a
    :class:`ClaimValidation`): plain values read in one statement, for pages listing hundreds of them."""

    id: int
    claim_id: int
    claim_version: int
    level: int | None
    validator_name: str
    organisation_name: str
    validated_at: datetime
    revoked_at: datetime | None
    revoked_reason: str
    superseded_at: datetime | None
    withdrawn_at: datetime | None
    countersignature_required: bool
    countersigner_name: str
    countersigned_at: datetime | None

    @property
    def awaiting_countersignature(self) -> bool:
        return self.countersignature_required and self.countersigned_at is None

    @property
    def is_current(self) -> bool:
        """:attr:`ClaimValidation.is_current`, on the plain values."""
        return (
            self.revoked_at is None
            and self.superseded_at is None
            and self.withdrawn_at is None
            and not self.awaiting_countersignature
        )


def validation_lines(
    claim_ids, *, superseded: bool = True, same_claims: sa.Select | OwnerClaims | None = None
) -> dict[int, list[ValidationLine]]:
    """claim id -> its validations as :class:`ValidationLine` (newest first), for every id of ``claim_ids`` (one
    statement; ``superseded=False`` leaves out those replaced by the validation of a newer version).

    ``same_claims``, a select of the ids of the same claims (say, every claim of one owner), is sent instead of the
    ids: a statement listing hundreds of ids costs more to build and convert than to run (psycopg does not cache
    the conversion of a long statement); a row of a claim outside ``claim_ids`` is left out all the same. An
    :class:`OwnerClaims` (every claim of one user) uses a statement built once per process."""
    ids = list(claim_ids)
    result: dict[int, list[ValidationLine]] = {claim_id: [] for claim_id in ids}
    if not ids:
        return result
    if same_claims is None:
        query = _validation_lines_query(superseded).where(ClaimValidation.claim_id.in_(ids))
        parameters = {}
    elif isinstance(same_claims, OwnerClaims):
        # Built once per process: the statement and its cache key cost more than its hundreds of rows.
        query = _owner_validation_lines_query(superseded)
        parameters = {"owner_id": same_claims.owner_id}
    else:
        query = _validation_lines_query(superseded).where(ClaimValidation.claim_id.in_(same_claims.scalar_subquery()))
        parameters = {}
    db.session.flush()  # what session.execute would do first (autoflush); the connection does not
    # Core execution on the session's connection (same transaction): the ORM layer adds nothing to plain columns
    # and cost more than the hundreds of rows themselves.
    for row in db.session.connection().execute(query, parameters).all():  # one fetch, not one per row
        lines = result.get(row[1])
        if lines is not None:
            lines.append(ValidationLine(*row))
    return result


@dataclass(frozen=True, slots=True)
class OwnerClaims:
    """``same_claims`` for :func:`validation_lines`: every claim of the user ``owner_id`` (its statement is built
    once per process, the owner a bound parameter)."""

    owner_id: int


def _validation_lines_query(superseded: bool) -> sa.Select:
    """The statement of :func:`validation_lines` without its claim filter, newest first. Without the superseded
    lines, ``superseded_at`` is always NULL: a constant, not a column read and converted row by row."""
    superseded_at = ClaimValidation.superseded_at if superseded else sa.null()
    query = (
        sa.select(
            ClaimValidation.id,
            ClaimValidation.claim_id,
            ClaimValidation.claim_version,
            ClaimValidation.level,
            ClaimValidation.validator_name,
            Organisation.name,
            ClaimValidation.validated_at,
            ClaimValidation.revoked_at,
            ClaimValidation.revoked_reason,
            superseded_at,
            ClaimValidation.withdrawn_at,
            ClaimValidation.countersignature_required,
            ClaimValidation.countersigner_name,
            ClaimValidation.countersigned_at,
        )
        .join(Organisation, Organisation.id == ClaimValidation.organisation_id)
        .order_by(ClaimValidation.validated_at.desc(), ClaimValidation.id.desc())
    )
    if not superseded:
        query = query.where(ClaimValidation.superseded_at.is_(None))
    return query


@functools.cache
def _owner_validation_lines_query(superseded: bool) -> sa.Select:
    """:func:`_validation_lines_query` for the claims of the owner ``owner_id`` (a bound parameter), built once."""
    owner_claims = sa.select(Claim.id).where(Claim.owner_id == sa.bindparam("owner_id", type_=sa.Integer))
    return _validation_lines_query(superseded).where(ClaimValidation.claim_id.in_(owner_claims.scalar_subquery()))


def validation_day_formatter() -> Callable[[datetime], str]:
    """:func:`app.core.templating.day_formatter` for a page listing many validations, remembering its answers: the
    validations of one decision share their moment, so a page of hundreds formats a handful (converting each to the
    user's time zone was a tenth of such a list)."""
    day = day_formatter()
    days: dict[datetime, str] = {}

    def memoised(value: datetime) -> str:
        text = days.get(value)
        if text is None:
            text = days[value] = day(value)
        return text

    return memoised


class StandingValidationWriter:
    """Writes, as escaped HTML, what a long list says of a standing validation ("Validated" and "Version 2 validated
    by … (NGO) on …. Level 3."), for pages listing hundreds of them: the sentences are translated once per page and
    each distinct value (a validator, an NGO, a day) escaped or formatted once. The rarer revoked, withdrawn or
    countersigned validations are left to the shared ``validation_line`` macro (:meth:`writes`)."""

    def __init__(self) -> None:
        self.badge = f'<span class="badge badge-validated">{escape(_("Validated"))}</span>\n'
        self._line = _(
            "Version %(version)s validated by %(name)s (%(ngo)s) on %(date)s.",
            version="%(version)s",
            name="%(name)s",
            ngo="%(ngo)s",
            date="%(date)s",
        )
        self._level = _("Level %(level)s.", level="%(level)s")
        self._former = _("a former trainer")
        self._day = validation_day_formatter()
        self._escaped: dict[str, str] = {}

    def escape(self, value: str) -> str:
        """``value`` escaped for HTML, each distinct value once per page."""
        text = self._escaped.get(value)
        if text is None:
            text = self._escaped[value] = str(escape(value))
        return text

    @staticmethod
    def writes(validation: ValidationLine) -> bool:
        """Whether :meth:`sentence` writes this validation (standing, with no countersignature to mention)."""
        return validation.is_current and not validation.countersigned_at

    def sentence(self, validation: ValidationLine) -> str:
        """The escaped sentence of a validation :meth:`writes` accepts (without the badge)."""
        text = self._line % {
            "version": validation.claim_version,
            "name": self.escape(validation.validator_name or self._former),
            "ngo": self.escape(validation.organisation_name),
            "date": self.escape(self._day(validation.validated_at)),
        }
        if validation.level:
            text += " " + self._level % {"level": validation.level}
        return text


def withdraw_validations(claim_ids) -> int:
    """Mark the standing records of the claims ``claim_ids`` (ids, or a select of ids) withdrawn by the holder,
    now, before the claims are deleted: the NGO's record outlives the claim (issue 20). Returns how many."""
    count = db.session.execute(
        sa.update(ClaimValidation)
        .where(ClaimValidation.claim_id.in_(claim_ids), ClaimValidation.withdrawn_at.is_(None))
        .values(withdrawn_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    # Loaded records reload after the claims' deletion: withdrawn_at here, claim_id NULLed by the foreign key.
    for obj in list(db.session.identity_map.values()):
        if isinstance(obj, ClaimValidation):
            db.session.expire(obj)
    return count
