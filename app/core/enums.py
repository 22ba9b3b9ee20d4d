"""String enums that carry their own translated label."""

from __future__ import annotations

import enum
from typing import Self

from flask_babel.speaklater import LazyString


class LabelledEnum(enum.StrEnum):
    """A :class:`enum.StrEnum` whose members are declared with their translated label::

        class ClaimState(LabelledEnum):
            DRAFT = "draft", _l("Draft")
            VALIDATED = "validated", _l("Validated")

    Only the first item is the member's value: ``ClaimState.DRAFT.value == str(ClaimState.DRAFT) == "draft"`` and
    ``ClaimState("draft") is ClaimState.DRAFT``, so database columns (:func:`app.core.db.enum_column`), form data,
    URLs, JSON and pickles see exactly the plain string they saw before labels moved in here.

    ``member.label`` is the label translated now, in the language of the request (or of ``force_locale``), as a
    plain ``str``: templates escape it like any text, and it can go into a database column or JSON as is.
    :meth:`choices` keeps the lazy labels (``lazy_gettext``), so form classes can build their choices at import
    time and still show them in each request's language.
    """

    def __new__(cls, value: str, label: LazyString | str) -> Self:
        member = str.__new__(cls, value)
        member._value_ = value
        member._label = label
        return member

    @property
    def label(self) -> str:
        """The label, translated into the current language."""
        return str(self._label)

    @classmethod
    def choices(cls) -> list[tuple[str, LazyString | str]]:
        """``[(value, lazy label), ...]`` in declaration order, for the ``choices`` of a WTForms select or radio."""
        return [(member.value, member._label) for member in cls]
