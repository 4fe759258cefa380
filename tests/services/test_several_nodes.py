"""Two web nodes and two workers on one PostgreSQL, behind HAProxy: what deploy/compose.yaml runs, as processes.

Docker cannot run on the build machines, so the test starts the compose file's commands itself: `flask setup`
twice at once on an empty database, two gunicorn nodes (the project's gunicorn.conf.py) on two loopback ports,
HAProxy with deploy/haproxy.cfg as is (its addresses come from the environment), and two `flask worker`s.
Every process is real and talks over HTTP; the nodes share nothing but the database and the SECRET_KEY.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine

from app import create_app
from app.clock import SystemClock
from app.extensions import db
from app.services.people.auth import issue_token
from app.services.people.users import create_user
from tests.conftest import app_config
from tests.services.test_worker_processes import scalar, wait_until
from tests.support.network import free_port

pytestmark = pytest.mark.concurrency

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
HAPROXY_CONFIG = ROOT / "deploy" / "haproxy.cfg"
TIMER_FLOW = Path(__file__).with_name("timer_at.bpmn")
PASSWORD = "several-nodes-pw-1"
TIMERS = 12


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def call(port: int, method: str, path: str, *, headers: dict[str, str] | None = None,
         body: bytes | None = None) -> Reply:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return Reply(response.status, {key.lower(): value for key, value in response.getheaders()}, response.read())
    finally:
        connection.close()


def answers(port: int, path: str) -> bool:
    try:
        return call(port, "GET", path).status == 200
    except OSError:
        return False


@dataclass
class Cluster:
    """The processes of deploy/compose.yaml, and what their start-up printed."""

    url: str
    env: dict[str, str]
    node_a: int = field(default_factory=free_port)
    node_b: int = field(default_factory=free_port)
    proxy: int = field(default_factory=free_port)
    token: str = ""
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def spawn(self, command: list[str], **env: str) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(command, cwd=ROOT, env={**self.env, **env}, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        self.processes.append(process)
        return process

    def api(self, port: int, method: str, path: str, payload: Any = None) -> Reply:
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        body = None if payload is None else json.dumps(payload).encode()
        return call(port, method, f"/api/v1{path}", headers=headers, body=body)

    def upload(self, port: int, files: dict[str, bytes]) -> Reply:
        boundary = uuid.uuid4().hex
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
                 f"Content-Type: application/octet-stream\r\n\r\n".encode() + content + b"\r\n"
                 for name, content in files.items()]
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        return call(port, "POST", "/api/v1/definitions", body=body, headers={
            "Authorization": f"Bearer {self.token}", "Content-Type": f"multipart/form-data; boundary={boundary}"})

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def haproxy() -> str | None:
    return shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin")


def definition_dirs(root: Path) -> tuple[Path, Path]:
    bpmn, forms = root / "bpmn", root / "forms"
    bpmn.mkdir()
    forms.mkdir()
    shutil.copy(FIXTURES / "lanes.bpmn", bpmn)
    for form in ("lanes_record.json", "lanes_handle.json"):
        shutil.copy(FIXTURES / form, forms)
    return bpmn, forms


def set_up_at_once(env: dict[str, str]) -> list[subprocess.CompletedProcess[str]]:
    """Both nodes' start-up command (the image's CMD runs `flask setup`), started together."""
    started = [subprocess.Popen([sys.executable, "-m", "flask", "setup"], cwd=ROOT, env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outputs = [process.communicate(timeout=300) for process in started]
    return [subprocess.CompletedProcess(process.args, process.returncode, out, err)
            for process, (out, err) in zip(started, outputs, strict=True)]


def node_environment(url: str, root: Path) -> dict[str, str]:
    bpmn, forms = definition_dirs(root)
    return {**os.environ, "DATABASE_URL": url, "FLASK_APP": "app:create_app", "KEFU_ENV": "production",
            "SECRET_KEY": "one-secret-shared-by-every-node-of-the-test", "BPMN_DIR": str(bpmn), "FORMS_DIR": str(forms),
            "RATELIMIT_STORAGE_URI": "memory://", "WORKER_LOCK_SECONDS": "2", "UPLOAD_DIR": str(root / "uploads")}


def admin_token(url: str) -> str:
    """An admin and their API token, written from here (`flask users create` would cost a process start-up)."""
    app = create_app(app_config(url))
    with app.app_context():
        clock = SystemClock()
        token = issue_token(create_user("root", password=PASSWORD, roles=("admin",), clock=clock), clock)
        db.session.remove()
        db.engine.dispose()
    return token


def start_processes(cluster: Cluster, proxy_binary: str) -> None:
    gunicorn = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "app:create_app()"]
    for port in (cluster.node_a, cluster.node_b):
        cluster.spawn(gunicorn, PORT=str(port), WEB_CONCURRENCY="1")
    cluster.spawn([proxy_binary, "-db", "-f", str(HAPROXY_CONFIG)], KEFU_PROXY_BIND=f"127.0.0.1:{cluster.proxy}",
                  KEFU_WEB1=f"127.0.0.1:{cluster.node_a}", KEFU_WEB2=f"127.0.0.1:{cluster.node_b}")
    cluster.workers.extend(cluster.spawn([sys.executable, "-m", "flask", "worker"]) for _ in range(2))
    for port in (cluster.node_a, cluster.node_b, cluster.proxy):
        wait_until(lambda port=port: answers(port, "/api/v1/ready"))
    # A node still loading its processes when the proxy first checked it is out of the rotation until its next
    # check (every 2 s): the cluster is ready when the proxy sends requests to both.
    wait_until(lambda: nodes_behind(cluster.proxy) == {"web1", "web2"})


def nodes_behind(proxy: int) -> set[str]:
    """The nodes that answered four readiness checks sent through the proxy (round robin)."""
    replies = [call(proxy, "GET", "/api/v1/ready") for _ in range(4)]
    return {reply.headers.get("x-kefu-node", "") for reply in replies if reply.status == 200}


@pytest.fixture(scope="module")
def cluster(databases, tmp_path_factory) -> Iterator[Cluster]:
    if not databases.is_postgres:
        pytest.skip("several nodes share one PostgreSQL; SQLite is one machine's single writer "
                    "(run with DATABASE_URL=postgresql+psycopg://…, as `make test` does)")
    proxy_binary = haproxy()
    if proxy_binary is None:
        pytest.skip("HAProxy is not installed and could not be (scripts/ensure-proxy installs it as root)")
    url = databases.empty("nodes")
    cluster = Cluster(url, node_environment(url, tmp_path_factory.mktemp("nodes")))
    try:
        assert [setup.returncode for setup in set_up_at_once(cluster.env)] == [0, 0]
        cluster.token = admin_token(url)
        start_processes(cluster, proxy_binary)
        yield cluster
    finally:
        cluster.stop()
        databases.drop(url)


@pytest.fixture
def engine(cluster: Cluster) -> Iterator[Engine]:
    engine = create_engine(cluster.url)
    yield engine
    engine.dispose()


def schema(url: str) -> tuple[list[str], list[str]]:
    """The database's tables, and the revisions in its alembic_version."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            revisions = list(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())
        return sorted(inspect(engine).get_table_names()), revisions
    finally:
        engine.dispose()


