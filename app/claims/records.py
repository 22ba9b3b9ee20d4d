"""What NGOs and host referents recorded about a volunteer's claims, read by the portfolio pages.

Deleting a claim or an experience deletes these records with it (validations, submissions and referent
confirmations cascade), and a validated version of a claim must keep its evidence files. The records belong to the
``validation`` package, above this one, and packages only depend downwards: the functions here ask it through
signals (:func:`app.core.hooks.hook`) and merge the answers of the receivers it connects
(the ``records`` module of ``validation``):

- ``claim-validations``, sent with a claim: a list of :class:`ValidationRecord`, its current validations;
- ``claim-records``, sent with a claim, and ``experience-records``, sent with an experience id: a :class:`Records`,
  what deleting it would also delete;
- ``evidence-validations``, sent with an evidence file: a list of :class:`ValidationRecord`, the current validations
  whose validated version lists that file.

With no receiver connected (``validation`` absent) they return empty results, so ``claims`` keeps working without
it. Each receiver runs a fixed number of statements.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from app.claims.models import Claim, Evidence
from app.core.hooks import hook


@dataclass(frozen=True)
class ValidationRecord:
    """A current (neither revoked nor superseded) validation of one claim."""

    claim_id: int
    code: str
    organisation: str
    validated_at: datetime


@dataclass
class Records:
    """What deleting a claim or an experience would also delete."""

    validations: list[ValidationRecord] = field(default_factory=list)
    #: Names of the host referents who confirmed the facts or claims concerned.
    referents: list[str] = field(default_factory=list)
    #: Names of the NGOs the claims or experience were submitted to (the review history).
    submitted_to: list[str] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return bool(self.validations or self.referents or self.submitted_to)

    @property
    def validating_organisations(self) -> list[str]:
        return sorted({v.organisation for v in self.validations})


def _validation_records(results) -> list[ValidationRecord]:
    """The validation records answered by the receivers of a signal, in order."""
    return [record for _receiver, value in results for record in value or ()]


def _merged_records(results) -> Records:
    """The records answered by the receivers of a signal, merged (each name once)."""
    merged = Records()
    for _receiver, value in results:
        if value is None:
            continue
        merged.validations.extend(value.validations)
        merged.referents.extend(name for name in value.referents if name not in merged.referents)
        merged.submitted_to.extend(name for name in value.submitted_to if name not in merged.submitted_to)
    return merged


def current_validations_of_claim(claim: Claim) -> list[ValidationRecord]:
    """The current validations of ``claim`` (of its validated version, which stays valid while a newer one is
    written)."""
    return _validation_records(hook("claim-validations").send(claim))


def records_of_claim(claim: Claim) -> Records:
    """What deleting ``claim`` also deletes: its validations, its review history, referent confirmations of it."""
    return _merged_records(hook("claim-records").send(claim))


def records_of_experience(experience_id: int) -> Records:
    """What deleting an experience also deletes: the validations of its claims, its submissions, referent
    confirmations."""
    return _merged_records(hook("experience-records").send(experience_id))


def validated_claims_using(evidence: Evidence) -> list[ValidationRecord]:
    """The current validations whose validated version lists ``evidence`` (same file id and SHA-256), whether or
    not a newer draft of the claim still uses it: that version must stay printable with its evidence."""
    return _validation_records(hook("evidence-validations").send(evidence))
