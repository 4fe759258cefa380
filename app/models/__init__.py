"""Typed SQLAlchemy models. They import nothing from services or web."""

from app.models.definitions import Bundle, DiskFile
from app.models.instances import INSTANCE_STATUSES, TASK_STATES, AuditEvent, HumanTask, ProcessInstance
from app.models.users import ApiToken, Department, Role, User

__all__ = [
    "INSTANCE_STATUSES", "TASK_STATES", "ApiToken", "AuditEvent", "Bundle", "Department", "DiskFile",
    "HumanTask", "ProcessInstance", "Role", "User",
]
