"""Readiness (/api/v1/ready) apart from liveness (/api/v1/health): database up and migrations at head."""

from __future__ import annotations

from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from app.extensions import db


def test_a_database_at_the_migrations_head_is_ready(client):
    ready = client.get("/api/v1/ready")

    assert ready.status_code == 200
    assert ready.json["ready"] is True and ready.json["reason"] is None
    assert ready.json["database_revisions"] == ready.json["head_revisions"] != []


def test_a_database_one_revision_behind_is_not_ready_until_it_is_upgraded(app, client):
    downgrade(revision="-1")
    db.engine.dispose()

    behind = client.get("/api/v1/ready")
    assert behind.status_code == 503
    assert behind.json["ready"] is False
    assert behind.json["reason"] == "database revision is not the migrations' head"
    assert behind.json["database_revisions"] != behind.json["head_revisions"]

    upgrade()
    assert client.get("/api/v1/ready").status_code == 200


def test_an_empty_database_is_not_ready_because_it_is_not_migrated(app, client):
    with db.engine.begin() as connection:
        connection.execute(text("DELETE FROM alembic_version"))

    not_migrated = client.get("/api/v1/ready")
    assert not_migrated.status_code == 503
    assert not_migrated.json["reason"] == "database not migrated"
    assert not_migrated.json["database_revisions"] == []


def test_readiness_needs_no_sign_in_and_health_still_answers_liveness(client):
    assert client.get("/api/v1/ready").status_code == 200
    health = client.get("/api/v1/health")
    assert health.status_code == 200 and health.json["status"] == "ok"
