"""a user's mobile number: the night-emergency text goes to the engineer on call and the CS supervisors

Before this revision the numbers were a config value (KEFU_STAFF_PHONES); admins now type them on the
person's page. Existing users start without a number.

Revision ID: a1b2c3d40010
Revises: a1b2c3d40009
Create Date: 2026-12-04 19:50:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a1b2c3d40010'
down_revision = 'a1b2c3d40009'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('users', sa.Column('phone', sa.String(length=20), nullable=True))


def downgrade():
    with op.batch_alter_table('users') as batch:
        batch.drop_column('phone')
