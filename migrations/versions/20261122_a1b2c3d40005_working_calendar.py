"""working calendar: holiday and make-up day overrides (timers issue)

Revision ID: a1b2c3d40005
Revises: a1b2c3d40004
Create Date: 2026-11-22 19:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a1b2c3d40005'
down_revision = 'a1b2c3d40004'
branch_labels = None
depends_on = None


def upgrade():
    # Ids are never reused (the calendar cache compares the row count and the highest id).
    op.create_table(
        'calendar_overrides',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('holiday', 'workday')", name='ck_calendar_overrides_kind'),
        sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('day'),
        sqlite_autoincrement=True,
    )


def downgrade():
    op.drop_table('calendar_overrides')
