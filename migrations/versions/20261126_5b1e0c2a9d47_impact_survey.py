"""Impact survey: participations (account side) and anonymous responses, attributions and comments

Revision ID: 5b1e0c2a9d47
Revises: d641d24da6c5
Create Date: 2026-11-26 16:00:00.000000

The answer tables carry no reference to users and use random string keys; on SQLite they are created
WITHOUT ROWID so that no hidden, insertion-ordered rowid can be matched with participations.
"""
from alembic import op
import sqlalchemy as sa

import app.core.db


# revision identifiers, used by Alembic.
revision = '5b1e0c2a9d47'
down_revision = 'd641d24da6c5'  # chained after the experiences migration (another branch from 2f8d27027c8f)
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('survey_participations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('questionnaire_id', sa.String(length=40), nullable=False),
    sa.Column('questionnaire_version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_survey_participations_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_participations')),
    sa.UniqueConstraint('user_id', 'questionnaire_id', 'questionnaire_version', name='uq_survey_participations_once')
    )
    with op.batch_alter_table('survey_participations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_survey_participations_user_id'), ['user_id'], unique=False)

    op.create_table('survey_responses',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('questionnaire_id', sa.String(length=40), nullable=False),
    sa.Column('questionnaire_version', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('consent_version', sa.String(length=40), nullable=False),
    sa.Column('profile', sa.JSON(), nullable=False),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_responses')),
    sqlite_with_rowid=False,
    )
    with op.batch_alter_table('survey_responses', schema=None) as batch_op:
        batch_op.create_index('ix_survey_responses_questionnaire', ['questionnaire_id', 'questionnaire_version'], unique=False)

    op.create_table('survey_comments',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('response_id', sa.String(length=32), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('state', sa.Enum('pending', 'approved', 'rejected', name='commentstate', native_enum=False, length=30), nullable=False),
    sa.Column('reviewed_at', app.core.db.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['response_id'], ['survey_responses.id'], name=op.f('fk_survey_comments_response_id_survey_responses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_comments')),
    sa.UniqueConstraint('response_id', name=op.f('uq_survey_comments_response_id')),
    sqlite_with_rowid=False,
    )
    with op.batch_alter_table('survey_comments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_survey_comments_state'), ['state'], unique=False)

    op.create_table('survey_response_organisations',
    sa.Column('response_id', sa.String(length=32), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_survey_response_organisations_organisation_id_organisations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['response_id'], ['survey_responses.id'], name=op.f('fk_survey_response_organisations_response_id_survey_responses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('response_id', 'organisation_id', name=op.f('pk_survey_response_organisations')),
    sqlite_with_rowid=False,
    )
    with op.batch_alter_table('survey_response_organisations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_survey_response_organisations_organisation_id'), ['organisation_id'], unique=False)


def downgrade():
    with op.batch_alter_table('survey_response_organisations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_survey_response_organisations_organisation_id'))
    op.drop_table('survey_response_organisations')
    with op.batch_alter_table('survey_comments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_survey_comments_state'))
    op.drop_table('survey_comments')
    with op.batch_alter_table('survey_responses', schema=None) as batch_op:
        batch_op.drop_index('ix_survey_responses_questionnaire')
    op.drop_table('survey_responses')
    with op.batch_alter_table('survey_participations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_survey_participations_user_id'))
    op.drop_table('survey_participations')
