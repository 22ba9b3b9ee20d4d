"""Why a validation transition did not happen: refused (403) or lost a race / came too late (409, with a translated
message)."""

from __future__ import annotations

from datetime import datetime

from flask_babel import format_datetime
from flask_babel import gettext as _
from werkzeug.exceptions import Forbidden

from app.core.errors import Conflict


class TransitionRefused(Forbidden):
    """The actor may not make this transition (handlers answer 403)."""


class AlreadyDecided(Conflict):
    """Someone else made the transition first; ``by`` and ``at`` say who and when."""

    def __init__(self, by: str, at: datetime | None):
        super().__init__(f"already decided by {by} at {at}")
        self.by = by
        self.at = at

    @property
    def message(self):
        return _("Already decided by %(name)s on %(time)s.", name=self.by, time=_when(self.at))


class SubmissionWithdrawn(Conflict):
    """The volunteer withdrew the submission (at ``at``): there is nothing left to decide."""

    def __init__(self, at: datetime | None):
        super().__init__(f"withdrawn at {at}")
        self.at = at

    @property
    def message(self):
        return _(
            "The volunteer withdrew this submission on %(time)s: there is nothing left to decide.",
            time=_when(self.at),
        )


class FactsChanged(Conflict):
    """The round is closed and the volunteer has edited the facts since: they are answered in the next round."""

    @property
    def message(self):
        return _(
            "The volunteer has edited the facts of this experience since this round was submitted: they will be "
            "answered when the experience is submitted again."
        )


class NotWithdrawable(Conflict):
    """The submission can no longer be withdrawn (a decision was recorded, or it is no longer awaiting review);
    ``message`` is translated."""


def _when(at: datetime | None) -> str:
    return format_datetime(at) if at else "—"
