"""The app over real HTTP: gunicorn (the project's gunicorn.conf.py) and one ``flask worker``, K staff at once.

For each database asked for (SQLite in a temp dir; PostgreSQL: a database made on ``BENCH_PG_URL`` for the run and
dropped at the end even on failure) it:

  1. migrates and deploys with ``flask setup``, seeds the demo estate and users (app/demo/seed.py) and K staff
     (cs_agent + cs_supervisor), each with an API token (the service ``flask users token`` calls) and a console
     session (POST /login);
  2. starts gunicorn on 127.0.0.1 (N workers, the worker class asked for) and ``flask worker``;
  3. times the trivial authenticated request (GET /api/v1/projects) over HTTP, one keep-alive client, against the
     same request through the Flask test client, in this run, with the load off;
  4. latency phase (``--mode latency``): K simulated staff (asyncio + httpx) each take calls until their count or
     the time is up, reading ``--think`` seconds (mean, default 1 s) after every answer: intake
     (POST /api/v1/tickets, a consultation or a life service), inbox (GET /api/v1/tasks, every other call the
     console's inbox GET /?scope=group), task page (GET /api/v1/tasks/<id>), complete (POST .../complete with the
     demo's answers, app/demo/answers.py) while the next task is the agent's (a consultation closes; a life
     service goes on to the service department and stays open), ticket search (GET /api/v1/tickets?q=), and
     every third call the admin list (GET /admin/) and the dashboard (GET /admin/dashboard). It prints
     p50/p95/p99 per kind: what staff feel; beside them the time inside the app (the servers' JSON access log,
     p50/p99): the difference is the wait for a thread and a core, gunicorn and the network. Its requests/s
     say nothing of capacity: K staff who read ~1 s after each answer cannot ask more than K requests/s,
     whatever the server;
  5. throughput phase (``--mode throughput``): the same K clients with no think time and only the steps, intake
     (the start) and the agent's completions, as fast as the server answers, for ``--throughput-seconds``. It
     replays exactly those steps on the raw engine in-process (start with the ticket's start data, then
     deserialize + complete + serialize per task, as bench/engine_overhead.py (a)) and prints two ratios:
     wall-clock (HTTP steps/s over the raw engine's steps/s in one process) and CPU (the raw engine's CPU per
     step over what the servers -- gunicorn, the flask worker, PostgreSQL's backends -- spent per step). The
     client runs on the same 2 cores and takes its share (printed); the CPU ratio does not count it, nor the
     machine's other work, so it is the fair figure on a shared machine. The CPU each process took comes
     from /proc.

The business time zone is set so that the run falls in office hours (a ticket taken at night waits for the
morning shift). Everything listens on 127.0.0.1 only.

    .venv/bin/python bench/http_load.py [--db sqlite|postgresql|both] [--clients 20] [--calls 15] [--seconds 60]
        [--workers 2] [--worker-class sync|gthread] [--threads 4] [--think 1] [--mode both|latency|throughput]
        [--throughput-seconds 30] [--no-sync-commit] [--profile] [--sample] [--no-warm-up]

``--sample`` runs py-spy on the server processes during the throughput phase and prints where their CPU goes by
layer (engine, SQL client, web framework, the app's own code...) and the app's heaviest functions
(bench/server_samples.py); unlike ``--profile`` it does not slow the servers down.

Before the phases (unless ``--no-warm-up``) every staff member takes one call of the mix, unmeasured: each server
process has then run every kind of request once, as a worker that has served for a while has; the slowest of each
kind in that warm-up is printed, which is what a request costs the first time in a process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import logging
import os
import pstats
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from flask import Flask  # noqa: E402
from server_samples import Profile, Sampler, gunicorn_workers, report  # noqa: E402  (bench/: the script's folder)
from sqlalchemy import create_engine, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from app import create_app  # noqa: E402
from app.clock import SystemClock  # noqa: E402
from app.demo.answers import Desk, answer  # noqa: E402
from app.demo.calls import CONSULTATIONS, LIFE_SERVICES, Call, Case  # noqa: E402
from app.demo.seed import create_demo_estate, create_demo_users  # noqa: E402

PG_BASE_URL = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
VENV_BIN = Path(sys.executable).parent
PASSWORD = "bench-http-pass-1"  # noqa: S105 - throw-away bench users
TRIVIAL_REPEAT = 300
KINDS = ("intake", "inbox", "inbox_console", "task_page", "complete", "search", "admin_list", "dashboard")
# The route each kind's request takes, as the servers' access log names it (its JSON "route" field).
ROUTES = {"intake": "api.open_ticket", "inbox": "api.list_tasks", "inbox_console": "console.home",
          "task_page": "api.get_task", "complete": "api.complete_task", "search": "api.search_tickets",
          "admin_list": "admin.home", "dashboard": "admin.dashboard"}


@dataclass
class Staff:
    username: str
    token: str
    cookie: str = ""


@dataclass
class Ticket:
    """What one call did, to replay its steps on the raw engine: the start data and each completion."""

    instance_id: int
    start_data: dict[str, Any] = field(default_factory=dict)
    steps: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    completed: bool = False


@dataclass
class Recorder:
    samples: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: Counter[tuple[str, int]] = field(default_factory=Counter)
    tickets: list[Ticket] = field(default_factory=list)
    think: float = 0.0

    def note(self, kind: str, status: int, seconds: float) -> None:
        self.samples[kind].append(seconds)
        self.statuses[(kind, status)] += 1


@dataclass(frozen=True)
class Options:
    clients: int
    calls: int
    seconds: float
    workers: int
    worker_class: str | None
    threads: int
    sync_commit: bool
    profile: bool
    think: float = 0.0  # mean seconds a staff member reads between two requests (0: a stress test)
    mode: str = "both"  # latency, throughput or both
    throughput_seconds: float = 30.0
    warm_up: bool = True  # one unmeasured call of the mix per staff member before the phases
    sample: bool = False  # py-spy on the servers during the throughput phase (bench/server_samples.py)


# ---------------------------------------------------------------- the database and the seed


def day_time_zone() -> str:
    """An Etc/GMT zone where it is late morning now, so tickets are taken by the day shift."""
    offset = (11 - datetime.now(UTC).hour + 12) % 24 - 12  # -12 .. 11 hours from UTC
    return "Etc/GMT" + (f"{-offset:+d}" if offset else "")


def _pg_admin(statement: str) -> None:
    admin = create_engine(PG_BASE_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(statement))
    finally:
        admin.dispose()


@contextlib.contextmanager
def database(kind: str, folder: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{folder}/kefu.db"
        return
    name = f"kefu_http{os.getpid()}"
    _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _pg_admin(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(PG_BASE_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def server_env(url: str, folder: Path, port: int, opts: Options) -> dict[str, str]:
    env = dict(os.environ, DATABASE_URL=url, KEFU_ENV="production", SECRET_KEY=secrets.token_hex(32),
               KEFU_TIMEZONE=day_time_zone(), PORT=str(port), WEB_CONCURRENCY=str(opts.workers),
               UPLOAD_DIR=str(folder / "uploads"), RATELIMIT_STORAGE_URI="memory://", FLASK_APP="app:create_app")
    if not opts.sync_commit:
        env["PGOPTIONS"] = "-c synchronous_commit=off"
    return env


def in_process_app(env: dict[str, str]) -> Flask:
    """The app the servers run (same settings), in this process: seeding, the test client, the raw engine."""
    app = create_app({"KEFU_ENV": "production", "SQLALCHEMY_DATABASE_URI": env["DATABASE_URL"],
                      "SECRET_KEY": env["SECRET_KEY"], "TIMEZONE": env["KEFU_TIMEZONE"],
                      "UPLOAD_DIR": Path(env["UPLOAD_DIR"]), "RATELIMIT_STORAGE_URI": "memory://"})
    logging.getLogger("kefu.request").setLevel(logging.WARNING)  # the servers' request log goes to their log file
    return app


def seed(app: Flask, clients: int) -> tuple[list[Staff], list[dict[str, Any]]]:
    """Demo estate and users, ``clients`` staff with tokens; returns them and the homes callers ring from."""
    from app.extensions import db
    from app.models import Unit
    from app.services.people.auth import issue_token
    from app.services.people.users import create_user

    clock = SystemClock()
    with app.app_context():
        create_demo_estate()
        create_demo_users(clock)
        staff = []
        for number in range(clients):
            user = create_user(f"staff{number:02d}", password=PASSWORD, roles=("cs_agent", "cs_supervisor"),
                               clock=clock)
            staff.append(Staff(user.username, issue_token(user, clock, label="bench")))
        homes = [{"project": u.project_key, "unit": u.code, "caller_name": u.owner_name, "phone": u.owner_phone}
                 for u in db.session.scalars(select(Unit).where(Unit.owner_phone.is_not(None)).order_by(Unit.id))]
        db.session.remove()
    return staff, homes


# ---------------------------------------------------------------- the processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_setup(env: dict[str, str]) -> None:
    done = subprocess.run([str(VENV_BIN / "flask"), "setup"], cwd=ROOT, env=env, capture_output=True, text=True,
                          check=False)
    if done.returncode:
        raise RuntimeError(f"flask setup failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")


@contextlib.contextmanager
def servers(env: dict[str, str], folder: Path, opts: Options) -> Iterator[dict[str, subprocess.Popen[bytes]]]:
    command = [str(VENV_BIN / "gunicorn"), "-c", profiled_config(folder) if opts.profile else "gunicorn.conf.py"]
    if opts.worker_class:  # else the config's class and threads
        command += ["-k", opts.worker_class, "--threads", str(opts.threads if opts.worker_class == "gthread" else 1)]
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        with open(folder / "gunicorn.log", "wb") as glog, open(folder / "worker.log", "wb") as wlog:
            processes["gunicorn"] = subprocess.Popen([*command, "app:create_app()"], cwd=ROOT, env=env,
                                                     stdout=glog, stderr=subprocess.STDOUT)
            processes["worker"] = subprocess.Popen([str(VENV_BIN / "flask"), "worker"], cwd=ROOT, env=env,
                                                   stdout=wlog, stderr=subprocess.STDOUT)
        wait_ready(f"http://127.0.0.1:{env['PORT']}", processes["gunicorn"], folder)
        yield processes
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


PROFILED_CONFIG = """
exec(compile(open({conf!r}).read(), {conf!r}, "exec"))  # the project's settings, then a profiler per worker
import cProfile as _cProfile
_profile = _cProfile.Profile()


