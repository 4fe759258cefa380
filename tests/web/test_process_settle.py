"""A server process is made ready before its first request (``app.settle_process``, run by gunicorn's
``post_worker_init`` and ``flask worker``): the first ticket a worker takes reads no process definition, and
what the process holds at that point is out of the garbage collector's full collections."""

from __future__ import annotations

import gc
import runpy
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from flask import Flask

from app import settle_process
from tests.support import count_queries
from tests.support.paths import ROOT
from tests.web.owner_pages import OWNER_PHONE, OWNER_UNIT

CONSULTATION = {"project": "lanting", "unit": OWNER_UNIT, "caller_name": "王先生", "phone": OWNER_PHONE,
                "channel": "hotline", "category": "consultation", "description": "物业费怎么交？", "urgency": "normal",
                "emergency": False}


@pytest.fixture
def thawed() -> Iterator[None]:
    """The test process's heap is given back to the collector afterwards."""
    yield
    gc.unfreeze()


def bundle_reads(statements: list[str]) -> list[str]:
    """A definition read by its spec key: its serialized spec for the engine, its forms and roles (not the
    lookup of a process's newest version, which every start makes)."""
    return [statement for statement in statements if "FROM bundles WHERE bundles.spec_key" in statement]


def test_a_new_process_reads_its_process_definitions_on_its_first_ticket(owner_estate, api_as):
    # The test's app is new on a database deployed by another: without settling, the first ticket pays.
    agent = api_as("wang", "cs_agent")
    with count_queries() as first:
        assert agent.post("/tickets", json={"data": CONSULTATION}).status_code == 201
    assert bundle_reads(first.statements)


def test_a_settled_process_takes_its_first_ticket_without_reading_a_definition(owner_estate, app: Flask, api_as,
                                                                               thawed):
    agent = api_as("wang", "cs_agent")
    frozen_before = gc.get_freeze_count()
    settle_process(app)
    assert gc.get_freeze_count() > frozen_before
    with count_queries() as first:
        opened = agent.post("/tickets", json={"data": CONSULTATION})
    assert opened.status_code == 201, opened.json
    assert opened.json["instance"]["tasks"][0]["name"] == "answer_consultation"
    assert bundle_reads(first.statements) == []
    with count_queries() as second:
        assert agent.post("/tickets", json={"data": CONSULTATION}).status_code == 201
    assert len(first) == len(second), (first.statements, second.statements)


def test_gunicorns_worker_hook_settles_the_app_it_serves(owner_estate, app: Flask, api_as, thawed):
    hooks = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    agent = api_as("wang", "cs_agent")
    hooks["post_worker_init"](SimpleNamespace(wsgi=app))
    with count_queries() as first:
        assert agent.post("/tickets", json={"data": CONSULTATION}).status_code == 201
    assert bundle_reads(first.statements) == []


def test_a_process_started_before_the_database_is_set_up_still_starts(tmp_path, thawed):
    from app import create_app

    fresh = create_app({"KEFU_ENV": "testing", "TESTING": True,
                        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'empty.db'}"})
    settle_process(fresh, pages=False)  # no table yet: nothing loaded, no error
    assert gc.get_freeze_count() > 0
