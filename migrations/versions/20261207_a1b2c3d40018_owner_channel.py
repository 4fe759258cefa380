"""owner channel: unit residents (tenants), sign-in codes, owner sessions, used links, privacy consents

Revision ID: a1b2c3d40018
Revises: a1b2c3d40012
Create Date: 2026-12-07 14:00:00

"""
import sqlalchemy as sa
from alembic import op

from app.models.types import UTCDateTime

# revision identifiers, used by Alembic.
revision = 'a1b2c3d40018'
down_revision = 'a1b2c3d40012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'unit_residents',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('phone', sa.String(length=20), nullable=False),
        sa.Column('relation', sa.String(length=10), nullable=False),
        sa.Column('name', sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name='fk_unit_residents_unit_id_units',
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name='pk_unit_residents'),
        sa.UniqueConstraint('unit_id', 'phone', name='uq_unit_residents_unit_phone'),
    )
    op.create_index('ix_unit_residents_phone', 'unit_residents', ['phone'])
    op.create_table(
        'owner_login_codes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('phone', sa.String(length=20), nullable=False),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('expires_at', UTCDateTime(), nullable=False),
        sa.Column('used_at', UTCDateTime(), nullable=True),
        sa.Column('failed_attempts', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name='pk_owner_login_codes'),
    )
    op.create_index('ix_owner_login_codes_phone', 'owner_login_codes', ['phone', 'created_at'])
    op.create_table(
        'owner_sessions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('phone', sa.String(length=20), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('last_seen_at', UTCDateTime(), nullable=False),
        sa.Column('ended_at', UTCDateTime(), nullable=True),
        sa.Column('via', sa.String(length=10), nullable=False),
        sa.PrimaryKeyConstraint('id', name='pk_owner_sessions'),
        sa.UniqueConstraint('token_hash', name='uq_owner_sessions_token_hash'),
    )
    op.create_table(
        'owner_link_uses',
        sa.Column('nonce', sa.String(length=40), nullable=False),
        sa.Column('phone', sa.String(length=20), nullable=False),
        sa.Column('ticket_number', sa.String(length=20), nullable=False),
        sa.Column('used_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('nonce', name='pk_owner_link_uses'),
    )
    op.create_table(
        'owner_consents',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('phone', sa.String(length=20), nullable=False),
        sa.Column('version', sa.String(length=20), nullable=False),
        sa.Column('consented_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name='pk_owner_consents'),
        sa.UniqueConstraint('phone', 'version', name='uq_owner_consents_phone_version'),
    )


def downgrade():
    op.drop_table('owner_consents')
    op.drop_table('owner_link_uses')
    op.drop_table('owner_sessions')
    op.drop_index('ix_owner_login_codes_phone', table_name='owner_login_codes')
    op.drop_table('owner_login_codes')
    op.drop_index('ix_unit_residents_phone', table_name='unit_residents')
    op.drop_table('unit_residents')
