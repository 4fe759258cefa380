"""the dashboard's monthly roll-ups: a month row beside the day rows of kpi_daily, summed from them once

Every step now adds its counts to its day's row and to its month's (dimension ``m:<dimension>``, day = the
first of the business month; app/services/figures/counters.py), and the dashboard sums a year's slices from
twelve month rows and the days at its edges. The day rows kept so far get their month rows here.

Revision ID: a1b2c3d40025
Revises: a1b2c3d40024
Create Date: 2026-12-07 17:20:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a1b2c3d40025'
down_revision = 'a1b2c3d40024'
branch_labels = None
depends_on = None

COUNTERS = ('received', 'closed_of_received', 'closed', 'closed_in_time', 'closed_first_time',
            'callbacks_attempted', 'callbacks_reached', 'satisfied', 'repeat_repairs', 'attached_calls', 'reopened',
            'escalated', 'closed_with_limit', 'duplicate_dispatches', 'tasks_done', 'task_seconds')
MONTH = 'm:'  # counters.MONTH, as it was when this revision was written


def upgrade():
    daily = sa.table('kpi_daily', sa.column('dimension', sa.String), sa.column('day', sa.Date),
                     sa.column('project_key', sa.String), sa.column('value', sa.String),
                     sa.column('label', sa.String), *[sa.column(name, sa.Integer) for name in COUNTERS])
    if op.get_bind().dialect.name == 'postgresql':
        month = sa.cast(sa.func.date_trunc('month', daily.c.day), sa.Date)
    else:
        month = sa.func.date(daily.c.day, 'start of month')
    dimension = sa.literal(MONTH) + daily.c.dimension
    months = (sa.select(dimension, month, daily.c.project_key, daily.c.value, sa.func.max(daily.c.label),
                        *[sa.func.sum(daily.c[name]) for name in COUNTERS])
              .where(daily.c.dimension.not_like(f'{MONTH}%'))
              .group_by(daily.c.dimension, month, daily.c.project_key, daily.c.value))
    op.execute(daily.insert().from_select(['dimension', 'day', 'project_key', 'value', 'label', *COUNTERS], months))


def downgrade():
    op.execute(sa.text("DELETE FROM kpi_daily WHERE dimension LIKE 'm:%'"))
