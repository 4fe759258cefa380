"""an instance's project: who may see and do the tasks of an instance without a ticket

Planned callbacks, notices and unit handovers have no ticket, so their tasks carried no project and every
holder of the lane role saw them, whichever estate they work on. The instance now keeps the project it was
started for (the start data's ``project``); a task's project is its ticket's, else its instance's. Existing
instances take the project of their ticket, callback plan, notice or handover unit.

Revision ID: a1b2c3d40024
Revises: a1b2c3d40023
Create Date: 2026-12-07 16:50:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a1b2c3d40024'
down_revision = 'a1b2c3d40023'
branch_labels = None
depends_on = None

# The rows that name an instance and its project, in the order they are trusted.
_OWNERS = ('tickets', 'callback_plans', 'notices', 'handover_units')


def upgrade():
    op.add_column('process_instances', sa.Column('project_key', sa.String(length=40), nullable=True))
    instances = sa.table('process_instances', sa.column('id', sa.Integer), sa.column('project_key', sa.String))
    for name in _OWNERS:
        owner = sa.table(name, sa.column('instance_id', sa.Integer), sa.column('project_key', sa.String))
        project = (sa.select(owner.c.project_key).where(owner.c.instance_id == instances.c.id)
                   .limit(1).scalar_subquery())
        op.execute(instances.update()
                   .where(instances.c.project_key.is_(None), instances.c.id.in_(sa.select(owner.c.instance_id)))
                   .values(project_key=project))


def downgrade():
    with op.batch_alter_table('process_instances') as batch:
        batch.drop_column('project_key')
