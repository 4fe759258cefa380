"""flask db backup while the app runs, and the restore: SQLite by its online backup API, PostgreSQL by
pg_dump -Fc / pg_restore. Each database's test runs in that database's pass of the suite."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app import create_app
from app.extensions import db
from app.models import ProcessInstance, Ticket
from app.services.ops.backup import BackupError, restore_postgres
from tests.conftest import app_config
from tests.services.ops_estate import a_deployment_with_tickets, open_ticket, staff_api, what_staff_see
from tests.support.passes import postgresql_pass, sqlite_pass

sqlite_only = sqlite_pass("the SQLite backup")
postgres_only = postgresql_pass("pg_dump / pg_restore")


def backup(app, target: Path):
    return app.test_cli_runner().invoke(args=["db", "backup", "--to", str(target)])


class TicketWriter(threading.Thread):
    """Staff opening tickets through the API, one after another, until told to stop."""

    def __init__(self, app, token: str) -> None:
        super().__init__(daemon=True)
        self.agent = staff_api(app, token)
        self.opened = 0
        self.failures: list[int] = []
        self.started_writing = threading.Event()
        self.stop_after: int | None = None

    def run(self) -> None:
        while self.stop_after is None or self.opened < self.stop_after:
            response = self.agent.post("/tickets", json={"data": {**_intake(), "description": f"漏水 {self.opened}"}})
            if response.status_code != 201:
                self.failures.append(response.status_code)
                return
            self.opened += 1
            if self.opened >= 2:
                self.started_writing.set()


def _intake():
    from tests.web.front_desk import intake

    return intake(unit="5-0801")


@sqlite_only
@pytest.mark.concurrency
def test_a_sqlite_backup_taken_while_staff_write_is_a_consistent_database_that_restores(app, clock, tmp_path):
    agent, opened = a_deployment_with_tickets(app, clock)
    writer = TicketWriter(app, agent.user.token)
    writer.start()
    writer.started_writing.wait()

    made = backup(app, tmp_path / "kefu-backup.db")
    writer.stop_after = writer.opened + 2  # the staff go on writing after the backup
    writer.join()

    assert made.exit_code == 0, made.output
    assert writer.failures == []
    copy = sqlite3.connect(tmp_path / "kefu-backup.db")
    assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    tickets, = copy.execute("SELECT count(*) FROM tickets").fetchone()
    orphans, = copy.execute("SELECT count(*) FROM tickets t LEFT JOIN process_instances i ON i.id = t.instance_id "
                            "WHERE i.id IS NULL").fetchone()
    copy.close()
    assert len(opened) + 2 <= tickets < len(opened) + writer.opened  # a moment while the writer ran
    assert orphans == 0  # every ticket with its instance: whole transactions only

    restored = create_app(app_config(f"sqlite:///{tmp_path / 'kefu-backup.db'}"), clock=clock)
    with restored.app_context():
        assert what_staff_see(staff_api(restored, agent.user.token), opened) == what_staff_see(agent, opened)
        db.session.remove()
        db.engine.dispose()


@sqlite_only
def test_a_backup_never_overwrites_a_file(app, tmp_path):
    (tmp_path / "taken.db").write_bytes(b"precious")
    refused = backup(app, tmp_path / "taken.db")
    assert refused.exit_code != 0 and "exists already" in refused.output
    assert (tmp_path / "taken.db").read_bytes() == b"precious"


@postgres_only
def test_a_pg_dump_restored_into_a_new_database_holds_the_same_tickets_and_instance_states(app, clock, tmp_path,
                                                                                         databases):
    agent, opened = a_deployment_with_tickets(app, clock)
    made = backup(app, tmp_path / "kefu.dump")
    assert made.exit_code == 0, made.output
    at_the_dump = what_staff_see(agent, opened)
    open_ticket(agent)  # after the dump: not in it

    restored_url = databases.empty("restored")
    restore_postgres(tmp_path / "kefu.dump", restored_url)

    restored = create_app(app_config(restored_url), clock=clock)
    with restored.app_context():
        assert what_staff_see(staff_api(restored, agent.user.token), opened) == at_the_dump
        assert db.session.scalar(select(func.count()).select_from(Ticket)) == len(opened)
        states = dict(db.session.execute(select(ProcessInstance.id, ProcessInstance.state)).all())
        db.session.remove()
        db.engine.dispose()
    with app.app_context():
        assert states == {i: s for i, s in db.session.execute(select(ProcessInstance.id, ProcessInstance.state))
                          if i in states}


@postgres_only
def test_a_restore_into_a_database_that_is_not_empty_is_refused(app, tmp_path, databases):
    assert backup(app, tmp_path / "kefu.dump").exit_code == 0
    with pytest.raises(BackupError, match="not empty"):
        restore_postgres(tmp_path / "kefu.dump", app.config["SQLALCHEMY_DATABASE_URI"])
