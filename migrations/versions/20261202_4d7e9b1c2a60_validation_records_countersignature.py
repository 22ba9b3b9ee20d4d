"""Validations outlive their claims; countersignature rules; several organisations per claim

Revision ID: 4d7e9b1c2a60
Revises: a5c7e9f1b3d2
Create Date: 2026-12-02 12:00:00

``claim_validations.claim_id`` becomes nullable with ON DELETE SET NULL (the NGO's record stays when the holder
deletes the claim), with ``holder_id``, ``withdrawn_at`` and the countersignature columns; a partial unique index
keeps one standing validation per (claim, version, organisation); ``countersignature_rules`` holds each NGO's
setting. The foreign key change goes through batch mode (SQLite rebuilds the table; the table has no trigger).
"""

import sqlalchemy as sa
from alembic import op

import app.core.db

# revision identifiers, used by Alembic.
revision = "4d7e9b1c2a60"
down_revision = "a5c7e9f1b3d2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "countersignature_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("framework_slug", sa.String(length=100), nullable=False),
        sa.Column("min_level", sa.Integer(), nullable=True),
        sa.Column("created_at", app.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_countersignature_rules_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_countersignature_rules")),
        sa.UniqueConstraint("organisation_id", "framework_slug", name="uq_countersignature_rules_org_framework"),
    )
    with op.batch_alter_table("claim_validations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("holder_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("withdrawn_at", app.core.db.UTCDateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("countersignature_required", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("countersigned_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("countersigner_name", sa.String(length=120), server_default="", nullable=False))
        batch_op.add_column(sa.Column("countersigned_at", app.core.db.UTCDateTime(), nullable=True))
        batch_op.alter_column("claim_id", existing_type=sa.Integer(), nullable=True)
        batch_op.drop_constraint("fk_claim_validations_claim_id_claims", type_="foreignkey")
        batch_op.create_foreign_key(
            batch_op.f("fk_claim_validations_claim_id_claims"), "claims", ["claim_id"], ["id"], ondelete="SET NULL"
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_claim_validations_holder_id_users"), "users", ["holder_id"], ["id"], ondelete="SET NULL"
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_claim_validations_countersigned_by_id_users"),
            "users",
            ["countersigned_by_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index(batch_op.f("ix_claim_validations_holder_id"), ["holder_id"], unique=False)
    op.execute(
        "UPDATE claim_validations SET holder_id = "
        "(SELECT claims.owner_id FROM claims WHERE claims.id = claim_validations.claim_id)"
    )
    op.create_index(
        "uq_claim_validations_claim_version_org",
        "claim_validations",
        ["claim_id", "claim_version", "organisation_id"],
        unique=True,
        sqlite_where=sa.text("revoked_at IS NULL"),
        postgresql_where=sa.text("revoked_at IS NULL"),
    )


def downgrade():
    op.drop_index("uq_claim_validations_claim_version_org", table_name="claim_validations")
    # Records whose claim is gone cannot go back under a NOT NULL foreign key with ON DELETE CASCADE.
    op.execute("DELETE FROM claim_validations WHERE claim_id IS NULL")
    with op.batch_alter_table("claim_validations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_claim_validations_holder_id"))
        batch_op.drop_constraint(batch_op.f("fk_claim_validations_countersigned_by_id_users"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_claim_validations_holder_id_users"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_claim_validations_claim_id_claims"), type_="foreignkey")
        batch_op.create_foreign_key(
            batch_op.f("fk_claim_validations_claim_id_claims"), "claims", ["claim_id"], ["id"], ondelete="CASCADE"
        )
        batch_op.alter_column("claim_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("countersigned_at")
        batch_op.drop_column("countersigner_name")
        batch_op.drop_column("countersigned_by_id")
        batch_op.drop_column("countersignature_required")
        batch_op.drop_column("withdrawn_at")
        batch_op.drop_column("holder_id")
    op.drop_table("countersignature_rules")
