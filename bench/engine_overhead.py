"""How much a task completion through the app costs beyond the engine and one durable write.

Runs the 5-user-task process ``five_tasks`` (tests/fixtures) three ways and prints medians per
task completion, all measured in this one run:

  (a) the engine alone, web style: deserialize, complete the READY task, run, serialize;
  (b) (a) plus one ``UPDATE bench_state`` + COMMIT with the app's connection settings
      (SQLite: WAL + synchronous=NORMAL; PostgreSQL: defaults, synchronous_commit on);
  (c) POST /api/v1/tasks/<id>/complete through the Flask test client on a migrated database.

(b) and (c) run on SQLite and on PostgreSQL (a throw-away database on ``BENCH_PG_URL``,
default postgresql+psycopg://postgres@127.0.0.1:5432/test, dropped at the end even on failure).

    .venv/bin/python bench/engine_overhead.py [--quick] [--sqlite-only] [--show-sql] [--profile] [--cpu]

``--cpu`` times this process's CPU (``time.process_time_ns``) instead of the wall clock: steadier on a busy
machine for (a) and (c)'s own work, but (b)'s fsync and the database server's work then count for nothing, so
compare c between runs rather than c/b.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import os
import pstats
import re
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402
from sqlalchemy import create_engine, event, text  # noqa: E402
from sqlalchemy.engine import Engine as SqlEngine  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from app.clock import SystemClock  # noqa: E402
from app.database import configure_database  # noqa: E402
from app.engine import Engine, compile_bundle, plan_bundles, read_library  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"
FILES = ("five_tasks.bpmn", "five_task.json")
PROCESS_ID = "five_tasks"
TASKS_PER_INSTANCE = 5
PG_BASE_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BUSY_TIMEOUT_MS = 5000

Sink = Callable[[str], None]
Round = Callable[[list[int]], None]  # runs one instance, appends one sample per timed completion


@dataclass(frozen=True)
class Sizes:
    instances: int
    warmup: int


@dataclass
class SqlLog:
    statements: list[str] = field(default_factory=list)
    commits: int = 0


@dataclass(frozen=True)
class DbFigures:
    name: str
    a_ms: float
    b_ms: float
    c_ms: float
    statements: int
    commits: int
    last_statements: int
    last_commits: int


# ---------------------------------------------------------------- helpers


def fixture_files() -> dict[str, bytes]:
    return {name: (FIXTURES / name).read_bytes() for name in FILES}


def median_ms(samples_ns: list[int]) -> float:
    return statistics.median(samples_ns) / 1e6


_clock: Callable[[], int] = time.perf_counter_ns  # --cpu: time.process_time_ns


def timed(call: Callable[[], Any], samples: list[int]) -> Any:
    started = _clock()
    result = call()
    samples.append(_clock() - started)
    return result


def _discard(_state: str) -> None:
    return None


def _raise_exit(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)  # runs every ``finally``: throw-away databases get dropped


# ---------------------------------------------------------------- (a) and (b): the engine alone


def build_engine() -> tuple[Engine, str]:
    """The app's Engine (keyed serializer, restricted scripts) with the bundle in a dict loader."""
    library = read_library(fixture_files())
    plans, problems = plan_bundles(library)
    if problems:
        raise RuntimeError(f"fixture problems: {problems}")
    plan = next(p for p in plans if p.process_id == PROCESS_ID)
    bundle = compile_bundle(library, plan, {"cs_agent": "cs_agent"})
    stored: dict[str, str] = {}
    engine = Engine(stored.__getitem__, SystemClock())
    stored[plan.content_hash] = engine.register_bundle(plan.content_hash, bundle)
    return engine, plan.content_hash


def run_engine_instance(engine: Engine, spec_key: str, sink: Sink, samples: list[int]) -> None:
    result = engine.start(spec_key, {})
    sink(result.state)
    for step in range(TASKS_PER_INSTANCE):
        task_id = result.ready_tasks[0].task_id
        state = result.state

        def complete(state: str = state, task_id: str = task_id, step: int = step) -> Any:
            done = engine.complete(state, task_id, {"note": f"x{step}"})
            sink(done.state)
            return done

        result = timed(complete, samples)
    if result.status != "completed":
        raise RuntimeError(f"instance ended {result.status}, expected completed")


def durable_sink(url: str) -> tuple[Sink, SqlEngine]:
    """One UPDATE + COMMIT per call, through a pooled SQLAlchemy engine set up like the app's."""
    sql = create_engine(url, pool_pre_ping=False)
    configure_database(sql, busy_timeout_ms=BUSY_TIMEOUT_MS)
    with sql.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS bench_state"))
        conn.execute(text("CREATE TABLE bench_state (id INTEGER PRIMARY KEY, state TEXT NOT NULL)"))
        conn.execute(text("INSERT INTO bench_state (id, state) VALUES (1, '')"))
    update = text("UPDATE bench_state SET state=:s WHERE id=1")

    def write(state: str) -> None:
        with sql.connect() as conn:
            conn.execute(update, {"s": state})
            conn.commit()

    return write, sql


