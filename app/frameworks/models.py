"""Frameworks, their versions, node trees and crosswalk links.

A :class:`Framework` (identified by its slug) has :class:`FrameworkVersion` rows; each version holds its own tree
of :class:`FrameworkNode` rows. Nothing is ever deleted: importing a new version marks the nodes of older versions
whose code disappeared as retired, so whatever points at an old node (claims) still resolves.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, TimestampMixin, enum_column, utcnow
from app.core.enums import LabelledEnum
from app.core.i18n import current_language

#: Display order when the wanted language is missing from a language map.
FALLBACK_LANGUAGES = ("fr", "en", "es")


class FrameworkKind(LabelledEnum):
    OWN = "own", _l("Acquis framework")
    KEY_COMPETENCES = "key_competences", _l("Key competences")
    ESCO = "esco", _l("ESCO classification")
    RNCP = "rncp", _l("RNCP certification")
    OTHER = "other", _l("Other framework")


class NodeKind(LabelledEnum):
    DOMAIN = "domain", _l("Domain")
    COMPETENCE = "competence", _l("Competence")
    INDICATOR = "indicator", _l("Indicator")
    BLOC = "bloc", _l("Block of competences")
    SKILL = "skill", _l("Skill")
    KNOWLEDGE = "knowledge", _l("Knowledge")
    GROUP = "group", _l("Skill group")


class Relation(LabelledEnum):
    """How a source node relates to a target node, read "source <relation> target" (SKOS-like)."""

    EXACT = "exact", _l("Same as")
    CLOSE = "close", _l("Close to")
    BROADER = "broader", _l("Part of (broader)")
    NARROWER = "narrower", _l("Includes (narrower)")
    RELATED = "related", _l("Related to")

    @property
    def inverse(self) -> Relation:
        return {Relation.BROADER: Relation.NARROWER, Relation.NARROWER: Relation.BROADER}.get(self, self)


def localized(value: dict | None, language: str | None = None) -> tuple[str, str | None]:
    """Text of a language map in ``language`` (default: the current one), else in a fallback language.

    :returns: ``(text, fallback_language)`` where the second item is ``None`` when no fallback was needed.
    """
    if not value:
        return "", None
    language = language or current_language()
    if value.get(language):
        return value[language], None
    for code in (*FALLBACK_LANGUAGES, *sorted(value)):
        if value.get(code):
            return value[code], code
    return "", None


class Framework(TimestampMixin, Base):
    """A framework across its versions (e.g. ``solidarite-internationale``)."""

    __tablename__ = "frameworks"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    kind: Mapped[FrameworkKind] = mapped_column(enum_column(FrameworkKind))

    versions: Mapped[list[FrameworkVersion]] = relationship(back_populates="framework", order_by="FrameworkVersion.id")

    @property
    def current_version(self) -> FrameworkVersion | None:
        return next((v for v in self.versions if v.is_current), None)

    def can_view(self, user) -> bool:
        return bool(user and user.is_authenticated)

    @staticmethod
    def can_import(user) -> bool:
        return bool(user and user.is_authenticated and user.is_platform_admin)


class FrameworkVersion(Base):
    """One imported version of a framework; its nodes never change once imported."""

    __tablename__ = "framework_versions"
    __table_args__ = (sa.UniqueConstraint("framework_id", "version", name="uq_framework_versions_framework_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    framework_id: Mapped[int] = mapped_column(sa.ForeignKey("frameworks.id"), index=True)
    version: Mapped[str] = mapped_column(sa.String(60))
    title: Mapped[dict[str, str]] = mapped_column(sa.JSON, default=dict)
    description: Mapped[dict[str, str]] = mapped_column(sa.JSON, default=dict)
    source: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    licence: Mapped[str] = mapped_column(sa.String(200), default="")
    example: Mapped[bool] = mapped_column(default=False)
    certification: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    levels: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    content_hash: Mapped[str] = mapped_column(sa.String(64))
    #: The version shown and searched by default (the one imported last).
    is_current: Mapped[bool] = mapped_column(default=True)
    #: False for a version that arrived inside a person's data import: it serves the claims that use it but is
    #: not in the shared catalogue (never current, not listed, not searched, not a VAE target) until a platform
    #: administrator imports the same file (app/portability/framework_files.py).
    in_catalogue: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    node_count: Mapped[int] = mapped_column(default=0)
    #: A version's nodes are inserted in one go and so have consecutive ids: search filters versions by id range.
    first_node_id: Mapped[int | None] = mapped_column()
    last_node_id: Mapped[int | None] = mapped_column()
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)

    framework: Mapped[Framework] = relationship(back_populates="versions", lazy="joined")

    def display_title(self, language: str | None = None) -> tuple[str, str | None]:
        return localized(self.title, language)


class FrameworkNode(Base):
    """A node of a version's tree: domain, competence, indicator, bloc, skill, knowledge or skill group."""

    __tablename__ = "framework_nodes"
    __table_args__ = (sa.UniqueConstraint("version_id", "code", name="uq_framework_nodes_version_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("framework_versions.id"), index=True)
    code: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[NodeKind] = mapped_column(enum_column(NodeKind))
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("framework_nodes.id"), index=True)
    #: Ancestor ids from the root, separated by "/" (breadcrumbs in one query).
    path: Mapped[str] = mapped_column(sa.String(200), default="")
    position: Mapped[int] = mapped_column(default=0)
    depth: Mapped[int] = mapped_column(default=0)
    title: Mapped[dict[str, str]] = mapped_column(sa.JSON, default=dict)
    description: Mapped[dict[str, str]] = mapped_column(sa.JSON, default=dict)
    #: Other labels per language (ESCO altLabels), one per line; searchable.
    alt_labels: Mapped[dict[str, str]] = mapped_column(sa.JSON, default=dict)
    uri: Mapped[str | None] = mapped_column(sa.String(300), index=True)
    retired_at: Mapped[datetime | None] = mapped_column()

    version: Mapped[FrameworkVersion] = relationship(lazy="raise")

    @property
    def ancestor_ids(self) -> list[int]:
        return [int(p) for p in self.path.split("/") if p]

    def display_title(self, language: str | None = None) -> tuple[str, str | None]:
        return localized(self.title, language)


class Crosswalk(Base):
    """An imported crosswalk file between a source version and a target version (or the ESCO URI scheme)."""

    __tablename__ = "crosswalks"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(160), index=True)
    source_version_id: Mapped[int] = mapped_column(sa.ForeignKey("framework_versions.id"), index=True)
    target_version_id: Mapped[int | None] = mapped_column(sa.ForeignKey("framework_versions.id"))
    target_scheme: Mapped[str | None] = mapped_column(sa.String(30))
    content_hash: Mapped[str] = mapped_column(sa.String(64))
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)


