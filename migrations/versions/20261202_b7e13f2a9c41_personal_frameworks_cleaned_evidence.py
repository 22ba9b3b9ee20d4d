"""Personal framework versions kept out of the shared catalogue; evidence cleaned of active PDF content

Revision ID: b7e13f2a9c41
Revises: dc3a0d012e9f
Create Date: 2026-12-02 09:00:00

``framework_versions.in_catalogue``: false for a version imported from a person's export (it serves that
person's claims only until a platform administrator imports the same file). ``evidence.active_content_removed``:
the uploaded PDF's scripts, automatic actions, embedded files, XFA or rich media were removed before storing it.
Existing rows: every version is in the catalogue; no stored file was cleaned.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7e13f2a9c41'
down_revision = 'dc3a0d012e9f'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('framework_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('in_catalogue', sa.Boolean(), server_default=sa.true(), nullable=False))
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('active_content_removed', sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade():
    with op.batch_alter_table('evidence', schema=None) as batch_op:
        batch_op.drop_column('active_content_removed')
    with op.batch_alter_table('framework_versions', schema=None) as batch_op:
        batch_op.drop_column('in_catalogue')
