"""ticket search: the indexed text of a ticket, its unit by numbers, its phone's last four digits

``tickets.search_text`` (caller and description, Chinese in two-character pieces) has a trigram index:
pg_trgm's GIN index on PostgreSQL; on SQLite the FTS5 table ``ticket_search`` (trigram tokenizer), an
external-content index of that column kept in step by triggers. ``tickets.unit_key`` is the unit by its
numbers ("3栋-0102" → "3-102"); ``ix_tickets_phone_tail`` finds a caller by the last four digits, and
``ix_units_owner_phone`` and ``ix_units_owner_name`` the units a caller owns. See
docs/search.md.

Revision ID: a1b2c3d40012
Revises: a1b2c3d40013
Create Date: 2026-12-07 13:30:00

"""
import sqlalchemy as sa
from alembic import op

from app.services.work.search_text import search_text, unit_key

# revision identifiers, used by Alembic.
revision = 'a1b2c3d40012'
down_revision = 'a1b2c3d40013'
branch_labels = None
depends_on = None

PHONE_TAIL = "substr(phone, length(phone) - 3)"  # the same text as ticket_search.PHONE_TAIL, so queries use it
SQLITE_TRIGGERS = {
    "tickets_search_insert": """CREATE TRIGGER tickets_search_insert AFTER INSERT ON tickets
        WHEN new.search_text IS NOT NULL BEGIN
          INSERT INTO ticket_search (rowid, search_text) VALUES (new.id, new.search_text);
        END""",
    "tickets_search_delete": """CREATE TRIGGER tickets_search_delete AFTER DELETE ON tickets
        WHEN old.search_text IS NOT NULL BEGIN
          INSERT INTO ticket_search (ticket_search, rowid, search_text) VALUES ('delete', old.id, old.search_text);
        END""",
    "tickets_search_update": """CREATE TRIGGER tickets_search_update AFTER UPDATE OF search_text ON tickets BEGIN
          INSERT INTO ticket_search (ticket_search, rowid, search_text)
            SELECT 'delete', old.id, old.search_text WHERE old.search_text IS NOT NULL;
          INSERT INTO ticket_search (rowid, search_text)
            SELECT new.id, new.search_text WHERE new.search_text IS NOT NULL;
        END""",
}


def upgrade():
    op.add_column('tickets', sa.Column('search_text', sa.Text(), nullable=True))
    op.add_column('tickets', sa.Column('unit_key', sa.String(length=40), nullable=True))
    _fill_existing()
    op.create_index('ix_tickets_unit_key', 'tickets', ['unit_key', 'received_at'])
    op.create_index('ix_units_owner_phone', 'units', ['owner_phone'])
    op.create_index('ix_units_owner_name', 'units', ['owner_name'])
    op.execute(f"CREATE INDEX ix_tickets_phone_tail ON tickets ({PHONE_TAIL})")
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX ix_tickets_search_trgm ON tickets USING gin (search_text gin_trgm_ops)")
    else:
        op.execute("CREATE VIRTUAL TABLE ticket_search USING fts5(search_text, content='tickets', "
                   "content_rowid='id', tokenize='trigram')")
        for statement in SQLITE_TRIGGERS.values():
            op.execute(statement)
        op.execute("INSERT INTO ticket_search (ticket_search) VALUES ('rebuild')")


def _fill_existing():
    tickets = sa.table('tickets', sa.column('id', sa.Integer), sa.column('caller', sa.String),
                       sa.column('description', sa.Text), sa.column('unit_code', sa.String),
                       sa.column('search_text', sa.Text), sa.column('unit_key', sa.String))
    bind = op.get_bind()
    last = 0
    while True:
        rows = bind.execute(sa.select(tickets.c.id, tickets.c.caller, tickets.c.description, tickets.c.unit_code)
                            .where(tickets.c.id > last).order_by(tickets.c.id).limit(5000)).all()
        if not rows:
            return
        for row in rows:
            bind.execute(tickets.update().where(tickets.c.id == row.id).values(
                search_text=search_text(row.caller, row.description), unit_key=unit_key(row.unit_code)))
        last = rows[-1].id


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP INDEX IF EXISTS ix_tickets_search_trgm")
    else:
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS ticket_search")
    op.drop_index('ix_tickets_phone_tail', table_name='tickets')
    op.drop_index('ix_units_owner_name', table_name='units')
    op.drop_index('ix_units_owner_phone', table_name='units')
    op.drop_index('ix_tickets_unit_key', table_name='tickets')
    with op.batch_alter_table('tickets') as batch:
        batch.drop_column('unit_key')
        batch.drop_column('search_text')
