"""planned callbacks by text or e-mail, and expiring warranties and contracts

A planned callback whose method is a text or an e-mail sends the owner a survey link (a survey of its own,
``surveys.callback_plan_id``; its link is a random token kept hashed, ``survey_recipients.link_hash``, since
the worker that sends it holds no signing secret). Owners get an e-mail address and units the end of their
property-service contract (物业服务合同到期日), so contracts ending soon are called about renewal.

Revision ID: a1b2c3d40026
Revises: a1b2c3d40025 (a1b2c3d40024 until that exists)
Create Date: 2026-12-07 17:00:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a1b2c3d40026'
down_revision = 'a1b2c3d40025'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('units', sa.Column('owner_email', sa.String(length=120), nullable=True))
    op.add_column('units', sa.Column('contract_end_date', sa.Date(), nullable=True))
    # No foreign key: SQLite adds none to an existing table without copying it, and plans are never deleted.
    op.add_column('surveys', sa.Column('callback_plan_id', sa.Integer(), nullable=True))
    op.create_index('ix_surveys_callback_plan', 'surveys', ['callback_plan_id'])
    op.add_column('survey_recipients', sa.Column('link_hash', sa.String(length=64), nullable=True))
    op.create_index('ix_survey_recipients_link_hash', 'survey_recipients', ['link_hash'], unique=True)


def downgrade():
    op.drop_index('ix_survey_recipients_link_hash', table_name='survey_recipients')
    with op.batch_alter_table('survey_recipients') as batch:
        batch.drop_column('link_hash')
    op.drop_index('ix_surveys_callback_plan', table_name='surveys')
    with op.batch_alter_table('surveys') as batch:
        batch.drop_column('callback_plan_id')
    with op.batch_alter_table('units') as batch:
        batch.drop_column('contract_end_date')
        batch.drop_column('owner_email')