class CrosswalkLink(Base):
    """ "source <relation> target" between two nodes, or between a node and an external URI (ESCO)."""

    __tablename__ = "crosswalk_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    crosswalk_id: Mapped[int] = mapped_column(sa.ForeignKey("crosswalks.id"), index=True)
    source_node_id: Mapped[int] = mapped_column(sa.ForeignKey("framework_nodes.id"), index=True)
    target_node_id: Mapped[int | None] = mapped_column(sa.ForeignKey("framework_nodes.id"), index=True)
    target_uri: Mapped[str | None] = mapped_column(sa.String(300), index=True)
    relation: Mapped[Relation] = mapped_column(enum_column(Relation, 20))


class SuggestionObservation(Base):
    """One NGO decision on a claim, kept as training data for the framework's suggestions.

    No text is kept: only keyed hashes of the word stems of the claim's narrative and experience (a bag without
    order, unreadable without the instance's secret key), the competence code, the decision and the level. The row
    belongs to the volunteer (``user_id``): erasing the account deletes it (``ON DELETE CASCADE``), and the cached
    model notices the lower row count and is rebuilt without it.
    """

    __tablename__ = "suggestion_observations"
    __table_args__ = (sa.UniqueConstraint("item_key", name="uq_suggestion_observations_item_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    framework_id: Mapped[int] = mapped_column(sa.ForeignKey("frameworks.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(sa.String(200))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: Identifies the decision (e.g. ``item:42``) so that recording it twice changes nothing.
    item_key: Mapped[str] = mapped_column(sa.String(60))
    #: +1 validated, -1 rejected.
    polarity: Mapped[int] = mapped_column(sa.SmallInteger)
    claimed_level: Mapped[int | None] = mapped_column()
    level: Mapped[int | None] = mapped_column()
    terms: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
