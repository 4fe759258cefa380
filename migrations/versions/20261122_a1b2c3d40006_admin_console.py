"""admin console: saved filters, personal-data access log, the pii_export role, instance-list indexes

Revision ID: a1b2c3d40006
Revises: a1b2c3d40005
Create Date: 2026-11-22 19:20:00

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = 'a1b2c3d40006'
down_revision = 'a1b2c3d40005'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
ROLES = sa.table("roles", sa.column("key"), sa.column("name_zh"), sa.column("name_en"))

# The instance list pages by instance id (ids grow with start time), newest first. Each filter has an
# index that walks in that order — on a ticket column (column, instance_id), since the join makes
# tickets.instance_id the same key — or finds its few rows at once (phone, number, caller, unit prefix).
INDEXES = [
    ("ix_process_instances_process_id", "process_instances", ["process_id", "id"], {}),
    ("ix_process_instances_bundle_id", "process_instances", ["bundle_id", "id"], {}),
    ("ix_process_instances_started", "process_instances", ["started_at"], {}),
    ("ix_tickets_caller", "tickets", ["caller"], {}),
    ("ix_tickets_department_instance", "tickets", ["department", "instance_id"], {}),
    # a stage other than "closed" is only ever an open ticket's (the list adds closed_at IS NULL)
    ("ix_tickets_open_stage", "tickets", ["stage", "instance_id"],
     {"postgresql_where": sa.text("closed_at IS NULL"), "sqlite_where": sa.text("closed_at IS NULL")}),
    # overdue (open and late): the list walks the open tickets of a department in id order, deadline at hand
    ("ix_tickets_open_department", "tickets", ["department", "instance_id"],
     {"postgresql_where": sa.text("closed_at IS NULL"), "sqlite_where": sa.text("closed_at IS NULL"),
      "postgresql_include": ["due_at"]}),
    ("ix_tickets_escalation_instance", "tickets", ["escalation_level", "instance_id"], {}),
    ("ix_tickets_due_instance", "tickets", ["due_at", "instance_id"], {}),
    # the definitions page counts open tasks per element: an index-only scan of the open ones
    ("ix_human_tasks_open_element", "human_tasks", ["instance_id", "process_id", "element_id"],
     {"postgresql_where": sa.text("state = 'open'"), "sqlite_where": sa.text("state = 'open'")}),
]


def upgrade():
    op.create_table(
        'saved_filters',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('query', JSON, nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_saved_filters_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_filters')),
        sa.UniqueConstraint('user_id', 'name', name='uq_saved_filters_user_name'),
    )
    op.create_table(
        'pii_access_log',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('username', sa.String(length=80), nullable=False),
        sa.Column('action', sa.String(length=30), nullable=False),
        sa.Column('source', sa.String(length=40), nullable=False),
        sa.Column('ticket_number', sa.String(length=20), nullable=True),
        sa.Column('masked', sa.Boolean(), nullable=False),
        sa.Column('detail', JSON, nullable=True),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_pii_access_log_user_id_users'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_pii_access_log')),
    )
    with op.batch_alter_table('pii_access_log', schema=None) as batch_op:
        batch_op.create_index('ix_pii_access_log_at', ['at'], unique=False)
        batch_op.create_index('ix_pii_access_log_user_at', ['user_id', 'at'], unique=False)
        batch_op.create_index('ix_pii_access_log_ticket', ['ticket_number', 'at'], unique=False)
    for name, table, columns, options in INDEXES:
        op.create_index(name, table, columns, unique=False, **options)
    # A unit prefix ("3栋-") must use an index on PostgreSQL whatever the database's collation.
    op.create_index('ix_tickets_unit_code', 'tickets', ['unit_code'], unique=False,
                    postgresql_ops={'unit_code': 'varchar_pattern_ops'})
    if op.get_bind().dialect.name == "postgresql":
        # Department, stage and level go together (a closed ticket is in stage "closed"...): without this
        # PostgreSQL multiplies their selectivities and walks the whole list for a combination that is rare.
        op.execute("CREATE STATISTICS st_tickets_list_filters (mcv) ON department, stage, escalation_level "
                   "FROM tickets")
    op.bulk_insert(ROLES, [{"key": "pii_export", "name_zh": "个人信息导出", "name_en": "Personal-data export"}])


def downgrade():
    op.execute(sa.text("DELETE FROM user_roles WHERE role_key = 'pii_export'"))
    op.execute(ROLES.delete().where(ROLES.c.key == "pii_export"))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP STATISTICS IF EXISTS st_tickets_list_filters")
    op.drop_index('ix_tickets_unit_code', table_name='tickets')
    for name, table, _columns, _options in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    with op.batch_alter_table('pii_access_log', schema=None) as batch_op:
        batch_op.drop_index('ix_pii_access_log_ticket')
        batch_op.drop_index('ix_pii_access_log_user_at')
        batch_op.drop_index('ix_pii_access_log_at')
    op.drop_table('pii_access_log')
    op.drop_table('saved_filters')
