"""Health and the OpenAPI description."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any, cast

from app.services.health import check_health
from app.services.ops.readiness import check_readiness
from app.web.api.blueprint import api
from app.web.context import runtime

OPENAPI_PATH = Path(__file__).with_name("openapi.json")


@cache
def _openapi() -> dict[str, Any]:
    return cast(dict[str, Any], json.loads(OPENAPI_PATH.read_text(encoding="utf-8")))


@api.get("/openapi.json")
def openapi_document() -> dict[str, Any]:
    return _openapi()


@api.get("/health")
def health() -> tuple[dict[str, Any], int]:
    report = check_health(now=runtime().clock.now())  # the app's clock: tests move it
    return {"status": report.status, "database": report.database, "pending_migrations": report.pending_migrations,
            "worker": report.worker}, 200 if report.status == "ok" else 503


@api.get("/ready")
def ready() -> tuple[dict[str, Any], int]:
    """Readiness (a load balancer's question), apart from liveness (/health): database up, migrations at head."""
    report = check_readiness()
    return {"ready": report.ready, "reason": report.reason, "database_revisions": list(report.database_revisions),
            "head_revisions": list(report.head_revisions)}, 200 if report.ready else 503
