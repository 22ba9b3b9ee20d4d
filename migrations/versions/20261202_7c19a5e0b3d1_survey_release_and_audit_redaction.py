"""Survey answers released in batches with published noisy tallies; audit events redactable on erasure

Revision ID: 7c19a5e0b3d1
Revises: b7e13f2a9c41
Create Date: 2026-12-02 09:30:00.000000

* ``survey_pending_answers``: answers waiting for their batch (no user, no time, random keys, WITHOUT ROWID).
* ``survey_releases``: one row per run of the release job and questionnaire version (when reports last changed).
* ``survey_tallies``: the published noisy counts of each attribution set (WITHOUT ROWID).
* ``survey_comments.release_id``: the release a comment came with (moderators see comments in groups or late).
* The append-only triggers of ``audit_events`` now let through one kind of update, the redaction of an erased
  person (see ``app.core.audit.redact_person``). Existing events of already-erased accounts, and the old
  ``survey.answered`` events (which tied a person to the moment they answered), are redacted here.
"""
from alembic import op
import sqlalchemy as sa

import app.core.db


# revision identifiers, used by Alembic.
revision = '7c19a5e0b3d1'
down_revision = "b7e13f2a9c41"
branch_labels = None
depends_on = None

_NO_ROWID = {"sqlite_with_rowid": False}


def upgrade():
    op.create_table(
        'survey_pending_answers',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('questionnaire_id', sa.String(length=40), nullable=False),
        sa.Column('questionnaire_version', sa.Integer(), nullable=False),
        sa.Column('consent_version', sa.String(length=40), nullable=False),
        sa.Column('attribution', sa.String(length=400), nullable=False),
        sa.Column('profile', sa.JSON(), nullable=False),
        sa.Column('answers', sa.JSON(), nullable=False),
        sa.Column('comment', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_pending_answers')),
        **_NO_ROWID,
    )
    op.create_index(
        'ix_survey_pending_answers_questionnaire',
        'survey_pending_answers',
        ['questionnaire_id', 'questionnaire_version'],
        unique=False,
    )
    op.create_table(
        'survey_releases',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('questionnaire_id', sa.String(length=40), nullable=False),
        sa.Column('questionnaire_version', sa.Integer(), nullable=False),
        sa.Column('released_at', app.core.db.UTCDateTime(), nullable=False),
        sa.Column('rho', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_releases')),
    )
    op.create_index(
        'ix_survey_releases_questionnaire', 'survey_releases', ['questionnaire_id', 'questionnaire_version'], unique=False
    )
    op.create_table(
        'survey_tallies',
        sa.Column('questionnaire_id', sa.String(length=40), nullable=False),
        sa.Column('questionnaire_version', sa.Integer(), nullable=False),
        sa.Column('attribution', sa.String(length=400), nullable=False),
        sa.Column('counts', sa.JSON(), nullable=False),
        sa.Column('rho_spent', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint(
            'questionnaire_id', 'questionnaire_version', 'attribution', name=op.f('pk_survey_tallies')
        ),
        **_NO_ROWID,
    )
    with op.batch_alter_table('survey_comments', schema=None, table_kwargs=_NO_ROWID) as batch_op:
        batch_op.add_column(sa.Column('release_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_survey_comments_release_id_survey_releases'),
            'survey_releases',
            ['release_id'],
            ['id'],
            ondelete='SET NULL',
        )
    _redactable_audit_log()


def _redactable_audit_log():
    from app.core.audit import POSTGRES_REDACTABLE_TRIGGERS, REDACTED_LABEL, SQLITE_REDACTABLE_TRIGGERS

    statements = POSTGRES_REDACTABLE_TRIGGERS if op.get_bind().dialect.name == "postgresql" else SQLITE_REDACTABLE_TRIGGERS
    for statement in statements:
        op.execute(statement)
    op.execute(
        sa.text(
            "UPDATE audit_events SET actor_id = NULL, actor_label = :label, ip_address = NULL "
            "WHERE actor_id IN (SELECT user_id FROM erased_users) OR action = 'survey.answered'"
        ).bindparams(label=REDACTED_LABEL)
    )
    op.execute(
        "UPDATE audit_events SET object_id = '' WHERE object_type = 'User' "
        "AND object_id IN (SELECT CAST(user_id AS VARCHAR(20)) FROM erased_users)"
    )


def downgrade():
    from app.core.audit import POSTGRES_TRIGGERS, SQLITE_TRIGGERS

    if op.get_bind().dialect.name == "postgresql":
        op.execute(POSTGRES_TRIGGERS[0])
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
        op.execute(SQLITE_TRIGGERS[0])
    with op.batch_alter_table('survey_comments', schema=None, table_kwargs=_NO_ROWID) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_survey_comments_release_id_survey_releases'), type_='foreignkey')
        batch_op.drop_column('release_id')
    op.drop_table('survey_tallies')
    op.drop_index('ix_survey_releases_questionnaire', table_name='survey_releases')
    op.drop_table('survey_releases')
    op.drop_index('ix_survey_pending_answers_questionnaire', table_name='survey_pending_answers')
    op.drop_table('survey_pending_answers')
