"""outreach: planned callbacks by customer type (plans and calls) and surveys sent to owners

Revision ID: a1b2c3d40021
Revises: a1b2c3d40020
Create Date: 2026-12-07 14:30:00

"""
import sqlalchemy as sa
from alembic import op

from app.models.types import JsonType, UTCDateTime

# revision identifiers, used by Alembic.
revision = 'a1b2c3d40021'
down_revision = 'a1b2c3d40020'
branch_labels = None
depends_on = None


def _fk(column, target, **kwargs):
    return sa.Column(column, sa.Integer(), sa.ForeignKey(target, **kwargs), nullable=True)


def upgrade():
    op.create_table(
        'callback_plans',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('reason_key', sa.String(length=80), nullable=False),
        sa.Column('customer_type', sa.String(length=30), nullable=False),
        sa.Column('project_key', sa.String(length=40), sa.ForeignKey('projects.key'), nullable=False),
        _fk('unit_id', 'units.id', ondelete='SET NULL'),
        sa.Column('unit_code', sa.String(length=40), nullable=False),
        sa.Column('owner_name', sa.String(length=40), nullable=True),
        sa.Column('phone', sa.String(length=20), nullable=True),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        _fk('source_ticket_id', 'tickets.id', ondelete='SET NULL'),
        sa.Column('department', sa.String(length=40), nullable=True),
        sa.Column('technician', sa.String(length=40), nullable=True),
        _fk('instance_id', 'process_instances.id', ondelete='SET NULL'),
        _fk('planned_by_id', 'users.id'),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('started_at', UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id', name='pk_callback_plans'),
        sa.UniqueConstraint('reason_key', name='uq_callback_plans_reason_key'),
    )
    op.create_index('ix_callback_plans_due', 'callback_plans', ['status', 'due_on'])
    op.create_table(
        'callback_calls',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('plan_id', sa.Integer(), sa.ForeignKey('callback_plans.id', ondelete='CASCADE'), nullable=False),
        sa.Column('task_id', sa.String(length=36), nullable=False),
        sa.Column('method', sa.String(length=12), nullable=True),
        sa.Column('reached', sa.Boolean(), nullable=False),
        sa.Column('satisfaction', sa.String(length=20), nullable=True),
        sa.Column('issue', sa.Text(), nullable=True),
        sa.Column('remarks', sa.Text(), nullable=True),
        _fk('ticket_id', 'tickets.id', ondelete='SET NULL'),
        _fk('done_by_id', 'users.id'),
        sa.Column('done_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name='pk_callback_calls'),
        sa.UniqueConstraint('task_id', name='uq_callback_calls_task_id'),
    )
    op.create_index('ix_callback_calls_plan', 'callback_calls', ['plan_id'])
    op.create_index('ix_callback_calls_done', 'callback_calls', ['done_at'])
    op.create_table(
        'surveys',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=120), nullable=False),
        sa.Column('form_key', sa.String(length=120), nullable=False),
        sa.Column('form', sa.JSON(), nullable=False),  # JSON, not JSONB: the questions keep the form's order
        sa.Column('project_key', sa.String(length=40), sa.ForeignKey('projects.key'), nullable=False),
        sa.Column('building', sa.String(length=20), nullable=True),
        sa.Column('closes_on', sa.Date(), nullable=True),
        _fk('created_by_id', 'users.id'),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name='pk_surveys'),
    )
    op.create_table(
        'survey_recipients',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('survey_id', sa.Integer(), sa.ForeignKey('surveys.id', ondelete='CASCADE'), nullable=False),
        sa.Column('phone', sa.String(length=20), nullable=False),
        sa.Column('unit_code', sa.String(length=40), nullable=True),
        sa.Column('texted', sa.Boolean(), nullable=False),
        sa.Column('answers', JsonType, nullable=True),
        sa.Column('answered_at', UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id', name='pk_survey_recipients'),
        sa.UniqueConstraint('survey_id', 'phone', name='uq_survey_recipients_survey_phone'),
    )


def downgrade():
    op.drop_table('survey_recipients')
    op.drop_table('surveys')
    op.drop_index('ix_callback_calls_done', table_name='callback_calls')
    op.drop_index('ix_callback_calls_plan', table_name='callback_calls')
    op.drop_table('callback_calls')
    op.drop_index('ix_callback_plans_due', table_name='callback_plans')
    op.drop_table('callback_plans')
