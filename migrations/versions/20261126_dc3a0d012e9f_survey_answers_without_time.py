"""Survey answers without time: drop survey_responses.period and survey_comments.reviewed_at

Revision ID: dc3a0d012e9f
Revises: 9c41e7b2a5d3
Create Date: 2026-11-26 17:10:15.198994

The submission month (matched with the exact time of the ``survey.answered`` audit event) and the review time
could tie an answer back to its account; the reports need neither. On SQLite, batch mode rebuilds the tables:
they are rebuilt WITHOUT ROWID, as created, so no insertion-ordered rowid appears. The downgrade brings the
columns back empty (the dropped values are gone on purpose).
"""
from alembic import op
import sqlalchemy as sa

import app.core.db


# revision identifiers, used by Alembic.
revision = 'dc3a0d012e9f'
down_revision = '9c41e7b2a5d3'
branch_labels = None
depends_on = None

_NO_ROWID = {"sqlite_with_rowid": False}


def upgrade():
    with op.batch_alter_table('survey_comments', schema=None, table_kwargs=_NO_ROWID) as batch_op:
        batch_op.drop_column('reviewed_at')

    with op.batch_alter_table('survey_responses', schema=None, table_kwargs=_NO_ROWID) as batch_op:
        batch_op.drop_column('period')


def downgrade():
    with op.batch_alter_table('survey_responses', schema=None, table_kwargs=_NO_ROWID) as batch_op:
        batch_op.add_column(sa.Column('period', sa.String(length=7), nullable=False, server_default=''))

    with op.batch_alter_table('survey_comments', schema=None, table_kwargs=_NO_ROWID) as batch_op:
        batch_op.add_column(sa.Column('reviewed_at', app.core.db.UTCDateTime(), nullable=True))
