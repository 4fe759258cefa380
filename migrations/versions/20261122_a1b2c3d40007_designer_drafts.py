"""designer: drafts and deploy history (designer issue)

Revision ID: a1b2c3d40007
Revises: a1b2c3d40006
Create Date: 2026-11-22 19:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a1b2c3d40007'
down_revision = 'a1b2c3d40006'
branch_labels = None
depends_on = None


def upgrade():
    # Who deployed a version is already on bundles (deployed_by_id, deployed_at).
    op.create_table(
        "designer_drafts",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["updated_by_id"], ["users.id"], name=op.f("fk_designer_drafts_updated_by_id_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_designer_drafts")),
    )


def downgrade():
    op.drop_table("designer_drafts")
