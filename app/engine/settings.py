"""The settings an admin may change (天数、比例、值班工程师、指标目标): declared once, with defaults.

Pure data, so the engine can offer ``setting("key")`` to scripts without a database (the flow tests
run on these defaults); ``app/services/settings.py`` stores the admin's values and validates edits.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

SettingValue = int | float | str
SettingsSource = Callable[[str], SettingValue]  # key -> current value; raises UnknownSettingError

INTEGER, FRACTION, USERNAME = "integer", "fraction", "username"


class UnknownSettingError(LookupError):
    """A key no setting declares (a typo in a diagram or a service). The message names the known keys."""

    def __init__(self, key: str) -> None:
        # args[0] is the message: SpiffWorkflow shows the admin "UnknownSettingError:" + args[0].
        super().__init__(f"没有名为 {key!r} 的设置 / no setting named {key!r}; "
                         f"known settings: {', '.join(sorted(DECLARED_SETTINGS))}")
        self.key = key


@dataclass(frozen=True)
class SettingSpec:
    """One setting: its type, default and bounds, and what the admin page says about it."""

    key: str
    kind: str  # integer | fraction | username
    default: SettingValue
    label_zh: str
    label_en: str
    help_zh: str
    help_en: str
    minimum: float | None = None
    maximum: float | None = None
    unit_zh: str = ""
    unit_en: str = ""


def _spec(key: str, kind: str, default: SettingValue, labels: tuple[str, str], helps: tuple[str, str],
          bounds: tuple[float | None, float | None] = (None, None), units: tuple[str, str] = ("", "")) -> SettingSpec:
    return SettingSpec(key, kind, default, labels[0], labels[1], helps[0], helps[1], bounds[0], bounds[1],
                       units[0], units[1])


_DAYS, _HOURS, _TIMES, _PERCENT = ("天", "days"), ("小时", "hours"), ("次", "times"), ("%", "%")

_SPECS = (
    _spec("duplicate_window_days", INTEGER, 30, ("重复派单时间窗", "Duplicate window"),
          ("同一房号、同一类别在此天数内再次来电，合并到原工单；仍另行派单的计为重复派单。",
           "A call about the same unit and category within this many days is attached to the earlier ticket; "
           "one dispatched again counts as a duplicate dispatch."),
          (1, 365), _DAYS),
    _spec("repeat_repair_window_days", INTEGER, 90, ("返修统计时间窗", "Repeat-repair window"),
          ("同一房号、同一部位在上次维修完成后此天数内再次报修，计为返修。",
           "A repair of the same unit and part within this many days after a finished one is a repeat repair."),
          (1, 730), _DAYS),
    _spec("reminder_fraction", FRACTION, 0.8, ("到期提醒点", "Reminder point"),
          ("时限用去此比例时提醒处理人（0.8 即 80 %）。",
           "The assignee is reminded when this share of the time limit has passed (0.8 = 80 %)."),
          (0.1, 0.99)),
    _spec("level3_extra_fraction", FRACTION, 0.5, ("三级升级点", "Level-3 escalation point"),
          ("超时后再过时限的此比例，升级到第三级（0.5 即超时 50 %）。",
           "Escalate to level 3 when the deadline is overrun by this share of the limit (0.5 = +50 %)."),
          (0.1, 5)),
    _spec("consultation_reply_hours", INTEGER, 24, ("咨询答复时限", "Consultation reply time"),
          ("咨询类来电须在此小时数内答复业主。", "A consultation is answered within this many hours."),
          (1, 240), _HOURS),
    _spec("pause_cap_days", INTEGER, 3, ("暂停上限", "Pause limit"),
          ("工单暂停（等配件、业主不在家）超过此天数，须主管批准。",
           "A pause (waiting for parts, owner away) longer than this needs the supervisor's approval."),
          (1, 60), _DAYS),
    _spec("callback_due_hours", INTEGER, 24, ("回访时限", "Callback time limit"),
          ("办结后此小时数内完成回访。", "The callback is made within this many hours of closing."),
          (1, 168), _HOURS),
    _spec("callback_retry_hours", INTEGER, 4, ("回访重拨间隔", "Callback retry interval"),
          ("回访未接通，隔此小时数（工作时间）再拨。",
           "An unanswered callback is tried again after this many (working) hours."),
          (1, 72), _HOURS),
    _spec("callback_tries", INTEGER, 3, ("回访次数", "Callback tries"),
          ("回访最多拨打此次数，仍未接通则记为未回访。",
           "A callback is tried at most this many times before it counts as not reached."),
          (1, 10), _TIMES),
    _spec("chase_escalate_after", INTEGER, 2, ("催办升级次数", "Chases before escalation"),
          ("未结工单每被催办此次数，升级一级（通知上一级负责人）。",
           "An open ticket is escalated one level each time it has been chased this many times."),
          (1, 20), _TIMES),
    _spec("engineer_on_call", USERNAME, "", ("值班工程师", "Engineer on call"),
          ("夜间紧急报修即时通知此人（用户名）；留空表示未指定，只通知客服主管。",
           "Night emergencies alert this person (a username) at once; empty = nobody, only the CS supervisor."),
          ),
    _spec("session_idle_minutes", INTEGER, 480, ("会话闲置时限", "Session idle limit"),
          ("员工登录后闲置超过此分钟数须重新登录。",
           "A staff session unused for this many minutes must sign in again."),
          (5, 24 * 60), ("分钟", "minutes")),
    _spec("owner_link_valid_hours", INTEGER, 72, ("业主链接有效期", "Owner link validity"),
          ("短信中发给业主的个人链接在此小时数内可用于登录（仅限一次）。",
           "A personal link texted to an owner signs them in once within this many hours."),
          (1, 30 * 24), ("小时", "hours")),
    _spec("step_cpu_seconds", FRACTION, 1.0, ("单步计算时限", "CPU time per step"),
          ("流程图中的脚本、网关条件、决策表与定时表达式，每一步合计最多使用此秒数的 CPU；超出时该步失败，"
           "实例转为“出错”并保留上一步状态。",
           "Scripts, gateway conditions, decision tables and timer expressions may use at most this much CPU "
           "per step together; past it the step fails and the instance goes to error, keeping its previous state."),
          (0.1, 30), ("秒", "seconds")),
    _spec("instance_data_max_kb", INTEGER, 1024, ("实例数据上限", "Instance data limit"),
          ("一个实例保存的状态（序列化后）最多此千字节数；脚本中单个值也不得超过此大小。超出时该步失败，实例转为“出错”。",
           "The saved state of an instance (serialized) may hold at most this many kilobytes, and no single value "
           "a script builds may be larger; past it the step fails and the instance goes to error."),
          (64, 64 * 1024), ("KB", "KB")),
    _spec("target_closure_rate", INTEGER, 100, ("办结率目标", "Closure rate target"),
          ("看板上办结率旁显示的目标（制度 004：100 %）。", "Shown beside the closure rate (seed 004: 100 %)."),
          (0, 100), _PERCENT),
    _spec("target_on_time_rate", INTEGER, 100, ("及时率目标", "On-time rate target"),
          ("看板上及时率旁显示的目标（制度 004：100 %）。", "Shown beside the on-time rate (seed 004: 100 %)."),
          (0, 100), _PERCENT),
    _spec("target_satisfaction_rate", INTEGER, 98, ("满意率目标", "Satisfaction rate target"),
          ("看板上满意率旁显示的目标（制度 004：≥ 98 %）。", "Shown beside the satisfaction rate (seed 004: ≥ 98 %)."),
          (0, 100), _PERCENT),
)

DECLARED_SETTINGS: MappingProxyType[str, SettingSpec] = MappingProxyType({spec.key: spec for spec in _SPECS})


def declared(key: str) -> SettingSpec:
    """The declaration of ``key``; raise UnknownSettingError."""
    try:
        return DECLARED_SETTINGS[key]
    except KeyError:
        raise UnknownSettingError(key) from None


def default_setting(key: str) -> SettingValue:
    """The declared default: what ``setting()`` answers when no database is behind the engine."""
    return declared(key).default


_SETTING_CALL = re.compile(r"""\bsetting\(\s*(["'])(.*?)\1\s*\)""")


def undeclared_setting_keys(text: str | None) -> list[str]:
    """The keys of ``setting("...")`` calls in an expression, script or template that no setting declares."""
    return [match.group(2) for match in _SETTING_CALL.finditer(text or "") if match.group(2) not in DECLARED_SETTINGS]


def as_setting_value(spec: SettingSpec, value: Any) -> SettingValue:
    """A stored JSON value as the setting's type (an integer stored as 3.0 reads as 3)."""
    if spec.kind == INTEGER:
        return int(value)
    if spec.kind == FRACTION:
        return float(value)
    return str(value)