def post_fork(server, worker):
    _profile.enable()


def worker_exit(server, worker):
    _profile.disable()
    _profile.dump_stats({folder!r} + f"/worker{{worker.pid}}.prof")
"""


def profiled_config(folder: Path) -> str:
    """gunicorn.conf.py plus hooks that cProfile each worker and dump its stats when it exits."""
    path = folder / "gunicorn_profiled.conf.py"
    path.write_text(PROFILED_CONFIG.format(conf=str(ROOT / "gunicorn.conf.py"), folder=str(folder)))
    return str(path)


def profile_report(folder: Path) -> str:
    files = sorted(str(p) for p in folder.glob("worker*.prof"))
    if not files:
        return "no worker profile written"
    out = io.StringIO()
    stats = pstats.Stats(*files, stream=out)
    stats.sort_stats("tottime").print_stats(25)
    stats.sort_stats("cumulative").print_stats(30)
    stats.print_callers(r"built-in method builtins.compile|psycopg/connection.py.*\(wait\)")
    return "gunicorn workers' profile (all workers merged):\n" + out.getvalue()


def wait_ready(base: str, gunicorn: subprocess.Popen[bytes], folder: Path) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if gunicorn.poll() is not None:
            raise RuntimeError(f"gunicorn exited: {(folder / 'gunicorn.log').read_text()[-2000:]}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                return
        time.sleep(0.3)
    raise RuntimeError("gunicorn did not answer /api/v1/health within 90 s")


def log_in(base: str, staff: list[Staff]) -> None:
    """A console session per staff member. Production cookies are Secure, which a client keeps off plain
    HTTP, so the session cookie is carried by hand (a TLS proxy stands in front in production)."""
    with httpx.Client(base_url=base) as client:
        for member in staff:
            form = client.get("/login")
            token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
            if token is None:
                raise RuntimeError("no csrf_token on /login")
            response = client.post("/login", data={"username": member.username, "password": PASSWORD,
                                                   "csrf_token": token.group(1)},
                                   headers={"Cookie": session_cookie(form)})
            if response.status_code != 302:
                raise RuntimeError(f"login of {member.username}: HTTP {response.status_code}")
            member.cookie = session_cookie(response)


def session_cookie(response: httpx.Response) -> str:
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("session="))
    return cookie.split(";", 1)[0]


# ---------------------------------------------------------------- CPU from /proc


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
    return found


def machine_busy_seconds() -> float:
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(values) - values[3] - values[4]) / os.sysconf("SC_CLK_TCK")  # all but idle and iowait


def postgres_backends(url: str) -> list[int]:
    if not url.startswith("postgresql"):
        return []
    sql = create_engine(url)
    try:
        with sql.connect() as conn:
            return list(conn.scalars(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                          "AND pid <> pg_backend_pid()")))
    finally:
        sql.dispose()


def cpu_split(processes: dict[str, subprocess.Popen[bytes]], url: str) -> dict[str, float]:
    gunicorn = processes["gunicorn"].pid
    split = {"gunicorn": sum(cpu_seconds(p) for p in [gunicorn, *children(gunicorn)]),
             "flask worker": cpu_seconds(processes["worker"].pid),
             "postgres (this db)": sum(cpu_seconds(p) for p in postgres_backends(url)),
             "bench client": sum(os.times()[:2]), "machine (all)": machine_busy_seconds()}
    return split


# ---------------------------------------------------------------- the simulated staff


class DemoDesk:
    """The demo's answers need a Desk and a Case; the answers used here read only the call and the dice."""

    def __init__(self, seed_: int) -> None:
        self.desk = Desk(rt=None, clock=None, rng=random.Random(seed_), zone=None)  # type: ignore[arg-type]

    def answer(self, case: Case, element_id: str) -> dict[str, Any]:
        task = SimpleNamespace(element_id=element_id, department=None)
        data = answer(self.desk, case, task, None)  # type: ignore[arg-type]
        case.done[element_id] += 1
        return data


