"""handover defects: imported handover batches, each unit's handover and the defects its owner raised

Revision ID: a1b2c3d40023
Revises: a1b2c3d40022
Create Date: 2026-12-07 14:40:00

"""
import sqlalchemy as sa
from alembic import op

from app.models.types import JsonType, UTCDateTime

# revision identifiers, used by Alembic.
revision = 'a1b2c3d40023'
down_revision = 'a1b2c3d40022'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'handover_batches',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('project_key', sa.String(length=40), sa.ForeignKey('projects.key'), nullable=False),
        sa.Column('filename', sa.String(length=200), nullable=False),
        sa.Column('rows_applied', sa.Integer(), nullable=False),
        sa.Column('refused', JsonType, nullable=False),
        sa.Column('imported_by_id', sa.Integer(), sa.ForeignKey('users.id'), nullable=True),
        sa.Column('imported_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_table(
        'handover_units',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('batch_id', sa.Integer(), sa.ForeignKey('handover_batches.id', ondelete='CASCADE'), nullable=False),
        sa.Column('unit_id', sa.Integer(), sa.ForeignKey('units.id'), nullable=False),
        sa.Column('project_key', sa.String(length=40), sa.ForeignKey('projects.key'), nullable=False),
        sa.Column('building', sa.String(length=20), nullable=False),
        sa.Column('unit_code', sa.String(length=40), nullable=False),
        sa.Column('handover_date', sa.Date(), nullable=False),
        sa.Column('instance_id', sa.Integer(), sa.ForeignKey('process_instances.id', ondelete='SET NULL'),
                  nullable=True),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('signature', sa.String(length=200), nullable=True),
        sa.Column('signed_at', UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('unit_id', name='uq_handover_units_unit'),
    )
    op.create_index('ix_handover_units_project_building', 'handover_units', ['project_key', 'building'])
    op.create_table(
        'handover_defects',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('handover_unit_id', sa.Integer(), sa.ForeignKey('handover_units.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('ticket_id', sa.Integer(), sa.ForeignKey('tickets.id'), nullable=False),
        sa.Column('location', sa.String(length=80), nullable=False),
        sa.Column('part', sa.String(length=40), nullable=False),
        sa.Column('defect_type', sa.String(length=20), nullable=False),
        sa.Column('hot_tag', sa.String(length=10), nullable=True),
        sa.Column('description', sa.Text(), nullable=False),
        sa.Column('photo', sa.String(length=200), nullable=True),
        sa.Column('round', sa.Integer(), nullable=False),
        sa.Column('close_by', UTCDateTime(), nullable=False),
        sa.Column('recorded_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('ticket_id'),
    )
    op.create_index('ix_handover_defects_unit', 'handover_defects', ['handover_unit_id'])


def downgrade():
    op.drop_index('ix_handover_defects_unit', table_name='handover_defects')
    op.drop_table('handover_defects')
    op.drop_index('ix_handover_units_project_building', table_name='handover_units')
    op.drop_table('handover_units')
    op.drop_table('handover_batches')
