"""The 365-day dashboard on a year of counters: summed from day rows (before) and from monthly roll-ups (after).

Fills the dashboard's counters (``kpi_daily``) with 400 business days of 50 projects, each day and project with
the rows the steps keep (all, 6 departments, 5 categories, 10 hot spots, 17 stages, 7 people), the whole
company's rows and the month rows, as ``figures/counters.counter_rows`` writes them (the tickets themselves are
not needed: the dashboard reads only the counters). Then it measures GET /admin/dashboard?from=<364 days ago>&to=
<today> through the Flask test client as a manager of every project and as a manager of ten projects, the
median and p95 of ``--repeat`` requests, with the slices summed from day rows only (``months=False``, what the
dashboard did before the roll-ups) and from the month rows, on SQLite (a temp file) and on PostgreSQL (a throw-away
database ``kefu_bench_dashboard`` on ``BENCH_PG_URL``, dropped at the end). Goal (issue 17, point 6): within 50 ms.
Beside the wall time it prints each request's CPU time (the bench's process, plus, on PostgreSQL, the server's
backends read from ``/proc/<pid>/schedstat`` when the server runs on this machine), the figure to compare on a busy
machine, and the figures the page shows (the same from day rows and month rows, or the bench fails).

    .venv/bin/python bench/dashboard_year.py [--repeat 30] [--projects 50] [--only sqlite|postgresql]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from admin_scale import PASSWORD, Person, p95  # noqa: E402  (bench/ is the script's own folder)
from flask import Flask  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from app import create_app  # noqa: E402
from app.clock import SystemClock  # noqa: E402
from app.extensions import db  # noqa: E402
from app.services.figures import counters  # noqa: E402
from app.services.figures import dashboard as figures  # noqa: E402
from app.services.people.auth import hash_password  # noqa: E402

PG_BASE_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PG_DATABASE = "kefu_bench_dashboard"
ZONE = ZoneInfo("Asia/Shanghai")
DAYS = 400
DEPARTMENTS = ("engineering", "property", "sales", "design", "service", "")
CATEGORIES = ("repair", "complaint", "consultation", "life_service", "suggestion")
HOT_SPOTS = ("leak_crack", "landscaping", "car_park_flooding", "noise", "cleaning", "security", "plumbing",
             "electrical", "equipment", "other")
STAGES = [(f"flow{n % 4}/step_{n:02d}", f"步骤{n:02d} / Step {n:02d}") for n in range(17)]
PEOPLE_PER_PROJECT = 7
LIMITED_TO = 10  # the second manager's projects


def build_app(url: str) -> Flask:
    return create_app({"KEFU_ENV": "testing", "TESTING": True, "SQLALCHEMY_DATABASE_URI": url,
                       "BPMN_DIR": ROOT / "bpmn", "FORMS_DIR": ROOT / "forms"}, clock=SystemClock())


def seed(projects: int) -> None:
    """The projects, their staff (the people the counters name) and the two managers."""
    tables = db.metadata.tables
    now = datetime.now(UTC)
    password = hash_password(PASSWORD)
    connection = db.session.connection()
    keys = [f"p{p:02d}" for p in range(projects)]
    connection.execute(tables["projects"].insert(), [{"key": key, "name": f"楼盘{key}"} for key in keys])
    users = [{"id": 1 + n, "username": f"staff{n}", "display_name": f"员工{n}", "password_hash": password,
              "is_active": True, "created_at": now, "locale": "zh"} for n in range(projects * PEOPLE_PER_PROJECT)]
    managers = {"manager": len(users) + 1, "manager_10": len(users) + 2}
    users += [{"id": user_id, "username": name, "display_name": name, "password_hash": password, "is_active": True,
               "created_at": now, "locale": "zh"} for name, user_id in managers.items()]
    connection.execute(tables["users"].insert(), users)
    connection.execute(tables["user_roles"].insert(), [{"user_id": user_id, "role_key": "property_manager"}
                                                       for user_id in managers.values()])
    connection.execute(tables["user_projects"].insert(), [{"user_id": managers["manager_10"], "project_key": key}
                                                          for key in keys[:LIMITED_TO]])
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT setval('users_id_seq', :n)"), {"n": len(users) + 1})
    db.session.commit()


def month_changes(first: date, last: date, projects: int,
                  rng: random.Random) -> Iterator[dict[counters.Key, dict[str, int]]]:
    """Per business month of ``first``..``last``: every project's day counters of that month."""
    month = first.replace(day=1)
    while month <= last:
        changes: dict[counters.Key, dict[str, int]] = {}
        day = max(month, first)
        while day <= last and day.month == month.month:
            for p in range(projects):
                key = f"p{p:02d}"
                received = rng.randrange(20, 60)
                closed = rng.randrange(15, received + 1)
                ticket = {"received": received, "closed_of_received": closed - 2, "closed": closed,
                          "closed_in_time": closed - 3, "closed_with_limit": closed - 1,
                          "closed_first_time": closed - 4,
                          "callbacks_attempted": closed - 1, "callbacks_reached": closed - 2,
                          "satisfied": closed - 3, "repeat_repairs": 1, "attached_calls": 2, "reopened": 1,
                          "escalated": 1, "duplicate_dispatches": 1}
                changes[("all", day, key, "")] = ticket
                for dimension, values in (("department", DEPARTMENTS), ("category", CATEGORIES)):
                    for value in values:
                        changes[(dimension, day, key, value)] = {name: count // len(values) + 1
                                                                 for name, count in ticket.items()}
                for value in HOT_SPOTS:
                    changes[("hot_spot", day, key, value)] = {"received": rng.randrange(1, 5)}
                for value, _ in STAGES:
                    done = rng.randrange(1, 8)
                    changes[("element", day, key, value)] = {"tasks_done": done, "task_seconds": done * 3600}
                for n in range(PEOPLE_PER_PROJECT):
                    done = rng.randrange(1, 10)
                    changes[("user", day, key, str(1 + p * PEOPLE_PER_PROJECT + n))] = {
                        "tasks_done": done, "task_seconds": done * 1800}
            day += timedelta(days=1)
        yield changes
        month = (month + timedelta(days=32)).replace(day=1)


