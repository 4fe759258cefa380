"""jobs, incidents, notifications and the outbox (timers issue)

Revision ID: a1b2c3d40004
Revises: 7ba2f2d9b132
Create Date: 2026-11-22 19:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a1b2c3d40004'
down_revision = '7ba2f2d9b132'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
