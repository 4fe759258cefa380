"""sessions that logout and password changes end, named API tokens, login throttling per account and address

``users.session_version`` is part of the browser session's id: logging out or changing the password
raises it, so every session cookie issued before stops working. ``api_tokens.label`` says what a token
is for on the token lists. ``login_throttles`` replaces the per-account lockout (``users.failed_logins``,
``users.locked_until``), which let anyone lock anyone out: failures now count per (login name, client
address), so a stranger's guesses slow down only the stranger.

Revision ID: a1b2c3d40011
Revises: a1b2c3d40010
Create Date: 2026-12-06 21:40:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a1b2c3d40011'
down_revision = 'a1b2c3d40010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('session_version', sa.Integer(), server_default='0', nullable=False))
        batch.drop_column('locked_until')
        batch.drop_column('failed_logins')
    op.add_column('api_tokens', sa.Column('label', sa.String(length=80), nullable=True))
    op.create_table(
        'login_throttles',
        sa.Column('username', sa.String(length=80), nullable=False),
        sa.Column('address', sa.String(length=64), nullable=False),
        sa.Column('failures', sa.Integer(), server_default='0', nullable=False),
        sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('username', 'address', name=op.f('pk_login_throttles')),
    )


def downgrade():
    op.drop_table('login_throttles')
    with op.batch_alter_table('api_tokens') as batch:
        batch.drop_column('label')
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('failed_logins', sa.Integer(), server_default='0', nullable=False))
        batch.add_column(sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True))
        batch.drop_column('session_version')
