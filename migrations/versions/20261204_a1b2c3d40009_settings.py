"""settings admins edit, and the audit of their changes (issue 11)

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


def downgrade():
    op.drop_index('ix_setting_changes_key', table_name='setting_changes')
    op.drop_table('setting_changes')
    op.drop_table('settings')
