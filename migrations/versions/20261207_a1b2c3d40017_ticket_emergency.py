"""a ticket's emergency mark (突发) as a column: the technician's inbox puts emergencies first and marks them

The intake's ``emergency`` answer was kept only in the instance's data. Tickets recorded before this
revision have no mark (NULL reads as not an emergency).

Revision ID: a1b2c3d40017
Revises: a1b2c3d40011
Create Date: 2026-12-07 13:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a1b2c3d40017'
down_revision = 'a1b2c3d40011'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('tickets', sa.Column('emergency', sa.Boolean(), nullable=True))


def downgrade():
    with op.batch_alter_table('tickets') as batch:
        batch.drop_column('emergency')
