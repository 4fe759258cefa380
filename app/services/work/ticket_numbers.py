"""Ticket numbers: KF-YYYYMMDD-NNNN, sequential per business day, unique under concurrency.

The day's row of ``ticket_counters`` is upserted (``last_number + 1``), which locks the row until its transaction
ends. Inside the intake's transaction that lock was held through the engine's start and the commit, so every intake
of the day waited for the one before it (on PostgreSQL at 20 clients: 85 ms in-app p50 for an intake against 16 ms
for a completion, nearly all of it waiting on this row; bench/http_load.py). So on PostgreSQL the number is taken by
one statement committed at once on a connection of its own: the row is locked for that statement only. The price: an
intake that fails after it leaves its number unused, a gap in the day's numbers (README, "Tickets"). The number cannot
be taken at the end of the intake instead: it is in the engine's start data (``ticket_number``), which the start's
scripts, texts and stored state carry.

SQLite keeps it in the intake's transaction (one writer at a time: a second connection would wait for the intake's
own write lock), so there a failed intake gives its number back.
"""

from __future__ import annotations

import threading
from datetime import datetime
from weakref import WeakKeyDictionary
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, bindparam, create_engine, event, text
from sqlalchemy.dialects import sqlite

from app.extensions import db
from app.models import TicketCounter


def next_number(now: datetime, timezone: str) -> str:
    """The next number of ``now``'s business day in ``timezone``."""
    day = now.astimezone(ZoneInfo(timezone)).strftime("%Y%m%d")
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        with numbering_engine(connection.engine).connect() as own:
            number = own.execute(_PG_NUMBER, {"day": day}).scalar_one()
    else:
        number = connection.execute(_SQLITE_NUMBER, {"day": day}).scalar_one()
    return f"KF-{day}-{number:04d}"


_COUNTERS = TicketCounter.__table__
# SQLite: the day's next number, in the intake's transaction (built once).
_SQLITE_NUMBER = sqlite.insert(_COUNTERS).values(day=bindparam("day"), last_number=1).on_conflict_do_update(
    index_elements=[_COUNTERS.c.day], set_={"last_number": _COUNTERS.c.last_number + 1},
).returning(_COUNTERS.c.last_number)
# PostgreSQL: the same upsert, run alone in autocommit (its own transaction, one round trip). Its commit does not wait
# for the disk: ``set_config(..., true)`` turns ``synchronous_commit`` off for that transaction only. The ticket that
# uses the number commits later with the usual flush, which writes the WAL up to its commit, this change included, so
# no stored ticket's number can be given again after a crash (a lost change was nobody's number yet).
_PG_NUMBER = text("""
INSERT INTO ticket_counters (day, last_number)
SELECT :day, 1 FROM (SELECT set_config('synchronous_commit', 'off', true)) AS no_disk_wait
    ON CONFLICT (day) DO UPDATE SET last_number = ticket_counters.last_number + 1
RETURNING last_number
""")

# PostgreSQL: the numbers' own small pool beside each engine's. A request takes its number while its session holds a
# connection of the engine's pool; with one pool, as many requests at once as the pool holds (15: 5 + 10 overflow)
# would each wait for a second connection until the pool's timeout. This pool never makes anyone wait (no overflow
# limit; a connection is held for one statement) and is emptied whenever its engine's is (``engine.dispose()``: the
# tests copying a template, ``flask db copy``).
NUMBERING_POOL_SIZE = 5
_NUMBERING: WeakKeyDictionary[Engine, Engine] = WeakKeyDictionary()
_NUMBERING_LOCK = threading.Lock()


def numbering_engine(engine: Engine) -> Engine:
    """The numbers' pool beside ``engine``'s (PostgreSQL), made at its first use."""
    with _NUMBERING_LOCK:
        own = _NUMBERING.get(engine)
        if own is None:
            # As many kept connections as a web worker has threads (gunicorn.conf.py: 4): a pool smaller than the
            # intakes running at once closes the extra connection after each number and opens a new one for the next.
            own = created = create_engine(engine.url, pool_size=NUMBERING_POOL_SIZE, max_overflow=-1,
                                          isolation_level="AUTOCOMMIT")
            event.listen(engine, "engine_disposed", lambda _engine: created.dispose())
            _NUMBERING[engine] = created
        return own
