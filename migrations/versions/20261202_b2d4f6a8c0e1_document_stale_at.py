"""Documents know when they may be out of date (issue 14): documents.stale_at

Revision ID: b2d4f6a8c0e1
Revises: f4a7c2d9e8b1
Create Date: 2026-12-02 15:00:00

An audited change to a holder's data marks their documents (the time of the change); the background refresh
clears the mark of a document it finds unchanged. The documents page links straight to the file of a document
that is not marked, with no snapshot rebuilt. Existing documents start unmarked (a nullable column: no table
rewrite, no batch mode on SQLite).
"""

import sqlalchemy as sa
from alembic import op

import app.core.db

# revision identifiers, used by Alembic.
revision = "b2d4f6a8c0e1"
down_revision = "f4a7c2d9e8b1"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("documents", sa.Column("stale_at", app.core.db.UTCDateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table("documents") as batch_op:
        batch_op.drop_column("stale_at")