# ---------------------------------------------------------------- (c): the app's JSON API


@dataclass
class ApiBench:
    app: Flask
    client: FlaskClient
    headers: dict[str, str]

    def start(self) -> str:
        response = self.client.post(f"/api/v1/processes/{PROCESS_ID}/instances", json={"data": {}},
                                    headers=self.headers)
        return _next_task(response, "start")

    def complete(self, task_id: str, step: int) -> Any:
        return self.client.post(f"/api/v1/tasks/{task_id}/complete", json={"data": {"note": f"x{step}"}},
                                headers=self.headers)


def _next_task(response: Any, what: str) -> str:
    if response.status_code not in (200, 201):
        raise RuntimeError(f"{what}: HTTP {response.status_code} {response.get_data(as_text=True)[:300]}")
    return response.get_json()["tasks"][0]["id"]


def build_api(url: str) -> ApiBench:
    """A fresh app on ``url``: migrated, five_tasks deployed, one cs_agent with a token."""
    from flask_migrate import upgrade

    from app import create_app
    from app.services.definitions.deploy import deploy_files
    from app.services.people.auth import issue_token
    from app.services.people.users import create_user

    app = create_app({"KEFU_ENV": "testing", "TESTING": True, "SQLALCHEMY_DATABASE_URI": url,
                      "BPMN_DIR": FIXTURES, "FORMS_DIR": FIXTURES})
    clock = SystemClock()
    with app.app_context():  # popped again: each request then gets its own context and session
        upgrade()
        deploy_files(app.extensions["kefu"], fixture_files(), user=None)
        user = create_user("bench_agent", password="bench-pw-1", roles=("cs_agent",), clock=clock)  # noqa: S106
        token = issue_token(user, clock)
    return ApiBench(app, app.test_client(), {"Authorization": f"Bearer {token}"})


def run_api_instance(api: ApiBench, samples: list[int], log_step: Callable[[int], contextlib.AbstractContextManager]
                     ) -> None:
    task_id = api.start()
    for step in range(TASKS_PER_INSTANCE):
        with log_step(step):
            response = timed(lambda task_id=task_id, step=step: api.complete(task_id, step), samples)
        if step < TASKS_PER_INSTANCE - 1:
            task_id = _next_task(response, f"complete step {step + 1}")
        elif response.status_code != 200 or response.get_json()["status"] != "completed":
            raise RuntimeError(f"last complete: HTTP {response.status_code} {response.get_data(as_text=True)[:300]}")


def _no_log(_step: int) -> contextlib.AbstractContextManager:
    return contextlib.nullcontext()


@contextlib.contextmanager
def _profiling(profile: cProfile.Profile | None) -> Iterator[None]:
    if profile is None:
        yield
        return
    profile.enable()
    try:
        yield
    finally:
        profile.disable()


