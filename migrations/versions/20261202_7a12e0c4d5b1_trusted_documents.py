"""Trusted documents: NGOs sign in their own name (signing identities), documents record their signer; the
warnings a trainer acknowledged when confirming a mission's facts; the NGO's profile (letterhead) and the members
who agreed to sign its documents; opinions frozen on the validations they were written from, in versions

Revision ID: 7a12e0c4d5b1
Revises: 5a9e21c0d7b4
Create Date: 2026-12-02 09:00:00

Documents issued before keep verifying: their signer (the platform certificate) stays a trust root, and their
``signed_by`` is empty.
"""
from alembic import op
import sqlalchemy as sa

import app.core.db


# revision identifiers, used by Alembic.
revision = '7a12e0c4d5b1'
down_revision = "5a9e21c0d7b4"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'signing_identities',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('source', sa.Enum('instance', 'uploaded', name='signingsource', native_enum=False, length=20), nullable=False),
        sa.Column('certificate_pem', sa.Text(), nullable=False),
        sa.Column('key_encrypted', sa.Text(), nullable=False),
        sa.Column('subject', sa.String(length=400), nullable=False),
        sa.Column('fingerprint', sa.String(length=100), nullable=False),
        sa.Column('not_after', app.core.db.UTCDateTime(), nullable=False),
        sa.Column('created_at', app.core.db.UTCDateTime(), nullable=False),
        sa.Column('retired_at', app.core.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_signing_identities_organisation_id_organisations'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_signing_identities')),
    )
    with op.batch_alter_table('signing_identities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signing_identities_organisation_id'), ['organisation_id'], unique=False)
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('signed_by', sa.String(length=400), nullable=False, server_default=''))
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('facts_warnings', sa.JSON(), nullable=False, server_default='[]'))
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('legal_name', sa.String(length=200), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('address', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('registration_number', sa.String(length=40), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('website', sa.String(length=200), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('logo_png', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('stamp_png', sa.LargeBinary(), nullable=True))
    with op.batch_alter_table('document_opinions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('validation_ids', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('superseded_at', app.core.db.UTCDateTime(), nullable=True))
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.add_column(sa.Column('signatory_role', sa.String(length=120), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('signs_since', app.core.db.UTCDateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('document_opinions', schema=None) as batch_op:
        for column in ('superseded_at', 'version', 'validation_ids'):
            batch_op.drop_column(column)
    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_column('signs_since')
        batch_op.drop_column('signatory_role')
    with op.batch_alter_table('organisations', schema=None) as batch_op:
        for column in ('stamp_png', 'logo_png', 'website', 'registration_number', 'address', 'legal_name'):
            batch_op.drop_column(column)
    with op.batch_alter_table('submissions', schema=None) as batch_op:
        batch_op.drop_column('facts_warnings')
    with op.batch_alter_table('documents', schema=None) as batch_op:
        batch_op.drop_column('signed_by')
    with op.batch_alter_table('signing_identities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signing_identities_organisation_id'))
    op.drop_table('signing_identities')
