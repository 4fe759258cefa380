"""How a request's transaction ends, as the database sees it.

PostgreSQL: psycopg prepares a statement on the server once it has run 5 times on a connection, and forgets every
prepared statement at a ROLLBACK (DEALLOCATE ALL). A request whose transaction only read ends it with COMMIT, so the
step's statement stays prepared across the GETs between completions; a transaction that wrote and was not committed,
or that failed, is still rolled back. On both databases: a request that failed after writing leaves nothing written,
and a request that never needed the database takes no connection from the pool.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError

from app import create_app
from app.clock import ManualClock
from app.extensions import csrf, db
from app.models.tickets import Project
from app.services.errors import ConflictError
from app.services.steps.write import CONFLICT_MESSAGE
from tests.conftest import app_config
from tests.support.passes import postgresql_pass

on_postgresql = postgresql_pass("psycopg's prepared statements")

STEP_STATEMENT = "WITH moved AS ("  # app/services/steps/write.py's one statement of a step on PostgreSQL


@pytest.fixture
def app(database_url: str, clock: ManualClock) -> Iterator[Flask]:
    """The app with a pool of one connection: every request and every check here runs on the same server session.

    Test routes stand for a view that wrote and then failed (answered with an error, or raised), and for views whose
    statement failed at the database (after a write, after a read) or that left an ORM change unflushed, and that
    answered anyway."""
    application = create_app(app_config(database_url, SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 1, "max_overflow": 0}),
                             clock=clock)

    def write(key: str) -> None:
        db.session.execute(text("INSERT INTO projects (key, name) VALUES (:key, :key)"), {"key": key})

    def wrote_then_refused() -> Any:
        write("refused")
        raise ConflictError(CONFLICT_MESSAGE)

    def wrote_then_crashed() -> Any:
        write("crashed")
        raise RuntimeError("a bug after the write")

    def answered_after_a_failed_statement() -> Any:
        try:
            db.session.execute(text("SELECT * FROM no_such_table"))
        except DBAPIError:
            return "answered anyway", 200
        raise AssertionError("no_such_table should not exist")

    def wrote_then_failed_in_the_database() -> Any:
        write("failed")
        return answered_after_a_failed_statement()

    def read_then_failed_in_the_database() -> Any:
        db.session.execute(text("SELECT count(*) FROM projects"))
        return answered_after_a_failed_statement()

    def read_and_left_a_change_unflushed() -> Any:
        db.session.execute(text("SELECT count(*) FROM projects"))
        db.session.add(Project(key="unflushed", name="unflushed"))  # a commit would flush it
        return "answered", 200

    for view in (wrote_then_refused, wrote_then_crashed, wrote_then_failed_in_the_database,
                 read_then_failed_in_the_database, read_and_left_a_change_unflushed):
        application.add_url_rule(f"/test/{view.__name__}", view_func=csrf.exempt(view), methods=["POST"])
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


def prepared_step_statements() -> int:
    return int(db.session.scalar(text("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE :start"),
                                 {"start": f"%{STEP_STATEMENT}%"}))


@on_postgresql
def test_the_steps_statement_stays_prepared_across_the_reads_between_completions(app, api_as, deploy):
    deploy()
    agent = api_as("wang", "cs_agent")
    completions = 0
    for _ in range(3):
        task_id = agent.start("five_tasks").json["tasks"][0]["id"]
        for step in range(5):
            assert agent.get(f"/tasks/{task_id}").status_code == 200  # the task page: reads only
            assert agent.get("/tasks").status_code == 200  # the inbox: reads only
            done = agent.complete(task_id, {"note": f"x{step}"})
            assert done.status_code == 200, done.json
            completions += 1
            if step < 4:
                task_id = done.json["tasks"][0]["id"]
    assert completions > 5 + 1  # psycopg prepares a statement at its 6th run on a connection
    assert agent.get("/tasks").status_code == 200
    db.session.remove()
    assert prepared_step_statements() == 1


@on_postgresql
def test_the_readiness_check_keeps_what_the_connection_prepared(app, api_as, deploy):
    deploy()
    agent = api_as("wang", "cs_agent")
    for _ in range(2):
        task_id = agent.start("five_tasks").json["tasks"][0]["id"]
        for step in range(5):
            ready = app.test_client().get("/api/v1/ready")  # the proxy's check, every 2 s in production
            assert ready.status_code == 200 and ready.json["ready"], ready.json
            done = agent.complete(task_id, {"note": f"x{step}"})
            assert done.status_code == 200, done.json
            if step < 4:
                task_id = done.json["tasks"][0]["id"]
    assert app.test_client().get("/api/v1/ready").status_code == 200
    db.session.remove()
    assert prepared_step_statements() == 1


@on_postgresql
def test_a_read_only_request_ends_with_commit_and_one_that_wrote_with_rollback(app, api_as):
    agent = api_as("wang", "cs_agent")
    ended: list[str] = []
    event.listen(db.engine, "commit", lambda _conn: ended.append("commit"))
    event.listen(db.engine, "rollback", lambda _conn: ended.append("rollback"))
    assert agent.get("/tasks").status_code == 200
    assert ended == ["commit"]
    ended.clear()
    assert app.test_client().post("/test/wrote_then_refused").status_code == 409
    assert ended == ["rollback"]
    ended.clear()
    assert app.test_client().post("/test/read_then_failed_in_the_database").status_code == 200
    assert ended == ["rollback"]  # a failed transaction is rolled back, even one that only read
    ended.clear()
    assert agent.get("/tasks").status_code == 200  # and the pool's one connection goes on working
    assert ended == ["commit"]


def project_keys() -> set[str]:
    keys = set(db.session.scalars(text("SELECT key FROM projects")))
    db.session.remove()
    return keys


def test_a_request_that_wrote_and_then_answered_with_an_error_leaves_nothing_written(app):
    assert app.test_client().post("/test/wrote_then_refused").status_code == 409
    assert "refused" not in project_keys()


def test_a_request_that_wrote_and_then_crashed_leaves_nothing_written(app):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: the error page, not the exception
    assert app.test_client().post("/test/wrote_then_crashed").status_code == 500
    assert "crashed" not in project_keys()


def test_a_request_whose_statement_failed_in_the_database_leaves_nothing_written(app):
    assert app.test_client().post("/test/wrote_then_failed_in_the_database").status_code == 200
    assert "failed" not in project_keys()
    assert app.test_client().post("/test/wrote_then_refused").status_code == 409  # the pool's one connection works


def test_a_request_that_read_and_left_a_change_unflushed_leaves_nothing_written(app):
    assert app.test_client().post("/test/read_and_left_a_change_unflushed").status_code == 200
    assert "unflushed" not in project_keys()


def test_a_request_that_needs_no_database_takes_no_connection_from_the_pool(app):
    client = app.test_client()
    assert client.get("/login").status_code == 200  # warm: the first request may load what later ones keep
    checkouts: list[object] = []
    event.listen(db.engine.pool, "checkout", lambda *args: checkouts.append(args))
    for path in ("/static/kefu.css", "/login", "/api/v1/no-such-thing"):
        with client.get(path) as response:
            assert response.status_code in (200, 401, 404), path
    assert checkouts == []
