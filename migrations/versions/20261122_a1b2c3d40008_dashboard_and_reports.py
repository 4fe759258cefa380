"""dashboard pre-aggregates and weekly reports (admin issue)

Revision ID: a1b2c3d40008
Revises: a1b2c3d40007
Create Date: 2026-11-22 19:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a1b2c3d40008'
down_revision = 'a1b2c3d40007'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
