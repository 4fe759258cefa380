"""Demo data for a new development database: one user per role of domain.md, projects and units.

The month of tickets played on them is `app/demo/simulation.py`.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from app.clock import Clock
from app.extensions import db
from app.models import Project, Unit, User
from app.models.knowledge import KnowledgeAnswer, QuickReply
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
    db.session.add_all(demo_knowledge())
    db.session.commit()
    return len(units)


def demo_owner() -> tuple[str, str, str] | None:
    """One demo owner to try the owner pages with: (name, mobile, unit), or None before the estate exists."""
    unit = db.session.scalars(select(Unit).where(Unit.owner_phone.is_not(None)).order_by(Unit.id)).first()
    if unit is None or unit.owner_phone is None:
        return None
    return unit.owner_name or "", unit.owner_phone, unit.code


def _demo_unit(rng: random.Random, project_key: str, code: str, handover: date) -> Unit:
    building, _, room = code.partition("-")
    return Unit(project_key=project_key, code=code, building=building, room=room,
                owner_name=rng.choice(SURNAMES) + rng.choice(GIVEN),
                owner_phone=f"1{rng.choice('3589')}{rng.randrange(10**9):09d}",
                handover_date=handover + timedelta(days=rng.randrange(0, 120)))


# The front desk's common answers (知识库) and quick replies (常用话术), as a CS supervisor would write them.
DEMO_ANSWERS: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = (
    ("物业费怎么交？", "物业费，缴费，交费，物业管理费，交物业", "收费",
     "物业费按季度预交，可通过以下方式缴纳：\n1. 微信搜索本小区物业服务公众号 → 生活缴费 → 物业费；\n"
     "2. 到物业服务中心前台刷卡或扫码（周一至周日 8:30–17:30）；\n3. 银行代扣：带身份证和银行卡到前台签约。\n"
     "逾期不收滞纳金，如需发票请在缴费后 30 天内到前台开具。", ()),
    ("装修申请要办哪些手续？", "装修，装修申请，装修许可，装修押金，开工", "装修",
     "装修前请到物业服务中心办理装修申请：\n1. 带房产证或购房合同复印件、业主身份证、装修公司营业执照和施工图；\n"
     "2. 签订《装修管理服务协议》，交装修押金 2000 元（验收合格后无息退还）；\n"
     "3. 审批约 3 个工作日，领取《装修许可证》后方可开工。\n"
     "施工时间：工作日 8:00–12:00、14:00–18:00，周末和节假日不得进行有噪音的施工。",
     ()),
    ("停车月卡怎么办理？", "停车，车位，月卡，停车卡，停车费，车辆登记", "停车",
     "地下车库月卡在物业服务中心办理：带行驶证、业主身份证（或租赁合同）登记车牌，月卡 300 元/月，"
     "可按季度或年度缴纳。访客车辆凭业主登记可免费停 2 小时，超时按 5 元/小时收费。", ()),
    ("门禁卡丢了怎么补办？", "门禁卡，门卡，补卡，丢卡，人脸识别", "门禁",
     "门禁卡遗失请业主本人带身份证到物业服务中心补办，工本费 20 元/张，当场可取；原卡会同时注销。"
     "已开通人脸识别的业主可在公众号“我的门禁”里重新录入人脸。", ()),
    ("家里停水停电了怎么办？", "停水，停电，没水，没电，跳闸，计划停水", "水电",
     "先看小区公告栏和公众号有无计划停水停电通知；如无通知，请检查户内空气开关是否跳闸、水表阀门是否打开。"
     "仍未恢复请记录为报修，工程部 30 分钟内响应；夜间由中控室通知值班工程师。", ()),
    ("快递放哪里，能送上门吗？", "快递，包裹，代收，快递柜，驿站", "生活服务",
     "小区大门东侧有快递柜和驿站（8:00–21:00），大件或生鲜可联系前台代收，"
     "物业可在 24 小时内免费送到家门口，请在公众号“生活服务”里预约。", ()),
    ("宠物管理有什么规定？", "宠物，养狗，遛狗，狗叫，犬只，牵绳", "社区管理",
     "犬只须在派出所登记并接种疫苗，外出必须牵绳，及时清理粪便；禁止饲养烈性犬。"
     "邻居反映狗叫或宠物扰民时，请记录为投诉，由客服上门沟通。", ("lanting", "binjiang")),
)
DEMO_QUICK_REPLIES: tuple[tuple[str, str], ...] = (
    ("已联系业主", "已电话联系业主，业主确认上述情况属实。"),
    ("预约上门", "已与业主预约上门时间，维修人员将按时到达，请业主届时在家。"),
    ("业主未接听", "拨打业主电话未接通，已发短信告知，稍后再次联系。"),
    ("等待配件", "所需配件已申请采购，预计到货后 2 个工作日内上门维修，届时提前电话通知。"),
    ("回访满意", "已回访业主，业主对处理结果表示满意，感谢业主的理解与配合。"),
    ("致歉", "给您带来不便非常抱歉，我们会尽快处理，处理进展会第一时间告知您。"),
)


def demo_knowledge() -> list[KnowledgeAnswer | QuickReply]:
    """The knowledge base's answers and the quick replies of the demo (added with the estate)."""
    now = datetime.now(UTC)
    answers: list[KnowledgeAnswer | QuickReply] = [
        KnowledgeAnswer(title=title, keywords=keywords, category=category, answer=text, project_keys=list(projects),
                        updated_at=now) for title, keywords, category, text, projects in DEMO_ANSWERS]
    return answers + [QuickReply(title=title, body=body, updated_at=now) for title, body in DEMO_QUICK_REPLIES]
