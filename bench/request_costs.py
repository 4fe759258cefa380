"""What each request of the HTTP load mix costs the server: CPU and SQL statements, in-process, kind by kind.

bench/http_load.py says what staff feel over HTTP with K of them at once; this bench says where the server's time
goes, one request at a time, with nothing else running in the process. It seeds a database exactly as
bench/http_load.py does (``flask setup``, the demo estate and users, a bench agent with an API token and a console
session), then takes ``--calls`` calls through the Flask test client as one agent: intake (POST /api/v1/tickets),
the inbox (API and console), the ticket search, the admin list, every third call the dashboard, and for each of the
agent's tasks its page and its completion with the demo's answers. For each kind it prints the median CPU time of
the process (``time.process_time``: the app and, on SQLite, the database; on PostgreSQL the backend's CPU is not
in it), the median wall time and the SQL statements of the last request. The first ``WARMUP`` requests of a kind
are left out (caches filling).

``--profile KIND`` adds a cProfile of that kind's requests, on the CPU clock, sorted by cumulative time;
``--show-sql KIND`` prints the statements of the last such request, each with its wall time.

    .venv/bin/python bench/request_costs.py [--db sqlite|postgresql|both] [--calls 40] [--profile KIND]
        [--show-sql KIND]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from http_load import (  # noqa: E402  (bench/ is the script's own folder)
    KINDS,
    PASSWORD,
    DemoDesk,
    Options,
    database,
    in_process_app,
    make_call,
    run_setup,
    seed,
    server_env,
)
from sqlalchemy import event  # noqa: E402
from werkzeug.test import TestResponse  # noqa: E402

from app.demo.calls import Case  # noqa: E402

WARMUP = 3
SQL_SHOWN = 300  # characters of each statement --show-sql prints


@dataclass
class Costs:
    """Per kind: (CPU ms, wall ms) of each request, and the statements of the last one."""

    samples: dict[str, list[tuple[float, float]]] = field(default_factory=lambda: defaultdict(list))
    statements: dict[str, int] = field(default_factory=dict)
    shown: str = ""
    last_sql: list[tuple[str, float]] = field(default_factory=list)  # (statement, ms until its answer)
    profiled: str = ""
    profile: cProfile.Profile | None = None


class Measured:
    """The test client, timed per request kind (statements counted on the app's engine)."""

    def __init__(self, app: Any, costs: Costs) -> None:
        from app.extensions import db

        self.client = app.test_client()
        self.costs = costs
        self.executed = 0
        self.sql: list[tuple[str, float]] = []
        self.sent = 0.0
        with app.app_context():
            event.listen(db.engine, "before_cursor_execute", self._count)
            event.listen(db.engine, "after_cursor_execute", self._answered)

    def _count(self, *_args: Any) -> None:
        self.executed += 1
        self.sent = time.perf_counter()

    def _answered(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.sql.append((statement, (time.perf_counter() - self.sent) * 1e3))

    def __call__(self, kind: str, send: Callable[[], TestResponse]) -> TestResponse:
        profile = self.costs.profile if kind == self.costs.profiled else None
        executed = self.executed
        self.sql = []
        if profile:
            profile.enable()
        cpu, wall = time.process_time(), time.perf_counter()
        response = send()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        if profile:
            profile.disable()
        if response.status_code >= 400:
            raise RuntimeError(f"{kind}: HTTP {response.status_code} {response.get_data()[:300]!r}")
        self.costs.samples[kind].append((cpu * 1e3, wall * 1e3))
        self.costs.statements[kind] = self.executed - executed
        if kind == self.costs.shown:
            self.costs.last_sql = self.sql
        return response


def console_login(measured: Measured, username: str) -> None:
    form = measured.client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.get_data(as_text=True))
    if token is None:
        raise RuntimeError("no csrf_token on /login")
    signed_in = measured.client.post("/login", data={"username": username, "password": PASSWORD,
                                                     "csrf_token": token.group(1)})
    if signed_in.status_code != 302:
        raise RuntimeError(f"login: HTTP {signed_in.status_code}")


def take_calls(measured: Measured, token: str, homes: list[dict[str, Any]], calls: int) -> None:
    """The agent's day as bench/http_load.py's latency phase plays it, one request after the other."""
    client = measured.client
    api = {"Authorization": f"Bearer {token}"}
    rng, desk = random.Random(1), DemoDesk(1)
    for number in range(calls):
        call = make_call(rng, homes)
        opened = measured("intake", lambda call=call: client.post("/api/v1/tickets", json={"data": call.intake},
                                                                   headers=api)).get_json()
        case = Case(call, opened["ticket"]["instance_id"], opened["instance"]["id"])
        measured("inbox", lambda: client.get("/api/v1/tasks?scope=group&limit=20", headers=api))
        measured("inbox_console", lambda: client.get("/?scope=group"))
        tasks = opened["instance"]["tasks"]
        while tasks and tasks[0]["role"] == "cs_agent":
            task = tasks[0]
            measured("task_page", lambda task=task: client.get(f"/api/v1/tasks/{task['id']}", headers=api))
            data = desk.answer(case, task["name"])
            tasks = measured("complete", lambda task=task, data=data: client.post(
                f"/api/v1/tasks/{task['id']}/complete", json={"data": data}, headers=api)).get_json()["tasks"]
        measured("search", lambda call=call: client.get("/api/v1/tickets", query_string={
            "q": call.intake["phone"][-4:]}, headers=api))
        if number % 3 == 0:
            measured("admin_list", lambda: client.get("/admin/"))
            measured("dashboard", lambda: client.get("/admin/dashboard"))


def run(kind: str, calls: int, profiled: str, shown: str) -> Costs:
    folder = Path(tempfile.mkdtemp(prefix="kefu_costs_"))
    costs = Costs(shown=shown, profiled=profiled,
                  profile=cProfile.Profile(time.process_time) if profiled else None)
    try:
        with database(kind, folder) as url:
            env = server_env(url, folder, 0, Options(clients=1, calls=calls, seconds=0, workers=1,
                                                     worker_class=None, threads=1, sync_commit=True, profile=False))
            run_setup(env)
            app = in_process_app(env)
            staff, homes = seed(app, 1)
            measured = Measured(app, costs)
            console_login(measured, staff[0].username)
            take_calls(measured, staff[0].token, homes, calls)
            with app.app_context():
                from app.extensions import db

                db.engine.dispose()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return costs


def report(kind: str, costs: Costs) -> None:
    print(f"\n== {kind}: one agent, in-process (Flask test client), medians after {WARMUP} warm-up requests")
    print(f"{'kind':<14}{'count':>6}{'CPU ms':>9}{'wall ms':>9}{'statements':>12}")
    for name in KINDS:
        samples = costs.samples.get(name, [])[WARMUP:]
        if samples:
            print(f"{name:<14}{len(samples):>6}{statistics.median(c for c, _ in samples):>9.2f}"
                  f"{statistics.median(w for _, w in samples):>9.2f}{costs.statements[name]:>12}")
    if costs.last_sql:
        print(f"statements of the last {costs.shown} (wall ms from sending to the answer):")
        for number, (statement, ms) in enumerate(costs.last_sql, 1):
            print(f"{number:>3}. {ms:6.2f}  {' '.join(statement.split())[:SQL_SHOWN]}")
    if costs.profile:
        out = io.StringIO()
        pstats.Stats(costs.profile, stream=out).sort_stats("cumulative").print_stats(50)
        print(f"profile of {costs.profiled} (CPU clock):\n{out.getvalue()}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--calls", type=int, default=40, help="calls the agent takes")
    parser.add_argument("--profile", choices=KINDS, default="", help="cProfile this kind's requests")
    parser.add_argument("--show-sql", choices=KINDS, default="", help="print the last such request's statements")
    args = parser.parse_args()
    for kind in ("sqlite", "postgresql") if args.db == "both" else (args.db,):
        report(kind, run(kind, args.calls, args.profile, args.show_sql))


if __name__ == "__main__":
    main()
