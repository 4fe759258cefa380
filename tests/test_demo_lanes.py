"""The demo users cover every lane of every shipped flow, in every department a lane can narrow to.

The test reads the diagrams as they ship: each user task's lane (its role), its ``department``
expression and the values that variable can take in its process (string literals a script assigns,
the choices of the form field a script copies, the department column of the decision tables the
process calls), and the people pickers of its form. A new lane, department or picker that the demo
users do not cover fails here, so `make run` never shows a task nobody can do.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from lxml import etree
from sqlalchemy import select

from app.config import PROJECT_ROOT
from app.demo.seed import create_demo_users
from app.extensions import db
from app.models import User

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
SPIFF = "{http://spiffworkflow.org/bpmn/schema/1.0/core}"
DMN = "{https://www.omg.org/spec/DMN/20191111/MODEL/}"
FORMS = {path.name: json.loads(path.read_text()) for path in (PROJECT_ROOT / "forms").glob("*.json")}
ASSIGNED = re.compile(r"^\s*department\s*=\s*(\"[a-z_]+\"|[a-z_]+)\s*$", re.M)


def field_choices(field: str) -> set[str]:
    return {str(choice["const"]) for form in FORMS.values()
            for name, spec in (form.get("properties") or {}).items() if name == field
            for choice in spec.get("oneOf", [])}


def decision_departments(decision_id: str) -> set[str]:
    """The values of the ``department`` output column of one decision table in bpmn/."""
    for path in (PROJECT_ROOT / "bpmn").glob("*.dmn"):
        tree = etree.parse(str(path))
        for decision in tree.iter("{*}decision"):
            if decision.get("id") != decision_id:
                continue
            outputs = [output.get("name") for output in decision.iter("{*}output")]
            if "department" not in outputs:
                return set()
            column = outputs.index("department")
            return {rule.findall("{*}outputEntry")[column].findtext("{*}text").strip().strip('"')
                    for rule in decision.iter("{*}rule")}
    return set()


def departments_of(process: etree._Element) -> set[str]:
    """Every value the variable ``department`` can take in this process."""
    found: set[str] = set()
    scripts = [node.text or "" for node in process.iter(f"{BPMN}script", f"{SPIFF}preScript", f"{SPIFF}postScript")]
    for value in ASSIGNED.findall("\n".join(scripts)):
        found |= {value.strip('"')} if value.startswith('"') else field_choices(value) if value != "None" else set()
    for called in process.iter(f"{SPIFF}calledDecisionId"):
        found |= decision_departments((called.text or "").strip())
    return found


def user_tasks(path: Path) -> list[tuple[str, str, str | None, str | None, set[str]]]:
    """(process, task, lane role, department expression, departments it can be) for each user task."""
    tree = etree.parse(str(path))
    tasks = []
    for process in tree.iter(f"{BPMN}process"):
        lane_of = {ref.text: lane.get("name") for lane in process.iter(f"{BPMN}lane")
                   for ref in lane.iter(f"{BPMN}flowNodeRef")}
        departments = departments_of(process)
        for task in process.iter(f"{BPMN}userTask"):
            properties = {p.get("name"): p.get("value") for p in task.iter(f"{SPIFF}property")}
            expression = properties.get("department")
            literal = re.fullmatch(r'\s*"([a-z_]+)"\s*', expression or "")  # department="property": that one
            tasks.append((process.get("id"), task.get("id"), lane_of.get(task.get("id")), expression,
                          {literal.group(1)} if literal else departments if expression else set(), properties))
    return tasks


SHIPPED_TASKS = [task for path in sorted((PROJECT_ROOT / "bpmn").glob("*.bpmn")) for task in user_tasks(path)]


def demo_places(app, clock) -> set[tuple[str, str | None]]:
    """(role, department) of every active demo user, with (role, None) for holding the role at all."""
    create_demo_users(clock)
    places: set[tuple[str, str | None]] = set()
    for user in db.session.scalars(select(User).where(User.is_active.is_(True))):
        for role in user.role_keys:
            places |= {(role, None)} | {(role, department) for department in user.department_keys}
    return places


def test_the_shipped_flows_narrow_lanes_to_departments_the_walk_can_see():
    narrowed = [task for task in SHIPPED_TASKS if task[3]]
    assert narrowed, "no user task narrows to a department: the walk reads nothing"
    for process, task, _lane, _expression, departments, _properties in narrowed:
        assert departments, f"{process}.{task}: the walk found no value for its department"
    assert {"engineering", "property"} <= {d for t in narrowed if t[0] == "repair" for d in t[4]}


def test_the_demo_users_have_someone_for_every_lane_and_department(app, clock):
    places = demo_places(app, clock)
    missing = sorted({(process, task, lane, department)
                      for process, task, lane, _expression, departments, _properties in SHIPPED_TASKS
                      for department in (departments or {None}) if (lane, department) not in places})
    assert missing == []


def test_the_demo_users_have_someone_for_every_people_picker_in_every_department(app, clock):
    places = demo_places(app, clock)
    missing = []
    for process, task, _lane, _expression, departments, properties in SHIPPED_TASKS:
        form = FORMS.get(properties.get("formJsonSchemaFilename") or "", {})
        for spec in (form.get("properties") or {}).values():
            if spec.get("x-widget") == "user":
                missing += [(process, task, spec["x-role"], department) for department in (departments or {None})
                            if (spec["x-role"], department) not in places]
    assert missing == []
    assert ("technician", "property") in places
