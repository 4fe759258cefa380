"""Typed SQLAlchemy models. They import nothing from services or web."""

from app.models.definitions import Bundle, DiskFile
from app.models.instances import AuditEvent, HumanTask, ProcessInstance
from app.models.states import (
    ACTIVE_STATUSES,
    FINISHED_STATUSES,
    UNFINISHED_STATUSES,
    HumanTaskState,
    InstanceStatus,
    JobKind,
    OutboxStatus,
    TicketStage,
)
from app.models.tickets import Project, Ticket, TicketCounter, Unit, user_projects
from app.models.users import ApiToken, Department, Role, User

# Registered with the metadata (migrations, create_all); import their classes from the module itself.
from app.models import admin, calendar, designer, jobs, reports, settings  # noqa: F401  isort: skip
from app.models import knowledge  # noqa: F401  isort: skip
from app.models import owners  # noqa: F401  isort: skip
from app.models import outreach  # noqa: F401  isort: skip
from app.models import notices  # noqa: F401  isort: skip
from app.models import handover  # noqa: F401  isort: skip

__all__ = [
    "ACTIVE_STATUSES", "FINISHED_STATUSES", "UNFINISHED_STATUSES",
    "ApiToken", "AuditEvent", "Bundle", "Department", "DiskFile",
    "HumanTask", "HumanTaskState", "InstanceStatus", "JobKind", "OutboxStatus", "ProcessInstance", "Project",
    "Role", "Ticket", "TicketCounter", "TicketStage", "Unit", "User", "user_projects",
]
