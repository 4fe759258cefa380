"""Health and the OpenAPI description."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from app.services.health import check_health
from app.web.api.blueprint import api

OPENAPI_PATH = Path(__file__).with_name("openapi.json")


@cache
def _openapi() -> dict:
    return json.loads(OPENAPI_PATH.read_text(encoding="utf-8"))


@api.get("/openapi.json")
def openapi_document() -> dict:
    return _openapi()


@api.get("/health")
def health() -> tuple[dict, int]:
    report = check_health()
    return {"status": report.status, "database": report.database, "pending_migrations": report.pending_migrations,
            "worker": report.worker}, 200 if report.status == "ok" else 503