def test_both_nodes_setting_up_at_once_on_an_empty_database_migrate_and_deploy_once(databases, tmp_path):
    """On PostgreSQL an advisory lock, on SQLite a file lock: one migrates and deploys, the other finds it done."""
    url = databases.empty("setup")
    try:
        setups = set_up_at_once(node_environment(url, tmp_path))

        assert [setup.returncode for setup in setups] == [0, 0], [setup.stderr for setup in setups]
        outputs = sorted(setup.stdout for setup in setups)
        assert "deployed lanes_demo v1" in outputs[0] and "nothing changed on disk" in outputs[1]
        assert schema(url) == schema(databases.template_url)  # every table once, alembic_version one row at head
        engine = create_engine(url)
        try:
            assert scalar(engine, "SELECT count(*) FROM bundles WHERE process_id = 'lanes_demo'") == 1
        finally:
            engine.dispose()
    finally:
        databases.drop(url)


def session_cookie(reply: Reply) -> str:
    cookie = reply.headers.get("set-cookie", "")
    match = re.search(r"(session=[^;]+)", cookie)
    assert match, f"no session cookie in {cookie!r}"
    return match.group(1)


def log_in(port: int) -> str:
    form = call(port, "GET", "/login")
    csrf_token = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', form.body)
    assert csrf_token, "the login page has no CSRF token"
    body = f"username=root&password={PASSWORD}&csrf_token={csrf_token.group(1).decode()}".encode()
    signed_in = call(port, "POST", "/login", body=body, headers={
        "Cookie": session_cookie(form), "Content-Type": "application/x-www-form-urlencoded"})
    assert signed_in.status == 302, signed_in.body[:300]
    return session_cookie(signed_in)


