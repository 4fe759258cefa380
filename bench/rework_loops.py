"""What 50 rework loops do to a repair's step: the state's size and the step's time, loop 50 against loop 1.

A repair ticket is opened and worked through the JSON API (Flask test client, a migrated SQLite database in a
temp dir, the processes of bpmn/ deployed, the demo estate and users) with the demo's answers
(app/demo/answers.py); at the owner's acceptance the owner refuses ``--loops`` times, so the instance goes
round carry_out_repair -> owner_acceptance -> count_rework again and again, then accepts and the ticket closes.

At each loop it records the instance state's size and the app's time for the two completions; at the end it
times the engine alone on the states stored at the first and the last loop, in turn (deserialize + complete
carry_out_repair + serialize, the median of ``--repeat``). Times are the process's CPU time (everything runs in
this process: the Flask test client, SQLite), so other work on a shared machine does not skew the ratios.

It does all this twice in one run: "before", with the engine's pruning of finished loop rounds
(app/engine/history.py) switched off, and "after", as shipped. Goal (issue 17, point 6): the step at loop 50
costs at most twice the step at loop 1.

    .venv/bin/python bench/rework_loops.py [--loops 50] [--repeat 20] [--only before|after]
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
    app_ms: float  # CPU time of the two completions of the loop through the API


@dataclass
class Sample:
    """The stored state and the completion of carry_out_repair at one loop, for timing the engine alone."""

    state: str
    task_id: str
    data: dict[str, Any]


@dataclass
class Run:
    label: str
    loops: list[Loop]
    first: Sample
    last: Sample
    engine_ms: tuple[float, float] = (0.0, 0.0)  # loop 1, last loop

    @property
    def app_ms(self) -> tuple[float, float]:
        """Median of the first 5 loops and of the last 5."""
        return (statistics.median(loop.app_ms for loop in self.loops[:5]),
                statistics.median(loop.app_ms for loop in self.loops[-5:]))


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
    started = time.process_time()
    response = bench.client.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": data},
                                  headers=bench.headers(bench.actor(task)))
    elapsed = (time.process_time() - started) * 1e3
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


def engine_step_ms(bench: Bench, first: Sample, last: Sample, repeat: int) -> tuple[float, float]:
    """The engine alone on the stored state at loop 1 and at the last loop: deserialize, complete carry_out_repair,
    serialize. The two are timed in turn, so a busy machine slows both alike (medians, ms)."""
    samples: tuple[list[float], list[float]] = ([], [])
    with bench.app.app_context():
        engine = bench.app.extensions["kefu"].engine
        for round_ in range(repeat + 2):
            for sample, times in zip((first, last), samples, strict=True):
                started = time.process_time()
                engine.complete(sample.state, sample.task_id, sample.data)
                if round_ >= 2:
                    times.append((time.process_time() - started) * 1e3)
    return statistics.median(samples[0]), statistics.median(samples[1])


def run(bench: Bench, label: str, loops: int, repeat: int) -> Run:
    case, tasks = open_repair(bench)
    results: list[Loop] = []
    samples: dict[int, Sample] = {}
    refused = 0
    current = Loop(1, 0, 0.0)
    while tasks:
        task = tasks[0]
        data = answer_for(bench, case, task, refuse=refused < loops)
        if task["name"] == "carry_out_repair" and refused < loops:
            state = instance_state(bench, case.instance_id)[0]
            current = Loop(refused + 1, len(state.encode()), 0.0)
            if refused in (0, loops - 1):
                samples[refused] = Sample(state, task["id"], data)
        tasks, elapsed = complete(bench, task, data)
        if task["name"] in LOOP_TASKS and refused < loops:
            current.app_ms += elapsed
        if task["name"] == "owner_acceptance" and refused < loops:
            refused += 1
            results.append(current)
    if len(results) < loops:
        raise SystemExit(f"only {len(results)} loops ran: the repair did not reach the owner's acceptance")
    done = Run(label, results, samples[0], samples[loops - 1])
    done.engine_ms = engine_step_ms(bench, done.first, done.last, repeat)
    return done


def measure(label: str, loops: int, repeat: int, *, pruning: bool) -> Run:
    """One repair looped ``loops`` times on a fresh database; ``pruning=False`` is the engine as it was before
    finished loop rounds were dropped from the state (app/engine/history.py)."""
    import app.engine.runtime as runtime

    kept = runtime.prune
    if not pruning:
        runtime.prune = lambda workflow: 0
    try:
        with tempfile.TemporaryDirectory(prefix="kefu_rework_") as folder:
            bench = build(folder)
            result = run(bench, label, loops, repeat)
            with bench.app.app_context():
                from app.extensions import db

                db.engine.dispose()
    finally:
        runtime.prune = kept
    return result


def report(runs: list[Run]) -> None:
    for done in runs:
        print(f"\n{done.label}")
        print(f"{'loop':>5}{'state KB':>10}{'app CPU ms (2 steps)':>22}")
        shown = {1, 2, 5, 10, 20, 30, 40, len(done.loops)}
        for loop in done.loops:
            if loop.number in shown:
                print(f"{loop.number:>5}{loop.state_bytes / 1024:>10.1f}{loop.app_ms:>22.1f}")
    last = len(runs[0].loops)
    print(f"\n{'':<22}{'state KB':>20}{'engine step CPU ms':>24}{'app CPU ms (2 steps)':>26}")
    print(f"{'':<22}{f'loop 1 / {last}':>20}{f'loop 1 / {last}':>24}{'loops 1-5 / last 5':>26}")
    for done in runs:
        first_kb, last_kb = done.loops[0].state_bytes / 1024, done.loops[-1].state_bytes / 1024
        (engine_1, engine_n), (app_1, app_n) = done.engine_ms, done.app_ms
        print(f"{done.label:<22}{f'{first_kb:.1f} / {last_kb:.1f} ({last_kb / first_kb:.2f}x)':>20}"
              f"{f'{engine_1:.1f} / {engine_n:.1f} ({engine_n / engine_1:.2f}x)':>24}"
              f"{f'{app_1:.1f} / {app_n:.1f} ({app_n / app_1:.2f}x)':>26}")
    print("goal (issue 17, point 6): a step at the last loop costs at most 2x the step at loop 1")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--loops", type=int, default=50, help="how many times the owner refuses the repair")
    parser.add_argument("--repeat", type=int, default=20, help="engine timings per measured loop")
    parser.add_argument("--only", choices=("before", "after"), help="run one of the two (default: both)")
    args = parser.parse_args()
    runs = []
    if args.only in (None, "before"):
        runs.append(measure("before (no pruning)", args.loops, args.repeat, pruning=False))
    if args.only in (None, "after"):
        runs.append(measure("after (pruned)", args.loops, args.repeat, pruning=True))
    report(runs)


if __name__ == "__main__":
    main()