def make_call(rng: random.Random, homes: list[dict[str, Any]]) -> Call:
    category = rng.choice(("consultation", "consultation", "life_service"))
    content = rng.choice(CONSULTATIONS if category == "consultation" else LIFE_SERVICES)
    intake = {**rng.choice(homes), "category": category, "description": content[0], "channel": "hotline",
              "urgency": "normal", "emergency": False}
    return Call(datetime.now(UTC), intake, content, set())


async def timed(rec: Recorder, kind: str, request: Any) -> httpx.Response:
    started = time.perf_counter()
    response = await request
    rec.note(kind, response.status_code, time.perf_counter() - started)
    if rec.think:
        await asyncio.sleep(random.uniform(0.5, 1.5) * rec.think)  # reading the page
    return response


async def one_call(client: httpx.AsyncClient, member: Staff, call: Call, desk: DemoDesk, rec: Recorder,
                   number: int, *, steps_only: bool = False) -> None:
    """One call as the desk takes it; ``steps_only``: only the engine's steps (intake, the agent's completions)."""
    api = {"Authorization": f"Bearer {member.token}"}
    console = {"Cookie": member.cookie}
    opened = await timed(rec, "intake", client.post("/api/v1/tickets", json={"data": call.intake}, headers=api))
    if opened.status_code != 201:
        return
    body = opened.json()
    ticket = Ticket(body["instance"]["id"])
    rec.tickets.append(ticket)
    case = Case(call, body["ticket"]["instance_id"], body["instance"]["id"])
    tasks = body["instance"]["tasks"]
    if steps_only:
        await complete_all(client, api, tasks, ticket, case, desk, rec)
        return
    if number % 2:
        await timed(rec, "inbox_console", client.get("/?scope=group", headers=console))
    else:
        await timed(rec, "inbox", client.get("/api/v1/tasks?scope=group&limit=20", headers=api))
    while tasks and tasks[0]["role"] == "cs_agent":
        page = await timed(rec, "task_page", client.get(f"/api/v1/tasks/{tasks[0]['id']}", headers=api))
        if page.status_code != 200:
            return
        if not ticket.steps:
            ticket.start_data = page.json()["data"]
        data = desk.answer(case, tasks[0]["name"])
        ticket.steps.append((tasks[0]["name"], data))
        done = await timed(rec, "complete", client.post(f"/api/v1/tasks/{tasks[0]['id']}/complete",
                                                        json={"data": data}, headers=api))
        if done.status_code != 200:
            return
        ticket.completed = done.json()["status"] == "completed"
        tasks = done.json()["tasks"]
    await timed(rec, "search", client.get("/api/v1/tickets", params={"q": call.intake["phone"][-4:]}, headers=api))
    if number % 3 == 0:
        await timed(rec, "admin_list", client.get("/admin/", headers=console))
        await timed(rec, "dashboard", client.get("/admin/dashboard", headers=console))