@contextlib.contextmanager
def sql_log(sql: SqlEngine, log: SqlLog) -> Iterator[None]:
    def on_execute(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        log.statements.append(" ".join(statement.split()))

    def on_commit(_conn: Any) -> None:
        log.commits += 1

    event.listen(sql, "before_cursor_execute", on_execute)
    event.listen(sql, "commit", on_commit)
    try:
        yield
    finally:
        event.remove(sql, "before_cursor_execute", on_execute)
        event.remove(sql, "commit", on_commit)


def count_statements(api: ApiBench) -> dict[int, SqlLog]:
    """SQL statements and commits of each of the 5 complete requests of one instance."""
    with api.app.app_context():
        from app.extensions import db

        sql = db.engine
    logs: dict[int, SqlLog] = {}

    @contextlib.contextmanager
    def log_step(step: int) -> Iterator[None]:
        logs[step] = SqlLog()
        with sql_log(sql, logs[step]):
            yield

    run_api_instance(api, [], log_step)
    return logs


def dispose_api(api: ApiBench) -> None:
    with api.app.app_context():
        from app.extensions import db

        db.session.remove()
        db.engine.dispose()


# ---------------------------------------------------------------- databases


@contextlib.contextmanager
def sqlite_urls() -> Iterator[tuple[str, str]]:
    with tempfile.TemporaryDirectory(prefix="kefu_bench_") as folder:
        yield f"sqlite:///{folder}/durable.db", f"sqlite:///{folder}/app.db"


def _pg_admin(statement: str) -> None:
    admin = create_engine(PG_BASE_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(statement))
    finally:
        admin.dispose()


@contextlib.contextmanager
def postgres_urls() -> Iterator[tuple[str, str]]:
    names = [f"kefu_bench{os.getpid()}_{suffix}" for suffix in ("durable", "app")]
    created: list[str] = []
    try:
        for name in names:
            _pg_admin(f'DROP DATABASE IF EXISTS "{name}"')
            _pg_admin(f'CREATE DATABASE "{name}"')
            created.append(name)
        base = make_url(PG_BASE_URL)
        durable, app = (base.set(database=n).render_as_string(hide_password=False) for n in names)
        yield durable, app
    finally:
        for name in created:
            _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# ---------------------------------------------------------------- run and report


def interleaved(rounds: dict[str, Round], sizes: Sizes, profile: cProfile.Profile | None) -> dict[str, float]:
    """Median ms per completion of each way, one instance of each in turn so load drifts hit all alike."""
    for _ in range(sizes.warmup):
        for run in rounds.values():
            run([])
    samples: dict[str, list[int]] = {key: [] for key in rounds}
    for _ in range(sizes.instances):
        for key, run in rounds.items():
            with _profiling(profile if key == "c" else None):
                run(samples[key])
    return {key: median_ms(values) for key, values in samples.items()}


def bench_database(name: str, urls: contextlib.AbstractContextManager[tuple[str, str]], engine: Engine,
                   spec_key: str, sizes: Sizes, args: argparse.Namespace) -> DbFigures:
    profile = cProfile.Profile() if args.profile else None
    with urls as (durable_url, app_url):
        sink, sql = durable_sink(durable_url)
        api = build_api(app_url)
        try:
            medians = interleaved({
                "a": lambda samples: run_engine_instance(engine, spec_key, _discard, samples),
                "b": lambda samples: run_engine_instance(engine, spec_key, sink, samples),
                "c": lambda samples: run_api_instance(api, samples, _no_log),
            }, sizes, profile)
            logs = count_statements(api)
        finally:
            dispose_api(api)
            sql.dispose()
    report_details(name, logs, profile, args)
    mid, last = logs[2], logs[TASKS_PER_INSTANCE - 1]
    return DbFigures(name, medians["a"], medians["b"], medians["c"], len(mid.statements), mid.commits,
                     len(last.statements), last.commits)


def abbreviate(statement: str) -> str:
    """``SELECT <n cols> FROM …``: the column lists hide the joins and conditions that matter."""
    match = re.match(r"SELECT (.*?) FROM ", statement)
    if match is None:
        return statement[:200]
    columns = match.group(1).count(",") + 1
    return "".join(("SELECT <", str(columns), " cols> FROM ", statement[match.end():]))[:260]


def report_details(name: str, logs: dict[int, SqlLog], profile: cProfile.Profile | None,
                   args: argparse.Namespace) -> None:
    if args.show_sql:
        for step, label in ((2, "task 3 of 5"), (TASKS_PER_INSTANCE - 1, "task 5 of 5, instance completes")):
            print(f"\n[{name}] SQL of one complete request ({label}): "
                  f"{len(logs[step].statements)} statements, {logs[step].commits} commit(s)")
            for number, statement in enumerate(logs[step].statements, 1):
                print(f"  {number:2}. {abbreviate(statement)}")
    if profile is not None:
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(args.profile_lines)
        print(f"\n[{name}] cProfile of (c), cumulative:\n{out.getvalue()}")


def print_table(rows: list[DbFigures], sizes: Sizes) -> None:
    timer = "CPU of this process" if _clock is time.process_time_ns else "wall clock"
    print(f"\nmedian ms per task completion ({sizes.instances} instances x {TASKS_PER_INSTANCE} tasks, "
          f"{sizes.warmup} warm-up instances; {timer})")
    print(f"{'database':<11}{'a engine':>10}{'b +write':>10}{'c API':>9}{'c/b':>7}  "
          f"{'stmts/commits per complete (mid | last task)':<40}")
    for row in rows:
        ratio = row.c_ms / row.b_ms
        verdict = "goal" if ratio <= 2 else "target" if ratio <= 3 else "MISSED"
        print(f"{row.name:<11}{row.a_ms:>10.3f}{row.b_ms:>10.3f}{row.c_ms:>9.3f}{ratio:>7.2f}  "
              f"{row.statements}/{row.commits} | {row.last_statements}/{row.last_commits}   "
              f"(c/b target <=3, goal <=2: {verdict})")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="40 instances, 5 warm-up (default 200, 20)")
    parser.add_argument("--sqlite-only", action="store_true", help="skip PostgreSQL")
    parser.add_argument("--show-sql", action="store_true", help="print the SQL of one complete request")
    parser.add_argument("--profile", action="store_true", help="cProfile the timed (c) requests")
    parser.add_argument("--profile-lines", type=int, default=40, help="rows of profile output")
    parser.add_argument("--cpu", action="store_true", help="time CPU (process_time) rather than the wall clock")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    global _clock
    args = parse_args(argv)
    if args.cpu:
        _clock = time.process_time_ns
    signal.signal(signal.SIGTERM, _raise_exit)
    sizes = Sizes(40, 5) if args.quick else Sizes(200, 20)
    started = time.perf_counter()
    engine, spec_key = build_engine()
    configs: list[tuple[str, Callable[[], contextlib.AbstractContextManager[tuple[str, str]]]]] = [
        ("sqlite", sqlite_urls)]
    if not args.sqlite_only:
        configs.append(("postgresql", postgres_urls))
    rows = [bench_database(name, urls(), engine, spec_key, sizes, args) for name, urls in configs]
    print_table(rows, sizes)
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"total {time.perf_counter() - started:.1f} s; load average {load} on {os.cpu_count()} CPUs "
          "(other work on the machine inflates b and c alike; compare the ratio)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
