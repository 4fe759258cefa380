"""tickets, projects, units, per-day ticket counters, users limited to projects

Revision ID: 61e1696a031b
Revises: 9d9c32324f27
Create Date: 2026-11-22 17:13:36.440463

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '61e1696a031b'
down_revision = '9d9c32324f27'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('projects',
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('city', sa.String(length=40), nullable=True),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_projects'))
    )
    op.create_table('ticket_counters',
    sa.Column('day', sa.String(length=8), nullable=False),
    sa.Column('last_number', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_ticket_counters'))
    )
    op.create_table('units',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('project_key', sa.String(length=40), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('building', sa.String(length=20), nullable=True),
    sa.Column('room', sa.String(length=20), nullable=True),
    sa.Column('owner_name', sa.String(length=40), nullable=True),
    sa.Column('owner_phone', sa.String(length=20), nullable=True),
    sa.Column('handover_date', sa.Date(), nullable=True),
    sa.Column('is_common_area', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['project_key'], ['projects.key'], name=op.f('fk_units_project_key_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_units')),
    sa.UniqueConstraint('project_key', 'code', name='uq_units_project_code')
    )
    op.create_table('user_projects',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('project_key', sa.String(length=40), nullable=False),
    sa.ForeignKeyConstraint(['project_key'], ['projects.key'], name=op.f('fk_user_projects_project_key_projects'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_projects_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'project_key', name=op.f('pk_user_projects'))
    )
    op.create_table('tickets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=20), nullable=False),
    sa.Column('instance_id', sa.Integer(), nullable=False),
    sa.Column('project_key', sa.String(length=40), nullable=False),
    sa.Column('unit_code', sa.String(length=40), nullable=False),
    sa.Column('category', sa.String(length=20), nullable=False),
    sa.Column('part', sa.String(length=40), nullable=True),
    sa.Column('channel', sa.String(length=20), nullable=True),
    sa.Column('caller', sa.String(length=40), nullable=True),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('stage', sa.String(length=30), nullable=True),
    sa.Column('department', sa.String(length=40), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('escalation_level', sa.Integer(), nullable=False),
    sa.Column('reopened', sa.Boolean(), nullable=False),
    sa.Column('reopened_from_id', sa.Integer(), nullable=True),
    sa.Column('rework_count', sa.Integer(), nullable=False),
    sa.Column('repeat_repair', sa.Boolean(), nullable=False),
    sa.Column('satisfaction', sa.String(length=20), nullable=True),
    sa.Column('outcome', sa.String(length=20), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('received_by_id', sa.Integer(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_in_time', sa.Boolean(), nullable=True),
    sa.Column('closed_first_time', sa.Boolean(), nullable=True),
    sa.Column('attached_calls', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['instance_id'], ['process_instances.id'], name=op.f('fk_tickets_instance_id_process_instances'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_key'], ['projects.key'], name=op.f('fk_tickets_project_key_projects')),
    sa.ForeignKeyConstraint(['received_by_id'], ['users.id'], name=op.f('fk_tickets_received_by_id_users')),
    sa.ForeignKeyConstraint(['reopened_from_id'], ['tickets.id'], name=op.f('fk_tickets_reopened_from_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tickets')),
    sa.UniqueConstraint('instance_id', name=op.f('uq_tickets_instance_id')),
    sa.UniqueConstraint('number', name=op.f('uq_tickets_number'))
    )
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index('ix_tickets_open_due', ['closed_at', 'due_at'], unique=False)
        batch_op.create_index('ix_tickets_phone', ['phone'], unique=False)
        batch_op.create_index('ix_tickets_project_received', ['project_key', 'received_at'], unique=False)
        batch_op.create_index('ix_tickets_unit_category', ['project_key', 'unit_code', 'category', 'received_at'], unique=False)



def downgrade():
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_unit_category')
        batch_op.drop_index('ix_tickets_project_received')
        batch_op.drop_index('ix_tickets_phone')
        batch_op.drop_index('ix_tickets_open_due')

    op.drop_table('tickets')
    op.drop_table('user_projects')
    op.drop_table('units')
    op.drop_table('ticket_counters')
    op.drop_table('projects')
