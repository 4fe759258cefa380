"""The JSON API under /api/v1: importing this package registers every route on ``api``."""

from app.web.api import (
    callback_plans,
    callers,
    definitions,
    handover,
    instances,
    notices,
    notifications,
    organisation,
    surveys,
    system,
    tasks,
    tickets,
)
from app.web.api.blueprint import api

__all__ = ["api", "callback_plans", "callers", "definitions", "handover", "instances", "notices", "notifications",
           "organisation", "surveys", "system", "tasks", "tickets"]
