"""Survey invitations: each sending (when, how many) and its links (opened or not, never whose)

Revision ID: a5c7e9f1b3d2
Revises: e3b8f41c0a27
Create Date: 2026-12-02 12:00:00

The NGO admin's invitation page counts sent, opened and answered invitations and shows the last sending date.
A link is stored by the hash of its random token only, without the recipient.
"""

from alembic import op
import sqlalchemy as sa

import app.core.db


# revision identifiers, used by Alembic.
revision = "a5c7e9f1b3d2"
down_revision = "e3b8f41c0a27"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "survey_invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("questionnaire_id", sa.String(length=40), nullable=False),
        sa.Column("questionnaire_version", sa.Integer(), nullable=False),
        sa.Column("sent_at", app.core.db.UTCDateTime(), nullable=False),
        sa.Column("sent_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.id"],
            name=op.f("fk_survey_invitations_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_invitations")),
    )
    op.create_index(
        "ix_survey_invitations_org_questionnaire",
        "survey_invitations",
        ["organisation_id", "questionnaire_id"],
        unique=False,
    )
    op.create_table(
        "survey_invitation_links",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("invitation_id", sa.Integer(), nullable=False),
        sa.Column("opened_at", app.core.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["invitation_id"],
            ["survey_invitations.id"],
            name=op.f("fk_survey_invitation_links_invitation_id_survey_invitations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_survey_invitation_links")),
    )
    op.create_index(
        op.f("ix_survey_invitation_links_invitation_id"), "survey_invitation_links", ["invitation_id"], unique=False
    )


def downgrade():
    op.drop_index(op.f("ix_survey_invitation_links_invitation_id"), table_name="survey_invitation_links")
    op.drop_table("survey_invitation_links")
    op.drop_index("ix_survey_invitations_org_questionnaire", table_name="survey_invitations")
    op.drop_table("survey_invitations")
