"""The server's log under gunicorn with the project's settings: one JSON line per request, and never the raw request
line (a search's phone digits, an owner's sign-in link, a survey's token are in URLs)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.support.network import free_port
from tests.support.paths import ROOT

SECRETS = ("13912345678", "7Hq2xLinkTokenNotForLogs", "S9surveyTokenNotForLogs")
PATHS = (f"/api/v1/health?phone={SECRETS[0]}", f"/owner/l/{SECRETS[1]}", f"/owner/s/{SECRETS[2]}")


def _get(port: int, path: str) -> str:
    """The request id the server answered with (any status)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return str(response.headers["X-Request-ID"])
    except urllib.error.HTTPError as refused:
        return str(refused.headers["X-Request-ID"])


def _wait_listening(port: int, server: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        assert server.poll() is None, "gunicorn exited"
        try:
            _get(port, "/api/v1/health")
            return
        except OSError:
            time.sleep(0.1)  # waiting for the process to listen, not for a deadline
    raise AssertionError("gunicorn never answered")


def test_each_request_is_one_json_line_without_the_raw_url(database_url: str, tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "server.log"
    env = {**os.environ, "DATABASE_URL": database_url, "KEFU_ENV": "production", "PORT": str(port),
           "SECRET_KEY": "a-test-secret-that-is-long-enough", "WEB_CONCURRENCY": "1"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    with open(log, "wb") as output, subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "app:create_app()"],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT) as server:
        try:
            _wait_listening(port, server)
            ids = [_get(port, path) for path in PATHS]
        finally:
            server.terminate()
            server.wait(timeout=30)

    text = log.read_text(errors="replace")
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    for request_id in ids:
        logged = [line for line in lines if line.get("request_id") == request_id]
        assert len(logged) == 1, f"request {request_id}: {len(logged)} lines"
        assert logged[0]["logger"] == "kefu.request" and logged[0]["route"]
    for secret in SECRETS:
        assert secret not in text
