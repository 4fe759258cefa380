"""Demo data for a new development database: one user per role of domain.md."""

from __future__ import annotations

from sqlalchemy import select

from app.clock import Clock
from app.extensions import db
from app.models import User
from app.services.users import create_user

# Fixed on purpose: printed on screen by `flask demo`, refused outside development.
DEMO_PASSWORD = "kefu-demo-2026"  # noqa: S105 - a documented demo password, development only

DEMO_USERS: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("agent", "王丽 (客服专员)", ("cs_agent",), ()),
    ("night", "李强 (中控室保安)", ("night_security",), ()),
    ("supervisor", "陈静 (客服主管)", ("cs_supervisor",), ()),
    ("eng_owner", "赵工 (工程部责任人)", ("dept_owner",), ("engineering",)),
    ("prop_owner", "孙敏 (物业责任人)", ("dept_owner",), ("property",)),
    ("head", "周总 (部门领导)", ("dept_head",), ("engineering", "property")),
    ("eng_super", "吴工 (工程部主管)", ("eng_supervisor",), ("engineering",)),
    ("tech", "郑师傅 (维修人员)", ("technician",), ("engineering",)),
    ("manager", "冯经理 (物业经理)", ("property_manager",), ()),
    ("designer", "何设计 (流程设计)", ("designer",), ()),
    ("admin", "系统管理员", ("admin",), ()),
)


def create_demo_users(clock: Clock) -> list[User]:
    if db.session.scalars(select(User).limit(1)).first() is not None:
        return []
    return [create_user(username, password=DEMO_PASSWORD, roles=roles, departments=departments,
                        display_name=name, clock=clock)
            for username, name, roles, departments in DEMO_USERS]