def test_a_session_made_on_one_node_is_valid_on_the_other(cluster):
    cookie = log_in(cluster.node_a)

    assert call(cluster.node_b, "GET", "/api/v1/projects").status == 401
    assert call(cluster.node_b, "GET", "/api/v1/projects", headers={"Cookie": cookie}).status == 200


def test_the_proxy_spreads_one_session_over_both_nodes(cluster):
    cookie = log_in(cluster.proxy)
    replies = [call(cluster.proxy, "GET", "/api/v1/projects", headers={"Cookie": cookie}) for _ in range(4)]

    assert [reply.status for reply in replies] == [200] * 4
    assert {reply.headers["x-kefu-node"] for reply in replies} == {"web1", "web2"}


def started_task(cluster: Cluster, port: int) -> dict[str, Any]:
    started = cluster.api(port, "POST", "/processes/lanes_demo/instances", {"data": {}})
    assert started.status == 201, started.body
    return dict(started.json()["tasks"][0])


def test_a_deploy_on_node_a_is_served_by_node_b_at_its_next_request(cluster):
    before = started_task(cluster, cluster.node_b)  # node B has v1 in its caches
    changed = (FIXTURES / "lanes.bpmn").read_bytes().replace("登记 / Record".encode(), "登记 / Record (v2)".encode())
    assert cluster.upload(cluster.node_a, {"lanes.bpmn": changed}).status == 201

    after = started_task(cluster, cluster.node_b)

    assert "(v2)" not in before["title"] and "(v2)" in after["title"]
    instance = cluster.api(cluster.node_b, "GET", f"/instances/{after['instance_id']}").json()
    assert instance["bundle_version"] == 2


def test_a_task_completed_twice_at_once_through_both_nodes_gives_one_transition_and_one_409(cluster, engine):
    task = started_task(cluster, cluster.proxy)
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def complete(port: int) -> None:
        barrier.wait()
        completed = cluster.api(port, "POST", f"/tasks/{task['id']}/complete", {"data": {"summary": "漏水"}})
        statuses.append(completed.status)

    threads = [threading.Thread(target=complete, args=(port,)) for port in (cluster.node_a, cluster.node_b)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [200, 409]
    assert scalar(engine, "SELECT count(*) FROM audit_events WHERE instance_id = :id AND action = 'complete'",
                  id=task["instance_id"]) == 1


def test_timers_due_while_a_worker_is_killed_fire_exactly_once(cluster, engine):
    soon = TIMER_FLOW.read_bytes().replace(b"add_hours(now(), 0.5)", b"add_hours(now(), 0.001)")  # 3.6 s
    assert cluster.upload(cluster.proxy, {"timer_at.bpmn": soon}).status == 201
    for _ in range(TIMERS):
        assert cluster.api(cluster.proxy, "POST", "/processes/timer_at/instances", {"data": {}}).status == 201
    fired = "SELECT count(*) FROM audit_events WHERE action = 'timer'"
    victim = cluster.workers[0]

    wait_until(lambda: scalar(engine, fired) >= 1)  # the timers are due and being fired
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()

    wait_until(lambda: scalar(engine, "SELECT count(*) FROM jobs WHERE kind = 'timer'") == 0)
    assert scalar(engine, fired) == TIMERS
    assert scalar(engine, """SELECT count(*) FROM (SELECT instance_id FROM audit_events WHERE action = 'timer'
                             GROUP BY instance_id HAVING count(*) > 1) doubled""") == 0
    assert scalar(engine, "SELECT count(*) FROM process_instances "
                          "WHERE process_id = 'timer_at' AND status = 'completed'") == TIMERS
