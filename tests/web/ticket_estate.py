"""The estate the ticket search and caller tests share: the fixture reception flow, two projects with a unit of the
same code, registered owners, and the intake of a call (what ``POST /api/v1/tickets`` is sent)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from app.services.people.organisation import create_project, create_unit

TICKET_FIXTURES = Path(__file__).parent.parent / "fixtures" / "tickets"
OWNER, OWNER_PHONE = "张伟", "13800138000"  # the registered owner of 兰亭苑 3栋-0102


def intake(**overrides: Any) -> dict[str, Any]:
    return {"project": "lanting", "unit": "3栋-0102", "caller_name": OWNER, "phone": OWNER_PHONE,
            "channel": "hotline", "category": "repair", "part": "plumbing", "description": "阳台地漏堵塞",
            "urgency": "normal", **overrides}


def set_up_estate(deploy: Callable[..., Any]) -> None:
    deploy({path.name: path.read_bytes() for path in TICKET_FIXTURES.iterdir()})
    create_project("lanting", "兰亭苑")
    create_project("binjiang", "滨江府")
    create_unit("lanting", "3栋-0102", owner_name=OWNER, owner_phone=OWNER_PHONE, handover_date=date(2024, 6, 1))
    create_unit("lanting", "5栋-0801", owner_name="王芳", owner_phone="13600136000")
    create_unit("binjiang", "3栋-0102", owner_name="赵六", owner_phone="13700137000")