async def complete_all(client: httpx.AsyncClient, api: dict[str, str], tasks: list[dict[str, Any]], ticket: Ticket,
                       case: Case, desk: DemoDesk, rec: Recorder) -> None:
    """The agent's completions one after the other, from the ids each answer gives (no page read between)."""
    while tasks and tasks[0]["role"] == "cs_agent":
        data = desk.answer(case, tasks[0]["name"])
        ticket.steps.append((tasks[0]["name"], data))
        done = await timed(rec, "complete", client.post(f"/api/v1/tasks/{tasks[0]['id']}/complete",
                                                        json={"data": data}, headers=api))
        if done.status_code != 200:
            ticket.steps.pop()
            return
        ticket.completed = done.json()["status"] == "completed"
        tasks = done.json()["tasks"]


async def staff_loop(base: str, member: Staff, homes: list[dict[str, Any]], rec: Recorder, calls: int,
                     deadline: float, seed_: int, *, steps_only: bool) -> None:
    rng = random.Random(seed_)
    desk = DemoDesk(seed_)
    await asyncio.sleep(rng.uniform(0, 5 * rec.think))  # staff do not all pick up the phone at the same instant
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        for number in range(calls):
            if time.monotonic() > deadline:
                return
            try:
                await one_call(client, member, make_call(rng, homes), desk, rec, number, steps_only=steps_only)
            except httpx.HTTPError as exc:
                rec.statuses[("transport", type(exc).__name__)] += 1  # type: ignore[index]


