"""Domain errors. Only app/web/errors.py turns them into HTTP responses.

Messages are English message ids marked with ``msg()`` (a babel keyword), never finished text: the web layer
translates them with Flask-Babel, so services stay free of Flask and of any language.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, eq=True)
class Text:
    """A message id and its ``%(name)s`` parameters; ``str()`` gives the English text (logs, the CLI)."""

    msgid: str
    params: Mapping[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.msgid % self.params if self.params else self.msgid

    def __hash__(self) -> int:
        return hash((self.msgid, tuple(sorted((key, str(value)) for key, value in self.params.items()))))


class Bilingual(str):
    """A parameter that is a data label "中文 / English" (a form's or diagram's title): shown as one side."""


def msg(msgid: str, **params: Any) -> Text:
    """Mark an English message id for the catalog; the web layer says it in the reader's language."""
    return Text(msgid, params)


Message = Text | str  # a plain str is data that carries its own "中文 / English" (forms' rule messages)


class ServiceError(Exception):
    code = "error"

    def __init__(self, message: Message, *, errors: Mapping[str, Message] | None = None, **details: Any) -> None:
        super().__init__(str(message))
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


class InvalidFormError(InvalidRequestError):
    """Field values refused (422), the fields named in ``errors``; a page that catches InvalidRequestError
    to show its form again catches this too."""

    code = "invalid_form"


class InvalidDefinitionError(ServiceError):
    code = "invalid_definition"
