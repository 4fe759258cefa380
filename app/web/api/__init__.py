"""The JSON API under /api/v1: importing this package registers every route on ``api``."""

from app.web.api import callers, definitions, instances, notifications, organisation, system, tasks, tickets
from app.web.api.blueprint import api

__all__ = ["api", "callers", "definitions", "instances", "notifications", "organisation", "system", "tasks", "tickets"]