async def load(base: str, staff: list[Staff], homes: list[dict[str, Any]], opts: Options, *,
               steps_only: bool) -> tuple[Recorder, float]:
    """The latency phase (the staff's mix, with think time) or the throughput phase (``steps_only``, none)."""
    rec = Recorder(think=0.0 if steps_only else opts.think)
    seconds, calls = (opts.throughput_seconds, 10**9) if steps_only else (opts.seconds, opts.calls)
    deadline = time.monotonic() + seconds
    started = time.perf_counter()
    await asyncio.gather(*(staff_loop(base, member, homes, rec, calls, deadline, number + (1000 if steps_only else 0),
                                      steps_only=steps_only)
                           for number, member in enumerate(staff)))
    return rec, time.perf_counter() - started


async def warm_up(base: str, staff: list[Staff], homes: list[dict[str, Any]]) -> Recorder:
    """One call of the staff's mix per member, at once, not measured: every server process then has run each kind
    of request (its first statements compiled, its pool's connections opened) before the phases measure a working
    day's steady state. Its slowest request per kind is printed: that is what a first request costs."""
    rec = Recorder(think=0.0)
    deadline = time.monotonic() + 120
    await asyncio.gather(*(staff_loop(base, member, homes, rec, 1, deadline, 2000 + number, steps_only=False)
                           for number, member in enumerate(staff)))
    return rec


def report_warm_up(rec: Recorder) -> None:
    slowest = ", ".join(f"{kind} {max(times) * 1e3:.0f}" for kind, times in sorted(rec.samples.items()))
    print(f"-- warm-up (not measured): {sum(rec.statuses.values())} requests, one call per staff member; "
          f"slowest ms: {slowest}")


# ---------------------------------------------------------------- the trivial request, the raw engine


def trivial_ms(app: Flask, base: str, token: str) -> tuple[float, float]:
    """Median ms of GET /api/v1/projects over HTTP (one keep-alive client) and through the test client."""
    headers = {"Authorization": f"Bearer {token}"}
    over_http, in_process = [], []
    client = app.test_client()
    with httpx.Client(base_url=base) as http:
        for _ in range(20):  # warm both
            http.get("/api/v1/projects", headers=headers)
            client.get("/api/v1/projects", headers=headers)
        for _ in range(TRIVIAL_REPEAT):
            started = time.perf_counter()
            assert http.get("/api/v1/projects", headers=headers).status_code == 200
            over_http.append(time.perf_counter() - started)
            started = time.perf_counter()
            assert client.get("/api/v1/projects", headers=headers).status_code == 200
            in_process.append(time.perf_counter() - started)
    return statistics.median(over_http) * 1e3, statistics.median(in_process) * 1e3


@dataclass(frozen=True)
class RawEngine:
    """The raw engine on the same steps: wall and CPU seconds per step, quiet and with the servers' logging."""

    wall_s: float
    cpu_s: float
    logged_s: float


def raw_engine_per_step(app: Flask, tickets: list[Ticket]) -> RawEngine:
    """Seconds the engine alone takes per step of these tickets (start, then deserialize + complete + serialize
    per task), in this one process: quiet as bench/engine_overhead.py runs it, and with the servers' logging
    (JSON lines at INFO, SpiffWorkflow's loggers included) written to /dev/null."""
    from app.extensions import db
    from app.models import ProcessInstance

    replayed = [t for t in tickets if t.start_data]
    if not replayed:
        return RawEngine(float("nan"), float("nan"), float("nan"))
    steps = sum(1 + len(t.steps) for t in replayed)
    with app.app_context():
        engine = app.extensions["kefu"].engine
        keys = dict(db.session.execute(select(ProcessInstance.id, ProcessInstance.spec_key).where(
            ProcessInstance.id.in_([t.instance_id for t in replayed]))).all())
        spiff, root = logging.getLogger("spiff"), logging.getLogger()
        spiff.setLevel(logging.WARNING)
        quiet, cpu = replay_all(engine, keys, replayed)
        saved = [handler.stream for handler in root.handlers if isinstance(handler, logging.StreamHandler)]
        with open(os.devnull, "w") as sink:
            for handler in root.handlers:
                if isinstance(handler, logging.StreamHandler):
                    handler.setStream(sink)
            spiff.setLevel(logging.NOTSET)
            try:
                logged, _ = replay_all(engine, keys, replayed)
            finally:
                spiff.setLevel(logging.WARNING)
                for handler, stream in zip([h for h in root.handlers if isinstance(h, logging.StreamHandler)],
                                           saved, strict=True):
                    handler.setStream(stream)
        db.session.remove()
    return RawEngine(quiet / steps, cpu / steps, logged / steps)