def fill(projects: int, say: Callable[[str], None]) -> int:
    """A year and a month of counters, month by month (each month's rows are complete after its turn)."""
    started = time.perf_counter()
    today = datetime.now(ZONE).date()
    labels = {("element", today, "", value): label for value, label in STAGES}
    rows = 0
    connection = db.session.connection()
    for changes in month_changes(today - timedelta(days=DAYS - 1), today, projects, random.Random(17)):
        day_labels = {(k[0], k[1], k[2], k[3]): labels[("element", today, "", k[3])]
                      for k in changes if k[0] == "element"}
        batch = counters.counter_rows(changes, day_labels)
        for start in range(0, len(batch), 20_000):
            connection.execute(counters.DAILY.insert(), batch[start:start + 20_000])
        rows += len(batch)
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        # A year-old table has been vacuumed by autovacuum: its pages are all-visible, so index-only scans read no
        # heap. Right after the COPY-like fill they are not yet (VACUUM cannot run inside a transaction).
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as autocommit:
            autocommit.execute(text("VACUUM ANALYZE kpi_daily"))
    else:
        db.session.execute(text("ANALYZE"))
        db.session.commit()
    say(f"  {rows:,} counter rows ({projects} projects, {DAYS} days, with the company's and the months'): "
        f"{time.perf_counter() - started:.1f} s")
    return rows


def run(database: str, url: str, *, projects: int, repeat: int,
        say: Callable[[str], None]) -> tuple[list[str], list[str]]:
    """The wall-time lines and the CPU-time lines of ``database``."""
    say(f"{database}:")
    app = build_app(url)
    with app.app_context():
        upgrade()
        seed(projects)
        fill(projects, say)
        db.session.remove()
    today = datetime.now(ZONE).date()
    path = f"/admin/dashboard?from={today - timedelta(days=364)}&to={today}"
    lines, cpu_lines = [], []
    daily_only = functools.partial(figures.dashboard, months=False)
    with_months = figures.dashboard
    for username in ("manager", "manager_10"):
        person = Person(app, username)
        results: dict[str, tuple[list[float], list[float]]] = {}
        try:
            figures.dashboard = daily_only  # type: ignore[assignment]  # the bench's "before", for this run only
            before_page = person.client.get(path).get_data()
            results["day rows"] = measure(app, lambda person=person: person.client.get(path), repeat=repeat)
        finally:
            figures.dashboard = with_months  # type: ignore[assignment]
        after_page = person.client.get(path).get_data()
        assert _figures_of(before_page) == _figures_of(after_page), "the roll-ups change the figures"
        results["month rows"] = measure(app, lambda person=person: person.client.get(path), repeat=repeat)
        (before, before_cpu), (after, after_cpu) = results["day rows"], results["month rows"]
        scope = "every project" if username == "manager" else f"{LIMITED_TO} projects"
        say(f"  figures ({scope}): {_summary(_figures_of(after_page))}")
        lines.append(f"{database:<11} {scope:<14} {statistics.median(before):>11.1f} {p95(before):>8.1f} "
                     f"{statistics.median(after):>11.1f} {p95(after):>8.1f} "
                     f"{statistics.median(before) / statistics.median(after):>8.1f}")
        cpu_lines.append(f"{database:<11} {scope:<14} {statistics.median(before_cpu):>11.1f} {p95(before_cpu):>8.1f} "
                         f"{statistics.median(after_cpu):>11.1f} {p95(after_cpu):>8.1f} "
                         f"{statistics.median(before_cpu) / statistics.median(after_cpu):>8.1f}")
    with app.app_context():
        db.engine.dispose()
    return lines, cpu_lines


