"""The NGO admin's audit view: an index on audit_events (organisation_id, created_at, id)

Revision ID: e3b8f41c0a27
Revises: c3e8a1f04b27
Create Date: 2026-12-02 10:00:00

One organisation's events, newest first, paged by keyset on (created_at, id), read from the index alone whatever
the length of the log. Creating an index leaves the table (and its append-only triggers) as it is: no batch mode,
which on SQLite would rebuild the table and drop the triggers.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'e3b8f41c0a27'
down_revision = "c3e8a1f04b27"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        'ix_audit_events_organisation_time', 'audit_events', ['organisation_id', 'created_at', 'id'], unique=False
    )


def downgrade():
    op.drop_index('ix_audit_events_organisation_time', table_name='audit_events')