def replay_all(engine: Any, keys: dict[int, str], tickets: list[Ticket]) -> tuple[float, float]:
    """Wall and CPU seconds to replay all ``tickets`` once (after a warm-up of three)."""
    for ticket in tickets[:3]:  # warm the spec cache
        replay(engine, keys[ticket.instance_id], ticket)
    started, cpu = time.perf_counter(), time.process_time()
    for ticket in tickets:
        replay(engine, keys[ticket.instance_id], ticket)
    return time.perf_counter() - started, time.process_time() - cpu


def fill_start_data(app: Flask, tickets: list[Ticket]) -> None:
    """The data each ticket's instance started with, for the tickets whose task page was not read: the checked
    intake (the start event) and the system data ``open_ticket`` adds (number, time, the unit's facts)."""
    from app.extensions import db
    from app.models import AuditEvent, Unit
    from app.models import Ticket as TicketRow

    missing = {t.instance_id: t for t in tickets if not t.start_data}
    if not missing:
        return
    with app.app_context():
        events = dict(db.session.execute(select(AuditEvent.instance_id, AuditEvent.data).where(
            AuditEvent.instance_id.in_(missing), AuditEvent.action == "start")).all())
        rows = db.session.execute(select(TicketRow.instance_id, TicketRow.number, TicketRow.received_at,
                                         Unit.handover_date, Unit.is_common_area)
                                  .outerjoin(Unit, (Unit.project_key == TicketRow.project_key)
                                             & (Unit.code == TicketRow.unit_code))
                                  .where(TicketRow.instance_id.in_(missing))).all()
        for row in rows:
            intake = {k: v for k, v in (events.get(row.instance_id) or {}).items() if k != "request_id"}
            missing[row.instance_id].start_data = {
                **intake, "ticket_number": row.number, "reported_at": row.received_at.isoformat(),
                "handover_date": row.handover_date.isoformat() if row.handover_date else None,
                "common_area": row.is_common_area is not False, "reopened_from": None, "escalation_level": 0,
                "rework_count": 0}
        db.session.remove()


def replay(engine: Any, spec_key: str, ticket: Ticket) -> None:
    result = engine.start(spec_key, ticket.start_data)
    for name, data in ticket.steps:
        task = next((t for t in result.ready_tasks if t.name == name), None)
        if task is None:
            raise RuntimeError(f"replay of instance {ticket.instance_id}: no ready task {name}")
        result = engine.complete(result.state, task.task_id, data)


# ---------------------------------------------------------------- run and report


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1e3


