"""Domain errors. Only app/web/errors.py turns them into HTTP responses."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class ServiceError(Exception):
    code = "error"

    def __init__(self, message: str, *, errors: Mapping[str, str] | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.errors = dict(errors or {})
        self.details = details


class UnauthorizedError(ServiceError):
    code = "unauthorized"


class ForbiddenError(ServiceError):
    code = "forbidden"


class NotFoundError(ServiceError):
    code = "not_found"


class ConflictError(ServiceError):
    code = "conflict"


class TaskNotOpenError(ConflictError):
    code = "task_not_open"


class TaskClaimedError(ConflictError):
    code = "task_claimed"


class InstanceNotActiveError(ConflictError):
    code = "instance_not_active"


class InvalidRequestError(ServiceError):
    code = "invalid_request"


class InvalidFormError(ServiceError):
    code = "invalid_form"


class InvalidDefinitionError(ServiceError):
    code = "invalid_definition"
