"""notices: notices to owners (drafted, approved, sent on three channels) and the units each addresses

Revision ID: a1b2c3d40022
Revises: a1b2c3d40021
Create Date: 2026-12-07 14:40:00

"""
import sqlalchemy as sa
from alembic import op

from app.models.types import JsonType, UTCDateTime

# revision identifiers, used by Alembic.
revision = 'a1b2c3d40022'
down_revision = 'a1b2c3d40021'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'notices',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('instance_id', sa.Integer(), sa.ForeignKey('process_instances.id', ondelete='SET NULL'),
                  nullable=True),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('title', sa.String(length=120), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('project_key', sa.String(length=40), sa.ForeignKey('projects.key'), nullable=False),
        sa.Column('buildings', JsonType, nullable=False),
        sa.Column('unit_codes', JsonType, nullable=False),
        sa.Column('starts_at', UTCDateTime(), nullable=False),
        sa.Column('ends_at', UTCDateTime(), nullable=False),
        sa.Column('staff_audience', sa.String(length=20), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('review_note', sa.Text(), nullable=True),
        sa.Column('drafted_by_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=True),
        sa.Column('approved_by_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=True),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('sent_at', UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id', name='pk_notices'),
        sa.UniqueConstraint('instance_id', name='uq_notices_instance_id'),
    )
    op.create_index('ix_notices_project_window', 'notices', ['project_key', 'status', 'ends_at'])
    op.create_table(
        'notice_recipients',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('notice_id', sa.Integer(), sa.ForeignKey('notices.id', ondelete='CASCADE'), nullable=False),
        sa.Column('unit_id', sa.Integer(), sa.ForeignKey('units.id', ondelete='CASCADE'), nullable=False),
        sa.Column('unit_code', sa.String(length=40), nullable=False),
        sa.Column('owner_name', sa.String(length=40), nullable=True),
        sa.Column('phone', sa.String(length=20), nullable=True),
        sa.Column('outbox_id', sa.Integer(), sa.ForeignKey('outbox.id', ondelete='SET NULL'), nullable=True),
        sa.Column('texts_sent', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('delivered_by_hand_at', UTCDateTime(), nullable=True),
        sa.Column('delivered_by_hand_by_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=True),
        sa.Column('hand_note', sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint('id', name='pk_notice_recipients'),
        sa.UniqueConstraint('notice_id', 'unit_id', name='uq_notice_recipients_notice_unit'),
    )


def downgrade():
    op.drop_table('notice_recipients')
    op.drop_index('ix_notices_project_window', table_name='notices')
    op.drop_table('notices')
