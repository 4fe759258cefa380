"""The only package that imports SpiffWorkflow. Callers use these names and plain values.

Services import from here, never from a submodule (the `services-engine-facade` contract of `.importlinter`).
"""

from app.engine.bundles import BundlePlan, CompiledBundle, compile_bundle, parse_count, plan_bundles
from app.engine.diff import FileDiff, diff_files
from app.engine.form_schema import (
    MAX_JSON_DEPTH,
    JsonTooDeepError,
    PatternError,
    load_json,
    local_registry,
    matches_pattern,
)
from app.engine.instructions import render as fill_instructions
from app.engine.library import BPMN_NS, DMN_NAMESPACES, Library, read_library
from app.engine.problems import (
    DefinitionError,
    EngineRunError,
    MessageNotAwaitedError,
    Problem,
    RunError,
    TaskNotFoundError,
    TaskNotReadyError,
)
from app.engine.repairs import MigrationRefusedError, instance_map, migrate, migration_problems, set_task_data
from app.engine.review import not_runnable, read_drafts, review_library
from app.engine.runtime import Engine, StepResult, UserTaskView
from app.engine.scripting import (
    ScriptCompileError,
    compile_expression,
    compile_script,
    evaluate_constant,
    expression_names,
)
from app.engine.serialization import UnknownSpecError
from app.engine.settings import (
    DECLARED_SETTINGS,
    FRACTION,
    INTEGER,
    USERNAME,
    SettingSpec,
    SettingValue,
    as_setting_value,
    declared,
)
from app.engine.timers import TimerValueError, parse_timer_value
from app.engine.waits import fire_timer_now
from app.engine.working_time import DEFAULT_OFFICE_HOURS, OfficeHours, WorkingCalendar
from app.engine.xml import MAX_XML_BYTES, UnsafeXmlError, parse_xml

__all__ = [
    "BPMN_NS", "DECLARED_SETTINGS", "DEFAULT_OFFICE_HOURS", "DMN_NAMESPACES", "FRACTION", "INTEGER",
    "MAX_JSON_DEPTH", "MAX_XML_BYTES", "USERNAME", "BundlePlan", "CompiledBundle", "DefinitionError", "Engine",
    "EngineRunError", "FileDiff", "JsonTooDeepError", "Library", "MessageNotAwaitedError",
    "MigrationRefusedError", "OfficeHours",
    "PatternError", "Problem", "RunError", "ScriptCompileError", "SettingSpec", "SettingValue", "StepResult",
    "TaskNotFoundError", "TaskNotReadyError", "TimerValueError", "UnknownSpecError", "UnsafeXmlError",
    "UserTaskView", "WorkingCalendar", "as_setting_value", "compile_bundle", "compile_expression", "compile_script",
    "declared", "diff_files", "evaluate_constant", "expression_names", "fill_instructions", "fire_timer_now",
    "instance_map", "load_json",
    "local_registry", "matches_pattern", "migrate", "migration_problems", "not_runnable", "parse_count",
    "parse_timer_value", "parse_xml", "plan_bundles", "read_drafts", "read_library", "review_library",
    "set_task_data",
]