def bench(kind: str, opts: Options) -> None:
    folder = Path(tempfile.mkdtemp(prefix="kefu_http_"))
    try:
        with database(kind, folder) as url:
            env = server_env(url, folder, free_port(), opts)
            run_setup(env)
            app = in_process_app(env)
            staff, homes = seed(app, opts.clients)
            base = f"http://127.0.0.1:{env['PORT']}"
            phases: dict[str, tuple[Recorder, float, dict[str, float]]] = {}
            sampled: tuple[dict[str, Profile], str] | None = None
            served: dict[str, dict[str, list[float]]] = {}
            with servers(env, folder, opts) as processes:
                log_in(base, staff)
                warmed = asyncio.run(warm_up(base, staff, homes)) if opts.warm_up else None
                trivial = trivial_ms(app, base, staff[0].token)
                for phase in ("latency", "throughput"):
                    if opts.mode in (phase, "both"):
                        before = cpu_split(processes, url)
                        logged = (folder / "gunicorn.log").stat().st_size
                        sampler = Sampler(folder, {"gunicorn": gunicorn_workers(processes["gunicorn"].pid),
                                                   "flask worker": [processes["worker"].pid]}) \
                            if opts.sample and phase == "throughput" else None
                        if sampler:
                            sampler.start()
                        rec, wall = asyncio.run(load(base, staff, homes, opts, steps_only=phase == "throughput"))
                        after = cpu_split(processes, url)
                        if sampler:
                            sampled = (sampler.stop(), sampler.problem)
                        served[phase] = server_times(folder / "gunicorn.log", logged)
                        phases[phase] = (rec, wall, {k: after[k] - before[k] for k in after})
            if any(isinstance(status, int) and status >= 500 for rec, _, _ in phases.values()
                   for _, status in rec.statuses):
                print(server_errors(folder / "gunicorn.log"))
            header(kind, opts, env["KEFU_TIMEZONE"], trivial)
            if warmed is not None:
                report_warm_up(warmed)
            if "latency" in phases:
                report_latency(opts, *phases["latency"], served["latency"])
            if "throughput" in phases:
                rec = phases["throughput"][0]
                fill_start_data(app, rec.tickets)
                report_throughput(opts, *phases["throughput"], raw_engine_per_step(app, rec.tickets),
                                  served["throughput"])
                if sampled is not None:
                    cpu, steps = phases["throughput"][2], max(steps_of(rec), 1)
                    per_step = {name: cpu[name] / steps * 1e3 for name in ("gunicorn", "flask worker")}
                    print(report(sampled[0], per_step, sampled[1]))
            with app.app_context():
                from app.extensions import db

                db.engine.dispose()
            print(log_volume(folder / "gunicorn.log", sum(sum(r.statuses.values()) for r, _, _ in phases.values())))
            if opts.profile:
                print(profile_report(folder))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def log_volume(log: Path, requests: int) -> str:
    """How many lines the servers logged, and how many of them are SpiffWorkflow's task state changes."""
    lines = log.read_text(errors="replace").splitlines()
    spiff = sum('"logger": "spiff' in line for line in lines)
    return (f"server log: {len(lines)} lines ({len(lines) / max(requests, 1):.1f} per request), of which "
            f"{spiff} from SpiffWorkflow's loggers")


def server_errors(log: Path) -> str:
    """The first traceback the servers logged, to say what a 5xx was."""
    text_ = log.read_text(errors="replace")
    start = text_.find("Traceback")
    return "first server error:\n" + (text_[start:start + 3000] if start >= 0 else "(no traceback logged)")


def header(kind: str, opts: Options, zone: str, trivial: tuple[float, float]) -> None:
    print(f"\n== {kind}: gunicorn {opts.workers} x {opts.worker_class or 'gunicorn.conf.py class'}"
          f"{f' ({opts.threads} threads)' if opts.worker_class == 'gthread' else ''} + 1 flask worker, "
          f"{opts.clients} staff, time zone {zone}{'' if opts.sync_commit else ', synchronous_commit=off'}")
    http_ms, client_ms = trivial
    print(f"trivial GET /api/v1/projects, median: HTTP {http_ms:.2f} ms, test client {client_ms:.2f} ms, "
          f"ratio {http_ms / client_ms:.2f} (goal <= 2)")


def server_times(log: Path, offset: int) -> dict[str, list[float]]:
    """Each route's time in the app (the access log's ``duration_ms``, seconds) from ``offset`` of the log on."""
    times: dict[str, list[float]] = defaultdict(list)
    with open(log, "rb") as lines:
        lines.seek(offset)
        for line in lines:
            if b'"duration_ms"' in line:
                with contextlib.suppress(ValueError):
                    entry = json.loads(line)
                    times[entry["route"]].append(entry["duration_ms"] / 1e3)
    return times


def report_latency(opts: Options, rec: Recorder, wall: float, cpu: dict[str, float],
                   served: dict[str, list[float]]) -> None:
    requests = sum(rec.statuses.values())
    print(f"-- latency: the staff's mix, {f'think time {opts.think:g} s' if opts.think else 'no think time'}, "
          f"{wall:.1f} s: {requests / wall:.1f} requests/s (bounded by the think time, not a capacity figure)")
    print_kinds(rec, served)
    print_cpu(cpu, wall)


def report_throughput(opts: Options, rec: Recorder, wall: float, cpu: dict[str, float], raw: RawEngine,
                      served: dict[str, list[float]]) -> None:
    starts, completions = steps_split(rec)
    steps = starts + completions
    print(f"-- throughput: steps only (intake + the agent's completions), no think time, {wall:.1f} s: "
          f"{steps / wall:.1f} steps/s ({starts} starts, {completions} completions; "
          f"{sum(t.completed for t in rec.tickets)} tickets closed)")
    print_kinds(rec, served)
    print_cpu(cpu, wall)
    server_cpu = cpu["gunicorn"] + cpu["flask worker"] + cpu["postgres (this db)"]
    wall_ratio = (steps / wall) * raw.wall_s
    cpu_ratio = raw.cpu_s / (server_cpu / steps) if steps and server_cpu else float("nan")
    print(f"raw engine, the same {steps} steps in one process: {raw.wall_s * 1e3:.2f} ms/step = "
          f"{1 / raw.wall_s:.0f} steps/s (with the servers' logging on: {raw.logged_s * 1e3:.2f} ms/step)")
    print(f"end-to-end / raw engine: wall clock {wall_ratio:.0%} (HTTP on 2 shared cores vs the engine on one); "
          f"CPU {cpu_ratio:.0%} (engine {raw.cpu_s * 1e3:.2f} ms vs servers {server_cpu / max(steps, 1) * 1e3:.2f} "
          f"ms of CPU per step) (goal >= 50 %)")


