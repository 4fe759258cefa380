"""The only package that imports SpiffWorkflow. Callers use these names and plain values."""

from app.engine.bundles import BundlePlan, CompiledBundle, compile_bundle, parse_count, plan_bundles
from app.engine.library import Library, read_library
from app.engine.problems import (
    DefinitionError,
    EngineRunError,
    Problem,
    RunError,
    TaskNotFoundError,
    TaskNotReadyError,
)
from app.engine.runtime import Engine, StepResult, UserTaskView
from app.engine.serialization import UnknownSpecError

__all__ = [
    "BundlePlan", "CompiledBundle", "DefinitionError", "Engine", "EngineRunError", "Library", "Problem",
    "RunError", "StepResult", "TaskNotFoundError", "TaskNotReadyError", "UnknownSpecError", "UserTaskView",
    "compile_bundle", "parse_count", "plan_bundles", "read_library",
]
