"""The VAE path: projects, their companions (shares), timeline, comment threads, bloc drafts with their
revisions, and the blocs a jury awarded

Revision ID: d3d6c6585ef4
Revises: 4d7e9b1c2a60
Create Date: 2026-12-02 11:52:07.763490

New tables only: nothing existing changes.
"""

import sqlalchemy as sa
from alembic import op

import app.core.db

# revision identifiers, used by Alembic.
revision = "d3d6c6585ef4"
down_revision = "4d7e9b1c2a60"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "vae_projects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("framework_id", sa.Integer(), nullable=False),
        sa.Column("framework_version_id", sa.Integer(), nullable=False),
        sa.Column(
            "route", sa.Enum("france_vae", "livret1", name="vaeroute", native_enum=False, length=20), nullable=False
        ),
        sa.Column("bloc_codes", sa.JSON(), nullable=False),
        sa.Column("whole_certification", sa.Boolean(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "started",
                "feasibility_sent",
                "admissible",
                "inadmissible",
                "path_started",
                "validation_sent",
                "jury_scheduled",
                "decided",
                "abandoned",
                name="vaestatus",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("started_on", sa.Date(), nullable=False),
        sa.Column("feasibility_sent_on", sa.Date(), nullable=True),
        sa.Column("admissibility_on", sa.Date(), nullable=True),
        sa.Column("path_started_on", sa.Date(), nullable=True),
        sa.Column("validation_sent_on", sa.Date(), nullable=True),
        sa.Column("jury_on", sa.Date(), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=True),
        sa.Column("abandoned_on", sa.Date(), nullable=True),
        sa.Column(
            "outcome",
            sa.Enum("total", "partial", "refusal", name="vaeoutcome", native_enum=False, length=20),
            nullable=True,
        ),
        sa.Column("certifier", sa.String(length=200), nullable=False),
        sa.Column("acquired_bloc_codes", sa.JSON(), nullable=False),
        sa.Column("previous_id", sa.Integer(), nullable=True),
        sa.Column("sworn_at", app.core.db.UTCDateTime(), nullable=True),
        sa.Column("sworn_name", sa.String(length=120), nullable=False),
        sa.Column("reminders_sent", sa.JSON(), nullable=False),
        sa.Column("created_at", app.core.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", app.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["framework_id"], ["frameworks.id"], name=op.f("fk_vae_projects_framework_id_frameworks")
        ),
        sa.ForeignKeyConstraint(
            ["framework_version_id"],
            ["framework_versions.id"],
            name=op.f("fk_vae_projects_framework_version_id_framework_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_vae_projects_owner_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["previous_id"],
            ["vae_projects.id"],
            name=op.f("fk_vae_projects_previous_id_vae_projects"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vae_projects")),
    )
    with op.batch_alter_table("vae_projects", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vae_projects_framework_id"), ["framework_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_vae_projects_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "vae_acquired_blocs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("framework_version_id", sa.Integer(), nullable=False),
        sa.Column("bloc_code", sa.String(length=200), nullable=False),
        sa.Column("title", sa.JSON(), nullable=False),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("certifier", sa.String(length=200), nullable=False),
        sa.Column("created_at", app.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["framework_version_id"],
            ["framework_versions.id"],
            name=op.f("fk_vae_acquired_blocs_framework_version_id_framework_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_vae_acquired_blocs_owner_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["vae_projects.id"],
            name=op.f("fk_vae_acquired_blocs_project_id_vae_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vae_acquired_blocs")),
        sa.UniqueConstraint("project_id", "bloc_code", name="uq_vae_acquired_blocs_project_bloc"),
    )
    with op.batch_alter_table("vae_acquired_blocs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vae_acquired_blocs_owner_id"), ["owner_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_vae_acquired_blocs_project_id"), ["project_id"], unique=False)

    op.create_table(
        "vae_bloc_drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("bloc_code", sa.String(length=200), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("claim_ids", sa.JSON(), nullable=False),
        sa.Column("evidence_ids", sa.JSON(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("updated_at", app.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["vae_projects.id"],
            name=op.f("fk_vae_bloc_drafts_project_id_vae_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vae_bloc_drafts")),
        sa.UniqueConstraint("project_id", "bloc_code", name="uq_vae_bloc_drafts_project_bloc"),
    )
    with op.batch_alter_table("vae_bloc_drafts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vae_bloc_drafts_project_id"), ["project_id"], unique=False)

    op.create_table(
        "vae_comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("bloc_code", sa.String(length=200), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", app.core.db.UTCDateTime(), nullable=False),
        sa.Column("resolved_at", app.core.db.UTCDateTime(), nullable=True),
        sa.Column("resolved_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_vae_comments_author_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["vae_comments.id"], name=op.f("fk_vae_comments_parent_id_vae_comments"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["vae_projects.id"],
            name=op.f("fk_vae_comments_project_id_vae_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by_id"], ["users.id"], name=op.f("fk_vae_comments_resolved_by_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vae_comments")),
    )
    with op.batch_alter_table("vae_comments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vae_comments_parent_id"), ["parent_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_vae_comments_project_id"), ["project_id"], unique=False)

    op.create_table(
        "vae_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("at", app.core.db.UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_vae_events_actor_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"], ["vae_projects.id"], name=op.f("fk_vae_events_project_id_vae_projects"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vae_events")),
    )
    with op.batch_alter_table("vae_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vae_events_project_id"), ["project_id"], unique=False)

    op.create_table(
        "vae_project_companions",
        sa.Column("project_id", sa.Integer(), nullable=False),
        sa.Column("share_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["vae_projects.id"],
            name=op.f("fk_vae_project_companions_project_id_vae_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["share_id"], ["shares.id"], name=op.f("fk_vae_project_companions_share_id_shares"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("project_id", "share_id", name=op.f("pk_vae_project_companions")),
    )
    op.create_table(
        "vae_draft_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("draft_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("saved_at", app.core.db.UTCDateTime(), nullable=False),
        sa.Column("autosave", sa.Boolean(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("claim_ids", sa.JSON(), nullable=False),
        sa.Column("evidence_ids", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["draft_id"],
            ["vae_bloc_drafts.id"],
            name=op.f("fk_vae_draft_revisions_draft_id_vae_bloc_drafts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vae_draft_revisions")),
    )
    with op.batch_alter_table("vae_draft_revisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vae_draft_revisions_draft_id"), ["draft_id"], unique=False)


def downgrade():
    with op.batch_alter_table("vae_draft_revisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vae_draft_revisions_draft_id"))

    op.drop_table("vae_draft_revisions")
    op.drop_table("vae_project_companions")
    with op.batch_alter_table("vae_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vae_events_project_id"))

    op.drop_table("vae_events")
    with op.batch_alter_table("vae_comments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vae_comments_project_id"))
        batch_op.drop_index(batch_op.f("ix_vae_comments_parent_id"))

    op.drop_table("vae_comments")
    with op.batch_alter_table("vae_bloc_drafts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vae_bloc_drafts_project_id"))

    op.drop_table("vae_bloc_drafts")
    with op.batch_alter_table("vae_acquired_blocs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vae_acquired_blocs_project_id"))
        batch_op.drop_index(batch_op.f("ix_vae_acquired_blocs_owner_id"))

    op.drop_table("vae_acquired_blocs")
    with op.batch_alter_table("vae_projects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vae_projects_owner_id"))
        batch_op.drop_index(batch_op.f("ix_vae_projects_framework_id"))

    op.drop_table("vae_projects")
