"""The JSON API fuzzed from its own OpenAPI description (schemathesis).

Every operation of the description gets about 20 generated requests, sent as an administrator to an app
that has the fixture definitions deployed and a few instances running; path parameters are sometimes
swapped for ids that exist, so the task and instance routes answer 200 too, not only 404. No response
may be a 500, and every response must be one the description allows: a documented status code, the
documented content type and headers, and a body matching the response schema.

The schema is the file the app serves (``test_served_description_is_the_fuzzed_one`` checks that), loaded
at import time: schemathesis parametrizes at collection, one test per operation, each with a fresh
database. (``schemathesis.pytest.from_fixture`` would load it from the running app, but schemathesis
4.32 reads ``Node._nodeid``, which pytest 9.2 no longer has.)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import select

from app.clock import ManualClock
from app.extensions import db
from app.models import ApiToken, User
from app.services.people.auth import hash_token
from app.web.api.system import OPENAPI_PATH

# Processes of tests/fixtures an administrator can start without start-form data.
SEED_PROCESSES = ("caller", "five_tasks", "gateway_demo", "lanes_demo", "timer_demo", "dmn_route")
# The seeded administrator's token (fixed, so every case, including the boundary-value ones schemathesis
# builds while collecting, can carry it).
ADMIN_TOKEN = "fuzz-admin-token"

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

schema = schemathesis.openapi.from_path(OPENAPI_PATH)

# Ids of what the ``seeded`` fixture created for the running test (task ids are random UUIDs).
SEEDED: dict[str, list[Any]] = {}


@schema.hook
def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any] | None) -> Any:
    """Besides the generated values, ids of things that exist."""
    if not path_parameters:
        return st.just(path_parameters)
    parameters = path_parameters

    def existing(name: str) -> st.SearchStrategy[dict[str, Any]]:
        return st.sampled_from(SEEDED[name]).map(lambda value: {**parameters, name: value})

    return st.one_of(st.just(parameters), *(existing(name) for name in parameters if SEEDED.get(name)))


@pytest.fixture
def seeded(app: Flask, clock: ManualClock, deploy: Callable[..., list[Any]],
           api_as: Callable[..., Any]) -> Iterator[Flask]:
    deploy()
    admin = api_as("fuzz_admin", "admin")
    admin_user = db.session.scalars(select(User).where(User.username == "fuzz_admin")).one()
    db.session.add(ApiToken(user_id=admin_user.id, token_hash=hash_token(ADMIN_TOKEN), created_at=clock.now()))
    db.session.commit()
    task_ids: list[str] = []
    instance_ids: list[int] = []
    for process_id in SEED_PROCESSES:
        started = admin.start(process_id)
        assert started.status_code == 201, started.json
        instance_ids.append(started.json["id"])
        task_ids.extend(task["id"] for task in started.json["tasks"])
    SEEDED.update(task_id=task_ids, instance_id=instance_ids,
                  process_id=[*SEED_PROCESSES, "callee"])
    yield app
    SEEDED.clear()


def test_served_description_is_the_fuzzed_one(client: FlaskClient) -> None:
    served = client.get("/api/v1/openapi.json")
    assert served.status_code == 200
    assert served.json == json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=20, deadline=None, derandomize=True, database=None,
          phases=[Phase.explicit, Phase.generate],
          # one app and database serve all examples of an operation; generating bodies can be slow
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much, HealthCheck.data_too_large])
def test_api_matches_its_openapi_description(case: Any, seeded: Flask) -> None:
    # Every case as the administrator, also those where schemathesis dropped or mangled the credentials:
    # what is fuzzed here is the routes, not the authentication (401s are covered elsewhere).
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {ADMIN_TOKEN}"}
    try:
        case.call_and_validate(app=seeded, checks=CHECKS)
    finally:
        # The fixture's app context spans the whole test, so requests share one session; a fresh one per
        # case, as each real request gets, keeps a failed (aborted) transaction from failing later cases.
        db.session.remove()
