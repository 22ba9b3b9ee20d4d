"""Suggestion observations: what NGO decisions teach the competence suggestions (hashed stems, no text)

Revision ID: 5a9e21c0d7b4
Revises: 7c19a5e0b3d1
Create Date: 2026-12-02 09:10:00.000000
"""
from alembic import op
import sqlalchemy as sa

import app.core.db


# revision identifiers, used by Alembic.
revision = '5a9e21c0d7b4'
down_revision = "7c19a5e0b3d1"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'suggestion_observations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('framework_id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=200), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('item_key', sa.String(length=60), nullable=False),
        sa.Column('polarity', sa.SmallInteger(), nullable=False),
        sa.Column('claimed_level', sa.Integer(), nullable=True),
        sa.Column('level', sa.Integer(), nullable=True),
        sa.Column('terms', sa.JSON(), nullable=False),
        sa.Column('created_at', app.core.db.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['framework_id'], ['frameworks.id'], name=op.f('fk_suggestion_observations_framework_id_frameworks'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_suggestion_observations_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_suggestion_observations')),
        sa.UniqueConstraint('item_key', name='uq_suggestion_observations_item_key'),
    )
    with op.batch_alter_table('suggestion_observations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_suggestion_observations_framework_id'), ['framework_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_suggestion_observations_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('suggestion_observations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_suggestion_observations_user_id'))
        batch_op.drop_index(batch_op.f('ix_suggestion_observations_framework_id'))
    op.drop_table('suggestion_observations')
