"""settings admins edit, the audit of their changes, and the KPI counters issue 11 adds

The 及时率 counts only tickets that had a time limit (``closed_with_limit``) and the duplicate figure
counts second dispatches (``duplicate_dispatches``). Counters kept before this revision counted
every closed ticket in the 及时率, so ``closed_with_limit`` starts as ``closed``; an admin's
"Recount from the tickets" on the dashboard makes both exact.

Revision ID: a1b2c3d40009
Revises: a1b2c3d40008
Create Date: 2026-12-04 19:00:00

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
UTC = sa.DateTime(timezone=True)


# revision identifiers, used by Alembic.
revision = 'a1b2c3d40009'
down_revision = 'a1b2c3d40008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'settings',
        sa.Column('key', sa.String(length=60), nullable=False),
        sa.Column('value', JSON, nullable=False),
        sa.Column('updated_at', UTC, nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('key'),
    )
    op.create_table(
        'setting_changes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=60), nullable=False),
        sa.Column('old_value', JSON, nullable=True),
        sa.Column('new_value', JSON, nullable=False),
        sa.Column('changed_at', UTC, nullable=False),
        sa.Column('changed_by_id', sa.Integer(), nullable=True),
        sa.Column('changed_by_name', sa.String(length=80), nullable=False),
        sa.Column('token', sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(['changed_by_id'], ['users.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sqlite_autoincrement=True,
    )
    op.create_index('ix_setting_changes_key', 'setting_changes', ['key'])
    op.add_column('kpi_ticket_facts', sa.Column('had_limit', sa.Boolean(), nullable=False, server_default=sa.true()))
    op.add_column('kpi_ticket_facts', sa.Column('duplicate_dispatch', sa.Boolean(), nullable=False,
                                                server_default=sa.false()))
    op.add_column('kpi_daily', sa.Column('closed_with_limit', sa.Integer(), nullable=False, server_default='0'))
    op.add_column('kpi_daily', sa.Column('duplicate_dispatches', sa.Integer(), nullable=False, server_default='0'))
    op.execute('UPDATE kpi_daily SET closed_with_limit = closed')


def downgrade():
    with op.batch_alter_table('kpi_daily') as batch:
        batch.drop_column('duplicate_dispatches')
        batch.drop_column('closed_with_limit')
    with op.batch_alter_table('kpi_ticket_facts') as batch:
        batch.drop_column('duplicate_dispatch')
        batch.drop_column('had_limit')
    op.drop_index('ix_setting_changes_key', table_name='setting_changes')
    op.drop_table('setting_changes')
    op.drop_table('settings')
