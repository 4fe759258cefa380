"""The Dockerfile's start-up commands, run as the container runs them, on an empty database.

The image cannot be built on these machines, so this is how its CMD is proven: migrate,
deploy from disk, serve with gunicorn, answer the health check.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.support.network import free_port
from tests.support.paths import ROOT


def _environment(database_url: str, port: int) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": database_url, "FLASK_APP": "app:create_app", "KEFU_ENV": "production",
            "SECRET_KEY": "a-test-secret-that-is-long-enough", "PORT": str(port), "WEB_CONCURRENCY": "1"}


def _flask(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "flask", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def _health(port: int, attempts: int = 100) -> bytes:
    for _ in range(attempts):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=2) as response:
                return response.read()
        except OSError:
            time.sleep(0.1)  # waiting for the server to listen, not for a deadline
    raise AssertionError("gunicorn never answered the health check")


@pytest.fixture
def empty_database(databases):
    url = databases.empty("container")
    yield url
    databases.drop(url)


def test_the_container_start_up_migrates_deploys_and_serves_a_healthy_app(empty_database):
    env = _environment(empty_database, free_port())

    migrated = _flask(env, "db", "upgrade")
    assert migrated.returncode == 0, migrated.stderr
    deployed = _flask(env, "deploy")
    assert deployed.returncode == 0, deployed.stderr
    assert "deployed reception v1" in deployed.stdout
    assert "nothing changed on disk" in _flask(env, "deploy").stdout

    with subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "app:create_app()"],
                          cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as server:
        try:
            assert b'"status":"ok"' in _health(int(env["PORT"])).replace(b" ", b"")
        finally:
            server.terminate()
            server.wait(timeout=30)


def test_production_refuses_to_start_without_a_secret_key(empty_database):
    env = _environment(empty_database, free_port())
    del env["SECRET_KEY"]
    refused = _flask(env, "db", "upgrade")
    assert refused.returncode != 0
    assert "SECRET_KEY is not set" in refused.stderr
