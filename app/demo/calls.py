"""What callers say in the demo month: the tickets' contents, when the calls come and the rare paths they take."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from app.extensions import db
from app.models import Unit
from app.services.errors import NotFoundError

CATEGORY_WEIGHTS = {"repair": 40, "consultation": 22, "life_service": 13, "complaint": 13, "suggestion": 4,
                    "praise": 4, "other": 4}
CHANNEL_WEIGHTS = {"hotline": 70, "online": 15, "walk_in": 12, "email": 2, "fax": 1}
# description, part, emergency
UNIT_REPAIRS = (
    ("卫生间地面渗水，楼下天花板有水渍。", "kitchen_bathroom_waterproof", False),
    ("顶层卧室天花板渗漏，下雨天往下滴水。", "roof_waterproof", False),
    ("外墙渗水，客厅墙面发霉起皮。", "exterior_wall", False),
    ("厨房水管爆裂，水流不止，已关总阀。", "plumbing", True),
    ("马桶下水堵塞，地漏反水。", "plumbing", False),
    ("地暖不热，分水器有异响。", "heating_cooling", False),
    ("客厅插座跳闸，半个屋子停电。", "electrical", True),
    ("入户门锁坏了，钥匙拧不动。", "other", False),
    ("木地板起拱开裂。", "decoration", False),
    ("阳台推拉门变形，关不严。", "decoration", False),
    ("热水器安装位置漏水。", "equipment", False),
    ("厨房墙砖空鼓脱落。", "decoration", False),
)
# area, description, part, emergency
COMMON_REPAIRS = (
    ("1栋电梯", "1栋电梯故障，有人被困在轿厢里。", "equipment", True),
    ("1栋电梯", "电梯运行时有异响，门关不严。", "equipment", False),
    ("地下车库", "地下车库顶板渗水，车被淋湿。", "roof_waterproof", False),
    ("中心花园", "中心花园路灯不亮，晚上很黑。", "electrical", False),
    ("小区大门", "小区大门道闸无法抬杆。", "equipment", False),
    ("会所", "会所卫生间水龙头一直滴水。", "plumbing", False),
)
# description, complaint type, department, hot spot, root cause, cause, solution
COMPLAINTS = (
    ("楼上装修噪音扰民，早上七点就开始电钻。", "property_service", "property", "noise", "property_management",
     "装修巡查不到位，未按规定时间施工。", "约谈装修户，限定施工时间，加强巡查。"),
    ("卫生间渗漏报修两次仍未修好。", "leak_crack", "engineering", "leak_crack", "product_quality",
     "防水层破损，前两次只做了表面处理。", "重做卫生间防水，闭水试验 48 小时。"),
    ("地下车库雨天积水，物业处理不及时。", "property_service", "property", "car_park_flooding",
     "property_management", "排水泵故障未及时发现。", "更换排水泵，雨天安排专人值守。"),
    ("保安夜间不巡逻，单元门经常开着。", "property_service", "property", "security", "service_attitude",
     "夜班人员脱岗。", "调整夜班排班，单元门加装闭门器。"),
    ("小区绿化长期无人修剪，杂草丛生。", "property_service", "property", "landscaping", "property_management",
     "园林班组人手不足。", "本周内完成修剪，制定每月养护计划。"),
    ("外墙瓷砖开裂脱落，存在安全隐患。", "safety", "engineering", "leak_crack", "product_quality",
     "外墙饰面粘结不牢。", "拉设警戒线，搭吊篮逐块检查并重新粘贴。"),
    ("垃圾清运不及时，楼道有异味。", "property_service", "property", "cleaning", "property_management",
     "清运车辆调度延误。", "改为每日两次清运，楼道消毒。"),
    ("新房墙面多处裂缝，交房时没发现。", "leak_crack", "engineering", "leak_crack", "product_quality",
     "墙体抹灰收缩裂缝。", "开槽修补后重新刷漆。"),
)
# description, answer on the spot, department to forward to when it cannot be answered
CONSULTATIONS = (
    ("物业费怎么交，截止到哪天？", "可在物业 App、前台或银行代扣缴纳，本季度截止到月底。", "property"),
    ("装修需要办什么手续，押金怎么退？", "到前台办理装修登记，验收合格后 30 天内退还押金。", "property"),
    ("停车位月租怎么办理？", "带行驶证到前台登记，月租 300 元。", "property"),
    ("小区什么时候停水检修？", "本周四 9:00-15:00 停水，已在各单元张贴通知。", "property"),
    ("门禁卡丢了怎么补办？", "带身份证到前台补办，工本费 20 元。", "property"),
    ("房子的防水保修到什么时候？", "防水保修 5 年，自交房之日起算。", "engineering"),
    ("想加装阳台窗户，需要报批吗？", "需提交图纸到工程部审核。", "engineering"),
)
LIFE_SERVICES = (
    ("快递代收，这周末家里没人。", "已登记，快递放前台，业主凭取件码领取。"),
    ("需要预约家政保洁，周六上午。", "已安排周六 9 点保洁两人上门。"),
    ("钥匙寄存，亲戚下午来取。", "钥匙已寄存前台，核对身份后交给亲戚。"),
    ("预约搬家，需要临时开放货梯。", "已安排周日上午货梯专用，并铺设保护板。"),
    ("代订桶装水两桶。", "已联系送水公司，下午送到。"),
    ("家里空调要清洗，请推荐师傅。", "已预约合作商家明天上门清洗。"),
)
# description, department
FORWARDS = {
    "suggestion": (("建议中心花园增加儿童游乐设施。", "property"), ("建议地下车库增设电动车充电桩。", "engineering"),
                   ("建议快递柜延长开放时间。", "property")),
    "praise": (("感谢郑师傅上门及时、态度好。", "engineering"), ("表扬保洁阿姨，楼道打扫得很干净。", "property"),
               ("感谢保安帮忙把老人送回家。", "property")),
    "other": (("楼下商铺油烟很大，不知道该找谁。", "property"), ("捡到一个钱包，交到前台。", "property")),
}
# Rare paths, and the share of tickets (of the category) that take them.
FATES = {
    "repair": {"slow": 0.12, "stalled": 0.05, "rework": 0.05, "parts": 0.08, "reschedule": 0.05,
               "quote_refused": 0.04, "withdrawn": 0.02, "retry": 0.1, "unreachable": 0.01},
    "complaint": {"slow": 0.15, "stalled": 0.08, "invalid": 0.1, "withdrawn": 0.04, "sent_back": 0.08,
                  "revise": 0.25, "retry": 0.1, "unreachable": 0.01, "dissatisfied": 0.05},
    "consultation": {"forward": 0.25, "slow": 0.2, "dissatisfied": 0.03},
    "life_service": {"slow": 0.1, "retry": 0.1, "unreachable": 0.01, "dissatisfied": 0.03},
}


@dataclass
class Call:
    """What a caller says, and how the ticket will go (the rare paths it takes)."""

    at: datetime
    intake: dict[str, Any]
    content: tuple[Any, ...]
    fates: set[str]


@dataclass
class Case:
    """A call become a ticket, as the simulation follows it."""

    call: Call
    ticket_id: int
    instance_id: int
    done: Counter[str] = field(default_factory=Counter)  # completions per element id
    seen: Counter[str] = field(default_factory=Counter)  # tasks per element id (a timer may cancel one)
    planned: set[str] = field(default_factory=set)  # task ids with an action queued
    timers: set[datetime] = field(default_factory=set)  # timer due times with a firing queued
    appointment: datetime | None = None  # when the technician will call at the unit
    next_timer_at: datetime | None = None  # as the instance row says after the case's last step

    def first(self, element_id: str) -> bool:
        return self.done[element_id] == 0


def plan_calls(rng: random.Random, start: datetime, end: datetime, zone: ZoneInfo, per_day: int) -> list[Call]:
    """About ``per_day`` calls a day between ``start`` and ``end`` (fewer at weekends), in time order."""
    units = list(db.session.scalars(select(Unit).order_by(Unit.id)))
    homes = [unit for unit in units if not unit.is_common_area and unit.owner_phone]
    if not homes:
        raise NotFoundError("没有业主单元 / no units with owners: demo tickets need the demo estate")
    calls = []
    day = start.astimezone(zone).date()
    while day <= end.astimezone(zone).date():
        count = max(1, round(rng.gauss(per_day * (0.7 if day.weekday() >= 5 else 1.05), 2.5)))
        for _ in range(count):
            at = datetime.combine(day, _call_time(rng), zone).astimezone(UTC)
            if start < at < end - timedelta(minutes=5):
                calls.append(_call(rng, at, homes, units))
        day += timedelta(days=1)
    calls.sort(key=lambda call: call.at)
    _ensure_rare_paths(rng, calls, end)
    return calls


def _call_time(rng: random.Random) -> time:
    """Busy mornings and afternoons; one call in eight at night."""
    if rng.random() < 0.12:
        hour = rng.choice((20, 20, 21, 21, 22, 23, 0, 1, 5, 6, 7, 7))
    else:
        hour = rng.choice((8, 9, 9, 10, 10, 10, 11, 11, 12, 13, 14, 14, 15, 15, 16, 16, 17, 18, 19))
    return time(hour, rng.randrange(60), rng.randrange(60))


def _call(rng: random.Random, at: datetime, homes: list[Unit], units: list[Unit]) -> Call:
    category = rng.choices(list(CATEGORY_WEIGHTS), weights=list(CATEGORY_WEIGHTS.values()))[0]
    home = rng.choice(homes)
    unit = home
    extra: dict[str, Any] = {}
    content: tuple[Any, ...] = ()
    if category == "repair" and rng.random() < 0.12:
        area, description, part, emergency = rng.choice(COMMON_REPAIRS)
        unit = next(u for u in units if u.project_key == home.project_key and u.code == area)
        content = (description,)
        extra = {"part": part, "emergency": emergency, "major_repair": part == "roof_waterproof"}
    elif category == "repair":
        description, part, emergency = rng.choice(UNIT_REPAIRS)
        content, extra = (description,), {"part": part, "emergency": emergency}
    elif category == "complaint":
        content = rng.choice(COMPLAINTS)
        extra = {"complaint_type": content[1], "emergency": False}
    elif category == "consultation":
        content = rng.choice(CONSULTATIONS)
    elif category == "life_service":
        content = rng.choice(LIFE_SERVICES)
    else:
        content = rng.choice(FORWARDS[category])
    emergency = bool(extra.get("emergency"))
    intake = {"project": unit.project_key, "unit": unit.code, "caller_name": home.owner_name,
              "phone": home.owner_phone, "category": category, "description": content[0],
              "channel": "hotline" if emergency else rng.choices(list(CHANNEL_WEIGHTS),
                                                                 weights=list(CHANNEL_WEIGHTS.values()))[0],
              "urgency": "urgent" if emergency or rng.random() < 0.15 else "normal", "emergency": False, **extra}
    fates = {fate for fate, share in FATES.get(category, {}).items() if rng.random() < share}
    return Call(at, intake, content, fates)


def _ensure_rare_paths(rng: random.Random, calls: list[Call], end: datetime) -> None:
    """At least two settled tickets of each rare path, whatever the dice said."""
    settled = [call for call in calls if call.at < end - timedelta(days=8) and "stalled" not in call.fates]
    for fate, categories in (("rework", ("repair",)), ("dissatisfied", ("complaint", "life_service")),
                             ("unreachable", ("repair", "life_service")), ("slow", ("repair", "complaint"))):
        have = sum(call.fates == {fate} for call in settled)  # a single rare path surely plays out
        candidates = [call for call in settled if call.intake["category"] in categories and not call.fates]
        for call in rng.sample(candidates, max(0, min(2 - have, len(candidates)))):
            call.fates.add(fate)