def steps_split(rec: Recorder) -> tuple[int, int]:
    """The engine steps a phase made: intakes that started an instance, completions that were taken."""
    starts = sum(n for (kind_, status), n in rec.statuses.items() if kind_ == "intake" and status == 201)
    completions = sum(n for (kind_, status), n in rec.statuses.items() if kind_ == "complete" and status == 200)
    return starts, completions


def steps_of(rec: Recorder) -> int:
    return sum(steps_split(rec))


def print_kinds(rec: Recorder, served: dict[str, list[float]]) -> None:
    """Per kind, what the client waited (p50/p95/p99) and, from the servers' access log, the time inside the app
    (p50/p99: the rest of the client's wait is the queue for a thread and a core, the network and gunicorn)."""
    print(f"{'kind':<14}{'count':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'in app p50':>12}{'p99':>8}")
    for kind_ in KINDS:
        values = rec.samples.get(kind_, [])
        inside = served.get(ROUTES[kind_], [])
        if values:
            in_app = f"{percentile(inside, .5):>12.1f}{percentile(inside, .99):>8.1f}" if inside else ""
            print(f"{kind_:<14}{len(values):>7}{percentile(values, .5):>9.1f}{percentile(values, .95):>9.1f}"
                  f"{percentile(values, .99):>9.1f}{in_app}")
    errors = {key: n for key, n in rec.statuses.items() if not (isinstance(key[1], int) and 200 <= key[1] < 400)}
    print("errors by status: " + (", ".join(f"{k} {s}: {n}" for (k, s), n in sorted(errors.items(), key=str))
                                  or "none"))


def print_cpu(cpu: dict[str, float], wall: float) -> None:
    print("CPU seconds (share of the 2 cores): " + ", ".join(
        f"{name} {seconds:.1f} s ({seconds / wall / (os.cpu_count() or 1):.0%})" for name, seconds in cpu.items()))


def _raise_exit(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)  # runs every ``finally``: the servers stop, the database is dropped


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--clients", type=int, default=20, help="simulated staff at once (K)")
    parser.add_argument("--calls", type=int, default=15, help="calls each staff member takes at most")
    parser.add_argument("--seconds", type=float, default=60, help="no new call after this many seconds")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes (N)")
    parser.add_argument("--worker-class", choices=("sync", "gthread"), default=None,
                        help="gunicorn worker class (default: gunicorn.conf.py's)")
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker (with --worker-class)")
    parser.add_argument("--no-sync-commit", action="store_true",
                        help="PostgreSQL: synchronous_commit=off in the servers (how much is the fsync)")
    parser.add_argument("--think", type=float, default=1.0,
                        help="latency phase: mean seconds each staff member reads between requests (default 1)")
    parser.add_argument("--mode", choices=("both", "latency", "throughput"), default="both",
                        help="latency: the staff's mix with think time (p99); throughput: steps only, no think "
                             "time, against the raw engine (default both, on the same servers)")
    parser.add_argument("--throughput-seconds", type=float, default=30, help="length of the throughput phase")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile each gunicorn worker (slows it) and print the merged top functions")
    parser.add_argument("--sample", action="store_true",
                        help="py-spy the servers during the throughput phase: their CPU by layer and the app's "
                             "heaviest functions (does not slow them)")
    parser.add_argument("--no-warm-up", dest="warm_up", action="store_false",
                        help="measure from the servers' first request (default: one unmeasured call per staff "
                             "member first)")
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    opts = Options(args.clients, args.calls, args.seconds, args.workers, args.worker_class, args.threads,
                   not args.no_sync_commit, args.profile, args.think, args.mode, args.throughput_seconds,
                   args.warm_up, args.sample)
    signal.signal(signal.SIGTERM, _raise_exit)
    print("shared 2-core machine: other work runs alongside; see 'machine (all)' CPU below")
    for kind in ("sqlite", "postgresql") if args.db == "both" else (args.db,):
        bench(kind, opts)


if __name__ == "__main__":
    main()
