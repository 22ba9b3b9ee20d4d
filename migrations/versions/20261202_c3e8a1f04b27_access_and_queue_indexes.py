"""Indexes for access rules and queues at the size of a national network

Revision ID: c3e8a1f04b27
Revises: 7a12e0c4d5b1
Create Date: 2026-12-02 10:05:00.000000

* ``submissions (organisation_id, state, submitted_at, id)``: the trainers' queue counts submissions by state and
  pages them by submission time within the NGOs of the reader.
* ``submission_items (decided_at)``: the NGO admin's queue statistics read the latest decisions only.
* ``memberships (organisation_id, state)``: members of one NGO by state (members page, admins to notify, counts).
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c3e8a1f04b27'
down_revision = "7a12e0c4d5b1"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_submissions_org_state_submitted", "submissions", ["organisation_id", "state", "submitted_at", "id"]
    )
    op.create_index("ix_submission_items_decided_at", "submission_items", ["decided_at"])
    op.create_index("ix_memberships_org_state", "memberships", ["organisation_id", "state"])


def downgrade():
    op.drop_index("ix_memberships_org_state", table_name="memberships")
    op.drop_index("ix_submission_items_decided_at", table_name="submission_items")
    op.drop_index("ix_submissions_org_state_submitted", table_name="submissions")
