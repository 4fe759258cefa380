"""what a ticket waits for and until when, and how often it was chased (催办)

``waiting_for`` is a kind of wait (``night_hold``, ``callback_retry``, ``paused``, ``owner_quote``, ``task``…),
``waiting_note`` its detail (the step's title, a pause's reason), ``waiting_since`` when a pause began and
``waiting_until`` when the wait ends or is due; all four are written in each step's transaction by the
ticket sync (app/services/work/waiting.py), so lists show them without reading instance states.
``chase_count`` counts the repeated calls attached to the ticket while it was open. Tickets recorded
before this revision show no wait until their next step (NULL) and no chases (0).

Revision ID: a1b2c3d40013
Revises: a1b2c3d40014
Create Date: 2026-12-07 13:45:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a1b2c3d40013'
down_revision = 'a1b2c3d40014'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('tickets', sa.Column('waiting_for', sa.String(length=30), nullable=True))
    op.add_column('tickets', sa.Column('waiting_note', sa.String(length=200), nullable=True))
    op.add_column('tickets', sa.Column('waiting_since', sa.DateTime(timezone=True), nullable=True))
    op.add_column('tickets', sa.Column('waiting_until', sa.DateTime(timezone=True), nullable=True))
    op.add_column('tickets', sa.Column('chase_count', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('tickets') as batch:
        batch.drop_column('chase_count')
        batch.drop_column('waiting_until')
        batch.drop_column('waiting_since')
        batch.drop_column('waiting_note')
        batch.drop_column('waiting_for')