def measure(app: Flask, get: Callable[[], Any], *, repeat: int, warmup: int = 3) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds of ``repeat`` requests (CPU: this process's, and the database server's backends'
    when they can be read here)."""
    for _ in range(warmup):
        response = get()
        assert response.status_code == 200, (response.status_code, response.get_data(as_text=True)[:300])
    backends = _server_backends(app)
    walls, cpus = [], []
    for _ in range(repeat):
        server = _server_cpu(backends)
        started, cpu = time.perf_counter_ns(), time.process_time_ns()
        response = get()
        walls.append((time.perf_counter_ns() - started) / 1e6)
        cpus.append((time.process_time_ns() - cpu + _server_cpu(backends) - server) / 1e6)
        assert response.status_code == 200, response.status_code
    return walls, cpus


def _server_backends(app: Flask) -> list[int]:
    """The process ids of the PostgreSQL backends serving the app (none on SQLite, or a server elsewhere)."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            return []
        engine = create_engine(db.engine.url)
        with engine.connect() as connection:
            pids = list(connection.execute(text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
            ).scalars())
        engine.dispose()
    return [pid for pid in pids if Path(f"/proc/{pid}/schedstat").exists()]


def _server_cpu(backends: list[int]) -> int:
    """Nanoseconds the backends have run so far."""
    total = 0
    for pid in backends:
        with contextlib.suppress(OSError, ValueError):  # the backend ended
            total += int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])
    return total


def _summary(data: str) -> str:
    """The figures of the page's totals and how many slices it shows."""
    chart = json.loads(data)
    totals = chart["totals"]
    rates = ", ".join(f"{rate.removesuffix('_rate')} {totals[rate]}%" for rate in figures.TARGET_SETTINGS)
    return (f"received {totals['received']:,}, closed {totals['closed']:,}, {rates}; {len(chart['daily']['labels'])} "
            f"days, {len(chart['projects']['labels'])} projects, {len(chart['departments']['labels'])} departments, "
            f"{len(chart['stages']['labels'])} stages")


def _figures_of(page: bytes) -> str:
    """The dashboard's data block (every figure the page draws)."""
    found = re.search(rb'<script type="application/json" id="dashboard-data">(.*?)</script>', page, re.S)
    assert found, page[:300]
    return found.group(1).decode()


def postgresql_url(database: str) -> Any:
    return make_url(PG_BASE_URL).set(database=database)


def recreate_pg(*, drop_only: bool = False) -> None:
    engine = create_engine(make_url(PG_BASE_URL), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)'))
        if not drop_only:
            connection.execute(text(f'CREATE DATABASE "{PG_DATABASE}"'))
    engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--projects", type=int, default=50)
    parser.add_argument("--only", choices=("sqlite", "postgresql"))
    args = parser.parse_args()
    say = print
    lines: list[str] = []
    cpu_lines: list[str] = []
    if args.only in (None, "sqlite"):
        with tempfile.TemporaryDirectory() as folder:
            wall, cpu = run("SQLite", f"sqlite:///{folder}/dashboard.db", projects=args.projects, repeat=args.repeat,
                            say=say)
            lines, cpu_lines = lines + wall, cpu_lines + cpu
    if args.only in (None, "postgresql"):
        recreate_pg()
        try:
            wall, cpu = run("PostgreSQL", postgresql_url(PG_DATABASE).render_as_string(hide_password=False),
                            projects=args.projects, repeat=args.repeat, say=say)
            lines, cpu_lines = lines + wall, cpu_lines + cpu
        finally:
            recreate_pg(drop_only=True)
    head = (f"{'database':<11} {'manager of':<14} {'before med':>11} {'p95':>8} {'after med':>11} {'p95':>8} "
            f"{'before/after':>8}")
    say("\nGET /admin/dashboard, the last 365 days (ms; before = slices summed from day rows, after = month rows)")
    say(head)
    for line in lines:
        say(line)
    say("\nThe same, CPU ms per request (the bench's process, plus PostgreSQL's backends when read on this machine)")
    say(head)
    for line in cpu_lines:
        say(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
