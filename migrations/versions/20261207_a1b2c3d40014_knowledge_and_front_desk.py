"""the front desk's knowledge: answers to common questions, quick replies, the daily check of the reception log

Also an index on audit events by action and time: the wallboard counts today's attached calls without
reading the whole audit log.

Revision ID: a1b2c3d40014
Revises: a1b2c3d40017
Create Date: 2026-12-07 13:40:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

JsonType = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')

# revision identifiers, used by Alembic.
revision = 'a1b2c3d40014'
down_revision = 'a1b2c3d40017'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'knowledge_answers',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('title', sa.String(length=120), nullable=False),
        sa.Column('keywords', sa.String(length=400), nullable=False),
        sa.Column('answer', sa.Text(), nullable=False),
        sa.Column('category', sa.String(length=40), nullable=False),
        sa.Column('project_keys', JsonType, nullable=False),
        sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), sa.ForeignKey('users.id', ondelete='SET NULL'), nullable=True),
    )
    op.create_table(
        'quick_replies',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('title', sa.String(length=80), nullable=False),
        sa.Column('body', sa.String(length=1000), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), sa.ForeignKey('users.id', ondelete='SET NULL'), nullable=True),
    )
    op.create_table(
        'front_desk_checks',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('project_key', sa.String(length=40), sa.ForeignKey('projects.key'), nullable=False),
        sa.Column('checked_by_id', sa.Integer(), sa.ForeignKey('users.id', ondelete='SET NULL'), nullable=True),
        sa.Column('checked_by_name', sa.String(length=80), nullable=False),
        sa.Column('checked_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('note', sa.String(length=1000), nullable=False),
        sa.UniqueConstraint('day', 'project_key', name='uq_front_desk_checks_day_project'),
    )
    op.create_index('ix_audit_events_action_at', 'audit_events', ['action', 'at'])


def downgrade():
    op.drop_index('ix_audit_events_action_at', table_name='audit_events')
    op.drop_table('front_desk_checks')
    op.drop_table('quick_replies')
    op.drop_table('knowledge_answers')
