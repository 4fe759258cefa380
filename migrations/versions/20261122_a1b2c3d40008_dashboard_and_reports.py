"""dashboard pre-aggregates and weekly reports (admin issue)

Revision ID: a1b2c3d40008
Revises: a1b2c3d40007
Create Date: 2026-11-22 19:20:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
UTC = sa.DateTime(timezone=True)
COUNTERS = ('received', 'closed_of_received', 'closed', 'closed_in_time', 'closed_first_time',
            'callbacks_attempted', 'callbacks_reached', 'satisfied', 'repeat_repairs', 'attached_calls',
            'reopened', 'escalated', 'tasks_done')


# revision identifiers, used by Alembic.
revision = 'a1b2c3d40008'
down_revision = 'a1b2c3d40007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'kpi_ticket_facts',
        sa.Column('ticket_id', sa.Integer(), nullable=False),
        sa.Column('project_key', sa.String(length=40), nullable=False),
        sa.Column('department', sa.String(length=40), nullable=False),
        sa.Column('category', sa.String(length=20), nullable=False),
        sa.Column('hot_spot', sa.String(length=40), nullable=False),
        sa.Column('received_day', sa.Date(), nullable=False),
        sa.Column('closed_day', sa.Date(), nullable=True),
        sa.Column('closed_in_time', sa.Boolean(), nullable=False),
        sa.Column('closed_first_time', sa.Boolean(), nullable=False),
        sa.Column('satisfaction', sa.String(length=20), nullable=False),
        sa.Column('outcome', sa.String(length=20), nullable=False),
        sa.Column('repeat_repair', sa.Boolean(), nullable=False),
        sa.Column('attached_calls', sa.Integer(), nullable=False),
        sa.Column('reopened', sa.Boolean(), nullable=False),
        sa.Column('escalated', sa.Boolean(), nullable=False),
        sa.Column('counted_event_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('ticket_id'),
    )
    op.create_table(
        'kpi_daily',
        sa.Column('dimension', sa.String(length=12), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('project_key', sa.String(length=40), nullable=False),
        sa.Column('value', sa.String(length=160), nullable=False),
        sa.Column('label', sa.String(length=200), nullable=True),
        *[sa.Column(name, sa.Integer(), nullable=False) for name in COUNTERS],
        sa.Column('task_seconds', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('dimension', 'day', 'project_key', 'value'),
        # Counters change in place all day: room in each page lets PostgreSQL update them without
        # touching the index (HOT updates).
        postgresql_with={'fillfactor': 70},
    )
    op.create_table(
        'weekly_reports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('week_start', sa.Date(), nullable=False),
        sa.Column('generated_at', UTC, nullable=False),
        sa.Column('open_count', sa.Integer(), nullable=False),
        sa.Column('rows', JSON, nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('week_start'),
    )


def downgrade():
    op.drop_table('weekly_reports')
    op.drop_table('kpi_daily')
    op.drop_table('kpi_ticket_facts')
