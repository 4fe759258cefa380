"""What the engine says when a definition or an instance goes wrong: plain values, no SpiffWorkflow."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    """One reason a set of definition files is refused."""

    file: str
    element_id: str | None
    message: str


class DefinitionError(Exception):
    """The set of files cannot be deployed; ``problems`` lists every reason found."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.file}:{p.element_id or '-'}: {p.message}" for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class RunError:
    """A run-time failure of a script, condition or timer, with where it happened."""

    message: str
    element_id: str | None = None
    line: int | None = None
    trace: tuple[str, ...] = field(default_factory=tuple)


class EngineRunError(Exception):
    """Running the workflow failed; the instance must go to ``error`` with ``details``."""

    def __init__(self, details: RunError) -> None:
        super().__init__(details.message)
        self.details = details


class TaskNotFoundError(LookupError):
    """No task with this id in the instance."""


class TaskNotReadyError(Exception):
    """The task exists but is not a READY human task."""


class MessageNotAwaitedError(LookupError):
    """No catch event of the instance waits for this message now."""
