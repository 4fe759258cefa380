"""the dashboard's daily series of a manager's projects: the ``all`` day rows by project and day

A manager of some projects (not of every one) sees a daily series summed from those projects' ``all`` rows. The
primary key orders a day's rows by project after the day, so a year of them was read for every project of the
company and all but the manager's dropped (10 of 50 projects: 18,615 entries read, 3,650 kept, ~6-10 ms on
PostgreSQL). This partial index holds only the ``all`` rows, by project then day: each project's year is one range.

Revision ID: a1b2c3d40027
Revises: a1b2c3d40026
Create Date: 2026-12-08 02:30:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a1b2c3d40027'
down_revision = 'a1b2c3d40026'
branch_labels = None
depends_on = None

WHERE = sa.text("dimension = 'all'")


def upgrade():
    op.create_index('ix_kpi_daily_all_project_day', 'kpi_daily', ['project_key', 'day'],
                    postgresql_where=WHERE, sqlite_where=WHERE)


def downgrade():
    op.drop_index('ix_kpi_daily_all_project_day', table_name='kpi_daily')
