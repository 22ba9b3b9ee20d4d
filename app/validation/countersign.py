"""A second trainer's countersignature, required by an NGO for some frameworks or levels (issue 20).

An NGO admin lists :class:`CountersignatureRule` rows: "claims on framework F (at level L or above) need a second
trainer". When a trainer validates such a claim, the :class:`~app.validation.models.ClaimValidation` is created with
``countersignature_required``; it is not complete — not current, not printable, not listed in the portfolio — until
another trainer of the same NGO (neither the validator nor the holder) countersigns it. The countersignature is a
guarded ``UPDATE … WHERE countersigned_at IS NULL``: two trainers countersigning at once give one winner, the other
learns who signed first. Completing the validation supersedes the NGO's earlier validation of the claim, as a
validation without countersignature does at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.claims.validations import ClaimValidation
from app.core.audit import log_event
from app.core.db import Base, utcnow
from app.core.errors import UserError
from app.extensions import db
from app.organisations.models import MembershipRole, Organisation
from app.validation.errors import AlreadyDecided, TransitionRefused

#: "Any framework" in a rule's ``framework_slug``.
ANY_FRAMEWORK = "*"


class CountersignatureRule(Base):
    """One NGO's rule: validations of claims on ``framework_slug`` (``*``: any) at ``min_level`` or above (NULL:
    any level) need a second trainer's countersignature."""

    __tablename__ = "countersignature_rules"
    __table_args__ = (
        sa.UniqueConstraint("organisation_id", "framework_slug", name="uq_countersignature_rules_org_framework"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id", ondelete="CASCADE"))
    framework_slug: Mapped[str] = mapped_column(sa.String(100))
    min_level: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    organisation = relationship(Organisation)

    def applies_to(self, framework_slug: str, level: int | None) -> bool:
        """Whether a validation on ``framework_slug`` at ``level`` falls under this rule."""
        if self.framework_slug not in (ANY_FRAMEWORK, framework_slug):
            return False
        return self.min_level is None or (level is not None and level >= self.min_level)


def rules_of(organisation_id: int) -> list[CountersignatureRule]:
    """The NGO's rules, by framework."""
    return list(
        db.session.scalars(
            sa.select(CountersignatureRule)
            .where(CountersignatureRule.organisation_id == organisation_id)
            .order_by(CountersignatureRule.framework_slug)
        )
    )


def requires_countersignature(organisation_id: int, framework_slug: str, level: int | None) -> bool:
    """Whether the NGO's rules ask a second trainer to countersign this validation (one statement)."""
    return any(rule.applies_to(framework_slug, level) for rule in rules_of(organisation_id))


@dataclass(frozen=True)
class RuleData:
    framework_slug: str
    min_level: int | None = None


def set_rule(organisation: Organisation, actor: User, data: RuleData) -> CountersignatureRule:
    """Add or change the NGO's rule for one framework. Only the NGO's admins.

    :raises TransitionRefused: ``actor`` is not an admin. :raises UserError: no framework, negative level.
    """
    if not organisation.has_role(actor, MembershipRole.ADMIN):
        raise TransitionRefused("not an admin of the NGO")
    slug = (data.framework_slug or "").strip()
    if not slug or len(slug) > 100:
        raise UserError(_l("Please choose a framework."), "framework_slug")
    if data.min_level is not None and data.min_level < 1:
        raise UserError(_l("The level must be 1 or more."), "min_level")
    rule = db.session.scalar(
        sa.select(CountersignatureRule).where(
            CountersignatureRule.organisation_id == organisation.id, CountersignatureRule.framework_slug == slug
        )
    )
    if rule is None:
        rule = CountersignatureRule(organisation_id=organisation.id, framework_slug=slug)
        db.session.add(rule)
    rule.min_level = data.min_level
    db.session.flush()
    log_event(
        "countersignature.rule_set",
        actor=actor,
        obj=organisation,
        organisation_id=organisation.id,
        data={"framework": slug, "min_level": data.min_level},
    )
    return rule


def delete_rule(rule: CountersignatureRule, actor: User) -> None:
    """Remove one rule (validations already awaiting a countersignature still need it)."""
    organisation = rule.organisation
    if not organisation.has_role(actor, MembershipRole.ADMIN):
        raise TransitionRefused("not an admin of the NGO")
    log_event(
        "countersignature.rule_deleted",
        actor=actor,
        obj=organisation,
        organisation_id=organisation.id,
        data={"framework": rule.framework_slug},
    )
    db.session.delete(rule)
    db.session.flush()


def can_countersign(validation: ClaimValidation, user) -> bool:
    """A trainer of the validating NGO other than the validator and the holder, while a countersignature is due."""
    user_id = getattr(user, "id", None)
    return (
        user_id is not None
        and validation.awaiting_countersignature
        and validation.revoked_at is None
        and validation.withdrawn_at is None
        and user_id not in (validation.validator_id, validation.holder_id)
        and validation.organisation.has_role(user, MembershipRole.TRAINER)
    )


def awaiting_countersignature(organisation_ids: list[int], limit: int = 100) -> list[ClaimValidation]:
    """Validations of these NGOs waiting for a second trainer, oldest first (one statement)."""
    if not organisation_ids:
        return []
    return list(
        db.session.scalars(
            sa.select(ClaimValidation)
            .where(
                ClaimValidation.organisation_id.in_(organisation_ids),
                ClaimValidation.countersignature_required.is_(True),
                ClaimValidation.countersigned_at.is_(None),
                ClaimValidation.revoked_at.is_(None),
                ClaimValidation.withdrawn_at.is_(None),
            )
            .order_by(ClaimValidation.validated_at, ClaimValidation.id)
            .limit(limit)
        )
    )


def supersede_others(validation: ClaimValidation, now: datetime) -> None:
    """The NGO's earlier standing validations of the same claim give way to ``validation`` (other NGOs' stay)."""
    if validation.claim_id is None:
        return
    db.session.execute(
        sa.update(ClaimValidation)
        .where(
            ClaimValidation.claim_id == validation.claim_id,
            ClaimValidation.organisation_id == validation.organisation_id,
            ClaimValidation.id != validation.id,
            ClaimValidation.superseded_at.is_(None),
            ClaimValidation.revoked_at.is_(None),
        )
        .values(superseded_at=now)
        .execution_options(synchronize_session=False)
    )


def countersign(validation: ClaimValidation, actor: User) -> ClaimValidation:
    """Record ``actor``'s countersignature (who, when); the validation becomes complete.

    :raises TransitionRefused: ``actor`` may not countersign. :raises AlreadyDecided: another trainer did.
    """
    if validation.countersigned_at is not None:
        raise AlreadyDecided(validation.countersigner_name, validation.countersigned_at)
    if not can_countersign(validation, actor):
        raise TransitionRefused("not a second trainer of the NGO")
    now = utcnow()
    rowcount = db.session.execute(
        sa.update(ClaimValidation)
        .where(ClaimValidation.id == validation.id, ClaimValidation.countersigned_at.is_(None))
        .values(countersigned_by_id=actor.id, countersigner_name=actor.display_name, countersigned_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(validation)
    if rowcount != 1:
        raise AlreadyDecided(validation.countersigner_name, validation.countersigned_at)
    supersede_others(validation, now)
    db.session.flush()
    log_event(
        "validation.countersigned",
        actor=actor,
        obj=validation,
        organisation_id=validation.organisation_id,
        data={"validation_id": validation.id, "claim_id": validation.claim_id, "content_hash": validation.content_hash},
    )
    return validation
