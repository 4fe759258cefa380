"""What 50 rework loops do to a repair's step: the state's size and the step's time, loop 50 against loop 1.

A repair ticket is opened and worked through the JSON API (Flask test client, a migrated SQLite database in a
temp dir, the processes of bpmn/ deployed, the demo estate and users) with the demo's answers
(app/demo/answers.py); at the owner's acceptance the owner refuses ``--loops`` times, so the instance goes
round carry_out_repair -> owner_acceptance -> count_rework again and again, then accepts and the ticket closes.

At each loop it records the instance state's size and the app's time for the two completions; at the first and
the last loop it also times the engine alone on that state (deserialize + complete carry_out_repair +
serialize, the median of ``--repeat``). Goal (issue 17, point 6): the step at loop 50 costs at most twice the
step at loop 1.

    .venv/bin/python bench/rework_loops.py [--loops 50] [--repeat 20]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
for folder in (ROOT, ROOT / "bench"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

from flask import Flask  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402
from http_load import day_time_zone  # noqa: E402
from sqlalchemy import select  # noqa: E402

from app import create_app  # noqa: E402
from app.clock import SystemClock  # noqa: E402
from app.demo.answers import Desk, answer  # noqa: E402
from app.demo.calls import UNIT_REPAIRS, Call, Case  # noqa: E402
from app.demo.seed import DEMO_USERS, create_demo_estate, create_demo_users  # noqa: E402

PASSWORD = "bench-rework-pass-1"  # noqa: S105 - a throw-away bench user
DEPARTMENTS = ("engineering", "design", "sales", "property", "service")
LOOP_TASKS = ("carry_out_repair", "owner_acceptance")


@dataclass
class Bench:
    app: Flask
    client: FlaskClient
    tokens: dict[str, str]  # username -> API token: the demo users and bench_everyone
    ids: dict[str, int]
    desk: Desk

    def actor(self, task: dict[str, Any]) -> str:
        """Who completes ``task``: the person it is assigned to, else the one who may do every task."""
        return task.get("assignee") or "bench_everyone"

    def headers(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[username]}"}


@dataclass
class Loop:
    number: int
    state_bytes: int
    app_ms: float  # the two completions of the loop through the API
    engine_ms: float | None = None  # the engine alone on carry_out_repair at this loop (first and last)


def build(folder: str) -> Bench:
    """A migrated database with bpmn/ deployed, the demo estate, the agent and one person who may do every task."""
    from flask_migrate import upgrade

    from app.extensions import db
    from app.models import User
    from app.services.definitions.deploy import deploy_from_disk
    from app.services.people.auth import issue_token
    from app.services.people.users import create_user

    zone = day_time_zone()  # a repair taken at night waits for the morning shift
    app = create_app({"KEFU_ENV": "testing", "TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/r.db",
                      "TIMEZONE": zone, "UPLOAD_DIR": Path(folder) / "uploads"})
    clock = SystemClock()
    with app.app_context():
        upgrade()
        rt = app.extensions["kefu"]
        deploy_from_disk(rt, app.config["BPMN_DIR"], app.config["FORMS_DIR"])
        create_demo_estate()
        create_demo_users(clock)
        roles = sorted({role for _, _, roles, _ in DEMO_USERS for role in roles} - {"admin", "designer"})
        create_user("bench_everyone", password=PASSWORD, roles=roles, departments=DEPARTMENTS, clock=clock)
        users = list(db.session.scalars(select(User)))
        tokens = {user.username: issue_token(user, clock) for user in users}
        ids = {user.username: user.id for user in users}
    desk = Desk(rt=rt, clock=clock, rng=random.Random(50), zone=ZoneInfo(zone))  # type: ignore[arg-type]
    return Bench(app, app.test_client(), tokens, ids, desk)


def open_repair(bench: Bench) -> tuple[Case, list[dict[str, Any]]]:
    from app.extensions import db
    from app.models import Unit

    with bench.app.app_context():
        home = db.session.scalars(select(Unit).where(Unit.owner_phone.is_not(None)).order_by(Unit.id)).first()
        assert home is not None
        description, part, _ = UNIT_REPAIRS[0]
        intake = {"project": home.project_key, "unit": home.code, "caller_name": home.owner_name,
                  "phone": home.owner_phone, "category": "repair", "description": description, "part": part,
                  "emergency": False, "channel": "hotline", "urgency": "normal"}
    response = bench.client.post("/api/v1/tickets", json={"data": intake}, headers=bench.headers("agent"))
    if response.status_code != 201:
        raise RuntimeError(f"intake: HTTP {response.status_code} {response.get_data(as_text=True)[:300]}")
    body = response.get_json()
    call = Call(SystemClock().now(), intake, (description,), set())
    return Case(call, body["ticket"]["instance_id"], body["instance"]["id"]), body["instance"]["tasks"]


def answer_for(bench: Bench, case: Case, task: dict[str, Any], refuse: bool) -> dict[str, Any]:
    from app.services.people.auth import principal_for_user

    case.call.fates = {"rework"} if refuse else set()
    case.done["owner_acceptance"] = 0  # the demo's owner refuses "the first time": every time, while we loop
    snapshot = SimpleNamespace(element_id=task["name"], department=task.get("department"), id=task["id"])
    with bench.app.app_context():
        user = principal_for_user(bench.ids[bench.actor(task)])
        data = answer(bench.desk, case, snapshot, user)  # type: ignore[arg-type]
    case.done[task["name"]] += 1
    return data


def complete(bench: Bench, task: dict[str, Any], data: dict[str, Any]) -> tuple[list[dict[str, Any]], float]:
    started = time.perf_counter()
    response = bench.client.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": data},
                                  headers=bench.headers(bench.actor(task)))
    elapsed = (time.perf_counter() - started) * 1e3
    if response.status_code != 200:
        raise RuntimeError(f"{task['name']}: HTTP {response.status_code} {response.get_data(as_text=True)[:300]}")
    return response.get_json()["tasks"], elapsed


def instance_state(bench: Bench, instance_id: int) -> tuple[str, str]:
    from app.extensions import db
    from app.models import ProcessInstance

    with bench.app.app_context():
        row = db.session.get(ProcessInstance, instance_id)
        assert row is not None
        result = row.state, row.spec_key
        db.session.remove()
    return result


def engine_step_ms(bench: Bench, instance_id: int, task: dict[str, Any], data: dict[str, Any], repeat: int) -> float:
    """The engine alone on the stored state: deserialize, complete the task, serialize (median ms)."""
    state, _ = instance_state(bench, instance_id)
    samples = []
    with bench.app.app_context():
        engine = bench.app.extensions["kefu"].engine
        for _ in range(repeat + 2):
            started = time.perf_counter()
            engine.complete(state, task["id"], data)
            samples.append((time.perf_counter() - started) * 1e3)
    return statistics.median(samples[2:])


def run(bench: Bench, loops: int, repeat: int) -> list[Loop]:
    case, tasks = open_repair(bench)
    results: list[Loop] = []
    refused = 0
    current = Loop(1, 0, 0.0)
    while tasks:
        task = tasks[0]
        data = answer_for(bench, case, task, refuse=refused < loops)
        if task["name"] == "carry_out_repair":
            current = Loop(refused + 1, len(instance_state(bench, case.instance_id)[0].encode()), 0.0)
            if refused in (0, loops - 1):
                current.engine_ms = engine_step_ms(bench, case.instance_id, task, data, repeat)
        tasks, elapsed = complete(bench, task, data)
        if task["name"] in LOOP_TASKS and refused < loops:
            current.app_ms += elapsed
        if task["name"] == "owner_acceptance" and refused < loops:
            refused += 1
            results.append(current)
    return results


def report(results: list[Loop]) -> None:
    print(f"{'loop':>5}{'state KB':>10}{'app ms (2 steps)':>18}{'engine ms':>11}")
    shown = {1, 2, 5, 10, 20, 30, 40, len(results)}
    for loop in results:
        if loop.number in shown:
            engine = f"{loop.engine_ms:.1f}" if loop.engine_ms is not None else ""
            print(f"{loop.number:>5}{loop.state_bytes / 1024:>10.1f}{loop.app_ms:>18.1f}{engine:>11}")
    first, last = results[0], results[-1]
    head = statistics.median(loop.app_ms for loop in results[:5])
    tail = statistics.median(loop.app_ms for loop in results[-5:])
    print(f"loop {last.number} / loop 1: state {last.state_bytes / first.state_bytes:.2f}x, "
          f"engine step {(last.engine_ms or 0) / (first.engine_ms or 1):.2f}x, "
          f"app step {tail / head:.2f}x (median of the last 5 loops / the first 5) (goal <= 2x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--loops", type=int, default=50, help="how many times the owner refuses the repair")
    parser.add_argument("--repeat", type=int, default=20, help="engine timings per measured loop")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kefu_rework_") as folder:
        bench = build(folder)
        results = run(bench, args.loops, args.repeat)
        with bench.app.app_context():
            from app.extensions import db

            db.engine.dispose()
    if len(results) < args.loops:
        raise SystemExit(f"only {len(results)} loops ran: the repair did not reach the owner's acceptance")
    report(results)


if __name__ == "__main__":
    main()
