"""无人可处理的任务: open tasks that no active user may do, with the reason and a link to reassign them."""

from __future__ import annotations

from typing import Any

from flask import render_template

from app.services.access import may_manage
from app.services.people.organisation import visible_projects
from app.services.work.staffing import ROLE_NAMES, supervisor_of, unstaffed_tasks
from app.web.context import me, require


@require(may_manage)
def unstaffed() -> Any:
    tasks = unstaffed_tasks(visible=visible_projects(me()))
    return render_template("admin/unstaffed.html", tasks=tasks, supervisor_of=supervisor_of,
                           role_name=lambda role: ROLE_NAMES.get(role or "", role or "—"))
