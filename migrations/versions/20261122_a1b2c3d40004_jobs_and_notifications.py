"""jobs, incidents, notifications and the outbox (timers issue)

Revision ID: a1b2c3d40004
Revises: 7ba2f2d9b132
Create Date: 2026-11-22 19:20:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
UTC = sa.DateTime(timezone=True)

# PostgreSQL wakes sleeping workers when a job becomes due sooner (LISTEN kefu_jobs); sent at commit.
NOTIFY_FUNCTION = """
CREATE FUNCTION kefu_jobs_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('kefu_jobs', extract(epoch FROM NEW.due_at)::text);
    RETURN NULL;
END $$
"""
OUTBOX_NOTIFY_FUNCTION = """
CREATE FUNCTION kefu_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('kefu_jobs', extract(epoch FROM NEW.next_attempt_at)::text);
    RETURN NULL;
END $$
"""
OUTBOX_NOTIFY_TRIGGER = """
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION kefu_outbox_notify()
"""
NOTIFY_TRIGGER = """
CREATE TRIGGER jobs_notify AFTER INSERT OR UPDATE OF due_at, lock_owner ON jobs
FOR EACH ROW WHEN (NEW.lock_owner IS NULL AND NEW.retries_left > 0) EXECUTE FUNCTION kefu_jobs_notify()
"""


# revision identifiers, used by Alembic.
revision = 'a1b2c3d40004'
down_revision = '7ba2f2d9b132'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'jobs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=80), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=True),
        sa.Column('ticket_id', sa.Integer(), nullable=True),
        sa.Column('due_at', UTC, nullable=False),
        sa.Column('lock_owner', sa.String(length=120), nullable=True),
        sa.Column('lock_expires_at', UTC, nullable=True),
        sa.Column('retries_left', sa.Integer(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('created_at', UTC, nullable=False),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instances.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('key'),
    )
    op.create_index('ix_jobs_due', 'jobs', ['due_at'])
    op.create_index('ix_jobs_instance', 'jobs', ['instance_id'])
    op.create_table(
        'notifications',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=30), nullable=False),
        sa.Column('params', JSON, nullable=False),
        sa.Column('link', sa.String(length=200), nullable=True),
        sa.Column('created_at', UTC, nullable=False),
        sa.Column('read_at', UTC, nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_notifications_user_unread', 'notifications', ['user_id', 'read_at', 'id'])
    op.create_table(
        'outbox',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=10), nullable=False),
        sa.Column('recipient', sa.String(length=120), nullable=False),
        sa.Column('subject', sa.String(length=200), nullable=True),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('ticket_id', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', UTC, nullable=False),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('created_at', UTC, nullable=False),
        sa.Column('sent_at', UTC, nullable=True),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_outbox_pending', 'outbox', ['status', 'next_attempt_at'])
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('appointment_at', UTC, nullable=True))
    # Instances already waiting on a timer get their job (databases upgraded in place).
    op.execute("""
        INSERT INTO jobs (key, kind, instance_id, due_at, retries_left, attempts, created_at)
        SELECT 'timer:' || id, 'timer', id, next_timer_at, 3, 0, next_timer_at FROM process_instances
        WHERE next_timer_at IS NOT NULL AND status IN ('running', 'waiting')
    """)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(NOTIFY_FUNCTION)
        op.execute(NOTIFY_TRIGGER)
        op.execute(OUTBOX_NOTIFY_FUNCTION)
        op.execute(OUTBOX_NOTIFY_TRIGGER)


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER jobs_notify ON jobs')
        op.execute('DROP FUNCTION kefu_jobs_notify()')
        op.execute('DROP TRIGGER outbox_notify ON outbox')
        op.execute('DROP FUNCTION kefu_outbox_notify()')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_column('appointment_at')
    op.drop_index('ix_outbox_pending', table_name='outbox')
    op.drop_table('outbox')
    op.drop_index('ix_notifications_user_unread', table_name='notifications')
    op.drop_table('notifications')
    op.drop_index('ix_jobs_instance', table_name='jobs')
    op.drop_index('ix_jobs_due', table_name='jobs')
    op.drop_table('jobs')
