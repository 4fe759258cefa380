"""foundation schema: users, roles, departments, tokens, bundles, instances, task index, audit log

Revision ID: 9d9c32324f27
Revises: 
Create Date: 2026-11-22 16:26:39.085597

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '9d9c32324f27'
down_revision = None
branch_labels = None
depends_on = None


ROLES = [
    ("cs_agent", "客服专员", "Customer-service agent"),
    ("night_security", "中控室保安", "Night security (control room)"),
    ("cs_supervisor", "客服主管", "Customer-service supervisor"),
    ("dept_owner", "责任端口负责人", "Responsible department owner"),
    ("dept_head", "部门领导", "Department head"),
    ("eng_supervisor", "工程部主管", "Engineering supervisor"),
    ("technician", "维修人员", "Technician"),
    ("property_manager", "物业经理", "Property manager"),
    ("designer", "流程设计", "Process designer"),
    ("admin", "管理员", "Administrator"),
]
DEPARTMENTS = [
    ("engineering", "运筹/工程", "Engineering"),
    ("design", "产技/设计", "Design"),
    ("sales", "营销", "Sales"),
    ("property", "物业", "Property management"),
    ("service", "生活服务", "Life services"),
]


def seed_catalogs():
    catalog = sa.table("roles", sa.column("key"), sa.column("name_zh"), sa.column("name_en"))
    op.bulk_insert(catalog, [dict(zip(("key", "name_zh", "name_en"), row)) for row in ROLES])
    catalog = sa.table("departments", sa.column("key"), sa.column("name_zh"), sa.column("name_en"))
    op.bulk_insert(catalog, [dict(zip(("key", "name_zh", "name_en"), row)) for row in DEPARTMENTS])


def upgrade():
    op.create_table('departments',
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('name_zh', sa.String(length=40), nullable=False),
    sa.Column('name_en', sa.String(length=80), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_departments')),
    sa.UniqueConstraint('name_zh', name=op.f('uq_departments_name_zh'))
    )
    op.create_table('disk_files',
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_disk_files'))
    )
    op.create_table('roles',
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('name_zh', sa.String(length=40), nullable=False),
    sa.Column('name_en', sa.String(length=80), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_roles')),
    sa.UniqueConstraint('name_zh', name=op.f('uq_roles_name_zh'))
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=80), nullable=False),
    sa.Column('display_name', sa.String(length=80), nullable=False),
    sa.Column('password_hash', sa.String(length=256), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_user_id'), ['user_id'], unique=False)

    op.create_table('bundles',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('process_id', sa.String(length=120), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('spec_key', sa.String(length=200), nullable=False),
    sa.Column('files', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('serialized_spec', sa.Text(), nullable=False),
    sa.Column('lane_roles', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('start_roles', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('start_form', sa.String(length=200), nullable=True),
    sa.Column('source', sa.String(length=10), nullable=False),
    sa.Column('deployed_by_id', sa.Integer(), nullable=True),
    sa.Column('deployed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['deployed_by_id'], ['users.id'], name=op.f('fk_bundles_deployed_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bundles')),
    sa.UniqueConstraint('process_id', 'version', name='uq_bundles_process_version')
    )
    with op.batch_alter_table('bundles', schema=None) as batch_op:
        batch_op.create_index('ix_bundles_spec_key', ['spec_key'], unique=False)

    op.create_table('user_departments',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('department_key', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['department_key'], ['departments.key'], name=op.f('fk_user_departments_department_key_departments')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_departments_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'department_key', name=op.f('pk_user_departments'))
    )
    op.create_table('user_roles',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role_key', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['role_key'], ['roles.key'], name=op.f('fk_user_roles_role_key_roles')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_roles_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'role_key', name=op.f('pk_user_roles'))
    )
    op.create_table('process_instances',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('bundle_id', sa.Integer(), nullable=False),
    sa.Column('process_id', sa.String(length=120), nullable=False),
    sa.Column('spec_key', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('state', sa.Text(), nullable=False),
    sa.Column('next_timer_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lock_version', sa.Integer(), nullable=False),
    sa.Column('error', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('started_by_id', sa.Integer(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['bundle_id'], ['bundles.id'], name=op.f('fk_process_instances_bundle_id_bundles')),
    sa.ForeignKeyConstraint(['started_by_id'], ['users.id'], name=op.f('fk_process_instances_started_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_process_instances'))
    )
    with op.batch_alter_table('process_instances', schema=None) as batch_op:
        batch_op.create_index('ix_process_instances_next_timer', ['next_timer_at'], unique=False)
        batch_op.create_index('ix_process_instances_process_status', ['process_id', 'status'], unique=False)
        batch_op.create_index('ix_process_instances_status_started', ['status', 'started_at'], unique=False)

    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=True),
    sa.Column('task_id', sa.String(length=36), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_audit_events_actor_id_users')),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instances.id'], name=op.f('fk_audit_events_instance_id_process_instances'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index('ix_audit_events_instance', ['instance_id', 'id'], unique=False)

    op.create_table('human_tasks',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('process_id', sa.String(length=120), nullable=False),
    sa.Column('element_id', sa.String(length=120), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=40), nullable=True),
    sa.Column('department', sa.String(length=40), nullable=True),
    sa.Column('assignee', sa.String(length=80), nullable=True),
    sa.Column('claimed_by_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('form_key', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['claimed_by_id'], ['users.id'], name=op.f('fk_human_tasks_claimed_by_id_users')),
    sa.ForeignKeyConstraint(['completed_by_id'], ['users.id'], name=op.f('fk_human_tasks_completed_by_id_users')),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instances.id'], name=op.f('fk_human_tasks_instance_id_process_instances'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_human_tasks'))
    )
    with op.batch_alter_table('human_tasks', schema=None) as batch_op:
        batch_op.create_index('ix_human_tasks_claimed_state', ['claimed_by_id', 'state'], unique=False)
        batch_op.create_index('ix_human_tasks_instance_state', ['instance_id', 'state'], unique=False)
        batch_op.create_index('ix_human_tasks_state_assignee', ['state', 'assignee'], unique=False)
        batch_op.create_index('ix_human_tasks_state_role', ['state', 'role', 'due_at'], unique=False)

    seed_catalogs()


def downgrade():
    with op.batch_alter_table('human_tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_human_tasks_state_role')
        batch_op.drop_index('ix_human_tasks_state_assignee')
        batch_op.drop_index('ix_human_tasks_instance_state')
        batch_op.drop_index('ix_human_tasks_claimed_state')

    op.drop_table('human_tasks')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_events_instance')

    op.drop_table('audit_events')
    with op.batch_alter_table('process_instances', schema=None) as batch_op:
        batch_op.drop_index('ix_process_instances_status_started')
        batch_op.drop_index('ix_process_instances_process_status')
        batch_op.drop_index('ix_process_instances_next_timer')

    op.drop_table('process_instances')
    op.drop_table('user_roles')
    op.drop_table('user_departments')
    with op.batch_alter_table('bundles', schema=None) as batch_op:
        batch_op.drop_index('ix_bundles_spec_key')

    op.drop_table('bundles')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_user_id'))

    op.drop_table('api_tokens')
    op.drop_table('users')
    op.drop_table('roles')
    op.drop_table('disk_files')
    op.drop_table('departments')
