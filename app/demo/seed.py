"""Demo data for a new development database: one user per role of domain.md, projects and units.

The month of tickets played on them is `app/demo/simulation.py`.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from sqlalchemy import select

from app.clock import Clock
from app.extensions import db
from app.models import Project, Unit, User
from app.services.people.users import create_user

# Departments: every lane of every flow has a person in every department it can narrow to (tests/
# test_demo_lanes.py walks the diagrams): the property department's owner also runs life services, the
# department head leads all five, the engineering supervisor also dispatches the property's own maintenance
# (repairs outside warranty) to the property's technician.
# Fixed on purpose: printed on screen by `flask demo`, refused outside development.
DEMO_PASSWORD = "kefu-demo-2026"  # noqa: S105 - a documented demo password, development only

DEMO_USERS: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("agent", "王丽 (客服专员)", ("cs_agent",), ()),
    ("night", "李强 (中控室保安)", ("night_security",), ()),
    ("supervisor", "陈静 (客服主管)", ("cs_supervisor",), ()),
    ("eng_owner", "赵工 (工程部责任人)", ("dept_owner",), ("engineering",)),
    ("design_owner", "钱工 (设计部责任人)", ("dept_owner",), ("design",)),
    ("sales_owner", "林娜 (营销部责任人)", ("dept_owner",), ("sales",)),
    ("prop_owner", "孙敏 (物业责任人)", ("dept_owner",), ("property", "service")),
    ("head", "周总 (部门领导)", ("dept_head",), ("engineering", "design", "sales", "property", "service")),
    ("eng_super", "吴工 (工程部主管)", ("eng_supervisor",), ("engineering", "property")),
    ("tech", "郑师傅 (维修人员)", ("technician",), ("engineering",)),
    ("prop_tech", "杨师傅 (物业维修人员)", ("technician",), ("property",)),
    ("manager", "冯经理 (物业经理)", ("property_manager",), ()),
    ("designer", "何设计 (流程设计)", ("designer",), ()),
    ("admin", "系统管理员", ("admin",), ()),
)


# Mobiles of the people a night emergency texts: the CS supervisor and the engineers who may be on call.
DEMO_PHONES = {"supervisor": "13800138001", "eng_super": "13800138002", "tech": "13800138003",
               "prop_tech": "13800138004"}


def create_demo_users(clock: Clock) -> list[User]:
    if db.session.scalars(select(User).limit(1)).first() is not None:
        return []
    return [create_user(username, password=DEMO_PASSWORD, roles=roles, departments=departments,
                        display_name=name, phone=DEMO_PHONES.get(username), clock=clock)
            for username, name, roles, departments in DEMO_USERS]


DEMO_PROJECTS = (("lanting", "兰亭苑", "杭州", date(2019, 6, 30)), ("binjiang", "滨江府", "杭州", date(2022, 12, 28)),
                 ("cuihu", "翠湖花园", "苏州", date(2016, 9, 1)))
COMMON_AREAS = ("地下车库", "中心花园", "1栋电梯", "小区大门", "会所")
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = ("伟", "芳", "娜", "敏", "静", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英", "霞")


def create_demo_estate(seed: int = 2026) -> int:
    """Three projects with their units and common areas; returns how many units were made."""
    if db.session.scalars(select(Project).limit(1)).first() is not None:
        return 0
    rng = random.Random(seed)  # noqa: S311 - demo data, reproducible on purpose
    units = []
    for key, name, city, handover in DEMO_PROJECTS:
        db.session.add(Project(key=key, name=name, city=city))
        for building in range(1, 7):
            for floor in range(1, 19, 3):
                for room in (1, 2):
                    units.append(_demo_unit(rng, key, f"{building}栋-{floor:02d}{room:02d}", handover))
        units += [Unit(project_key=key, code=area, is_common_area=True, handover_date=handover)
                  for area in COMMON_AREAS]
    db.session.add_all(units)
    db.session.commit()
    return len(units)


def _demo_unit(rng: random.Random, project_key: str, code: str, handover: date) -> Unit:
    building, _, room = code.partition("-")
    return Unit(project_key=project_key, code=code, building=building, room=room,
                owner_name=rng.choice(SURNAMES) + rng.choice(GIVEN),
                owner_phone=f"1{rng.choice('3589')}{rng.randrange(10**9):09d}",
                handover_date=handover + timedelta(days=rng.randrange(0, 120)))
