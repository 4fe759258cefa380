"""How late timers fire: N waiting timers on real tickets, due uniformly over M minutes, 2 worker processes.

Set-up (on a throw-away PostgreSQL database, dropped at the end even on failure): the shipped
flows are deployed; each ticket is a life-service call recorded in the daytime, arranged by the
service department, and then called back without reaching the owner — so it waits on the
callback flow's real retry timer (4 hours), placed by running that last step on a manual clock
so the timers fall due uniformly over the measuring window. Then two ``flask worker`` processes
run on the system clock, and the bench prints, from the audit log, how late each timer fired
(p50, p99, max) and, measured in-process afterwards, the mean service time per fire.

    .venv/bin/python bench/timers.py [--timers 10000] [--minutes 10] [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from app import create_app  # noqa: E402
from app.clock import ManualClock  # noqa: E402
from app.extensions import db  # noqa: E402
from app.services.definitions.deploy import deploy_from_disk  # noqa: E402
from app.services.people.auth import principal_for_user  # noqa: E402
from app.services.people.organisation import create_project, create_unit  # noqa: E402
from app.services.people.users import create_user  # noqa: E402
from app.services.steps.plan import open_tasks_of  # noqa: E402
from app.services.work.tasks import complete_task  # noqa: E402
from app.services.work.tickets import open_ticket  # noqa: E402
from app.worker import Worker  # noqa: E402

PG_BASE_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DATABASE = "kefu_bench_timers"
RETRY = timedelta(hours=4)  # callback_policy.dmn: tries 4 hours apart
SHANGHAI = ZoneInfo("Asia/Shanghai")
BENCH_PASSWORD = "bench-password-1"  # noqa: S105 - a throw-away database


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--timers", type=int, default=10_000)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    url = make_url(PG_BASE_URL).set(database=DATABASE).render_as_string(hide_password=False)
    admin = create_engine(PG_BASE_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{DATABASE}"'))
    try:
        run(url, args.timers, args.minutes, args.workers)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
        admin.dispose()


def run(url: str, timers: int, minutes: float, workers: int) -> None:
    clock = ManualClock(datetime.now(UTC))
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "KEFU_ENV": "development"}, clock=clock)
    with app.app_context():
        upgrade()
        deploy_from_disk(app.extensions["kefu"], app.config["BPMN_DIR"], app.config["FORMS_DIR"])
        people = make_people(clock)
        window = timedelta(minutes=minutes)
        # Set-up takes a while: time a few tickets first (due long after the window, not measured),
        # then start the window after the rest of the set-up, with a margin.
        started = time.monotonic()
        calibration = min(100, max(timers // 10, 1))
        for _ in range(calibration):
            ticket_waiting_for_a_callback_retry(app, clock, people, datetime.now(UTC) + timedelta(hours=2))
        per_ticket = (time.monotonic() - started) / calibration
        first_due = datetime.now(UTC) + timedelta(seconds=30 + timers * per_ticket * 1.5)
        dues = {}
        for index in range(timers):
            due = first_due + window * (index / max(timers - 1, 1))
            instance_id = ticket_waiting_for_a_callback_retry(app, clock, people, due)
            dues[instance_id] = due
        setup_seconds = time.monotonic() - started
        late_start = (datetime.now(UTC) - first_due).total_seconds()
        db.session.remove()
        db.engine.dispose()
    print(f"set-up: {timers} tickets waiting on their callback retry in {setup_seconds:.0f} s "
          f"(window starts {-late_start:.0f} s after set-up)")
    if late_start > 0:
        print("warning: set-up overran the window start; early timers count as late")

    processes = [spawn_worker(url) for _ in range(workers)]
    try:
        wait_for_fires(url, timers, deadline=first_due + window + timedelta(minutes=5))
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
    report_lateness(url, dues)
    report_service_time(app, clock, people)


def make_people(clock: ManualClock) -> dict[str, Any]:
    create_project("lanting", "兰亭苑")
    create_unit("lanting", "3栋-1202", owner_name="王先生", owner_phone="13812345678")
    users = {name: create_user(name, password=BENCH_PASSWORD, roles=roles, departments=departments, clock=clock)
             for name, roles, departments in (("agent", ("cs_agent",), ()),
                                              ("service_owner", ("dept_owner",), ("service",)))}
    return {name: principal_for_user(user.id) for name, user in users.items()}


def ticket_waiting_for_a_callback_retry(app: Any, clock: ManualClock, people: dict[str, Any], due: datetime) -> int:
    rt = app.extensions["kefu"]
    day = (due - RETRY).astimezone(SHANGHAI).replace(hour=10, minute=0) - timedelta(days=1)
    clock.set(day)  # recorded in the daytime: no night hold
    opened = open_ticket(rt, {"project": "lanting", "unit": "3栋-1202", "caller_name": "王先生",
                              "phone": "13812345678", "channel": "hotline", "category": "life_service",
                              "description": "需要家政保洁。", "urgency": "normal", "emergency": False},
                         user=people["agent"])
    do(app, people["service_owner"], opened.instance.instance_id, "arrange_service",
       {"service_result": "已安排保洁。"})
    clock.set(due - RETRY)
    do(app, people["agent"], opened.instance.instance_id, "call_owner", {"reached": False})
    return opened.instance.instance_id


def do(app: Any, user: Any, instance_id: int, element_id: str, data: dict[str, Any]) -> None:
    rt = app.extensions["kefu"]
    for _ in range(3):
        tasks = [task for task in open_tasks_of(instance_id) if task.element_id == element_id]
        if tasks:
            complete_task(rt, tasks[0].id, data, user=user)
            return
        rt.clock.advance(timedelta(seconds=1))  # a wait of zero hours fires once its moment has passed
        Worker(app).run_pending()
    raise RuntimeError(f"{element_id} never came up on instance {instance_id}")


def spawn_worker(url: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "DATABASE_URL": url, "FLASK_APP": "app:create_app", "KEFU_ENV": "development"}
    return subprocess.Popen([sys.executable, "-m", "flask", "worker"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_for_fires(url: str, timers: int, *, deadline: datetime) -> None:
    engine = create_engine(url)
    try:
        while datetime.now(UTC) < deadline:
            with engine.connect() as connection:
                fired = connection.execute(text(
                    "SELECT count(*) FROM audit_events WHERE action = 'timer'")).scalar_one()
            if fired >= timers:
                return
            time.sleep(2)
        print(f"warning: only {fired} of {timers} timers fired before the deadline")
    finally:
        engine.dispose()


def report_lateness(url: str, dues: dict[int, datetime]) -> None:
    engine = create_engine(url)
    with engine.connect() as connection:
        fired = connection.execute(text(
            "SELECT instance_id, at FROM audit_events WHERE action = 'timer' ORDER BY at")).all()
    engine.dispose()
    late = sorted((at - dues[instance_id]).total_seconds() for instance_id, at in fired if instance_id in dues)
    doubled = len(fired) - len({instance_id for instance_id, _ in fired})
    p99 = late[min(len(late) - 1, int(len(late) * 0.99))]
    print(f"fired {len(late)} of {len(dues)} timers ({doubled} twice); lateness in seconds: "
          f"p50 {statistics.median(late):.3f}, p99 {p99:.3f}, max {late[-1]:.3f} (goal: p99 <= 1 s)")


def report_service_time(app: Any, clock: ManualClock, people: dict[str, Any], count: int = 300) -> None:
    """Mean time a worker spends per fire: ``count`` due timers run by one in-process worker pass."""
    with app.app_context():
        now = datetime.now(UTC)
        for index in range(count):
            ticket_waiting_for_a_callback_retry(app, clock, people, now + timedelta(seconds=index % 5))
        clock.set(now + timedelta(minutes=1))
        db.session.remove()
        started = time.perf_counter()
        ran = Worker(app).run_pending()
        elapsed = time.perf_counter() - started
        db.session.remove()
        db.engine.dispose()
    print(f"service time per fire: {elapsed / max(ran.get('done', 1), 1) * 1000:.1f} ms "
          f"(one worker, {ran.get('done', 0)} timers taken, fired and committed)")


if __name__ == "__main__":
    main()
