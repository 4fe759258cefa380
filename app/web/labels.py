"""What the codes stored on tickets read as on screen, in both languages ("中文 / English")."""

from __future__ import annotations

from flask import g

from app.services.people.users import display_names, role_titles
from app.web.context import project_name
from app.web.i18n import bilingual

CODE_LABELS: dict[str, dict[str, str]] = {
    "category": {
        "repair": "维修 / Repair", "complaint": "投诉 / Complaint", "consultation": "咨询 / Consultation",
        "life_service": "生活服务 / Life service", "suggestion": "建议 / Suggestion", "praise": "表扬 / Praise",
        "other": "其它 / Other",
    },
    "stage": {
        "intake": "受理 / Intake", "night_hold": "夜间待交接 / Night hold", "consultation": "咨询 / Consultation",
        "forwarded": "已转部门 / Forwarded", "validity": "有效性判定 / Validity", "dispatch": "派工 / Dispatch",
        "investigation": "调查 / Investigation", "solution": "方案 / Solution", "approval": "审批 / Approval",
        "implementation": "实施 / Implementation", "owner_confirmation": "业主确认 / Owner confirmation",
        "appointment": "预约 / Appointment", "inspection": "查验 / Inspection", "repair": "维修 / Repair",
        "acceptance": "验收 / Acceptance", "confirmation": "主管确认 / Confirmation", "callback": "回访 / Callback",
        "classification": "归类 / Classification", "review": "审核 / Review", "closed": "已关闭 / Closed",
        "handling": "处理中 / Handling",
    },
    "outcome": {
        "resolved": "已解决 / Resolved", "answered": "已答复 / Answered", "forwarded": "已转交 / Forwarded",
        "invalid": "无效诉求 / Not valid", "cancelled": "已取消 / Cancelled", "withdrawn": "业主撤单 / Withdrawn",
        "unreachable": "联系不上 / Unreachable",
    },
    "department": {
        "engineering": "运筹/工程 / Engineering", "design": "产技/设计 / Design", "sales": "营销 / Sales",
        "property": "物业 / Property management", "service": "生活服务 / Life services",
    },
    "status": {
        "running": "运行中 / Running", "waiting": "等待中 / Waiting", "suspended": "已挂起 / Suspended",
        "error": "出错 / Error", "completed": "已完成 / Completed", "terminated": "已终止 / Terminated",
    },
    "satisfaction": {
        "very_satisfied": "非常满意 / Very satisfied", "satisfied": "满意 / Satisfied", "neutral": "一般 / Neutral",
        "dissatisfied": "不满意 / Dissatisfied", "very_dissatisfied": "非常不满意 / Very dissatisfied",
    },
}


# The shipped flows by name (a deployed flow's own title is on its bundle; these serve lists and filters).
FLOW_LABELS = {
    "reception": "客户接待 / Reception", "complaint": "投诉处理 / Complaint", "repair": "维修工单 / Repair",
    "callback": "回访 / Callback", "phone_owner": "电话告知业主 / Phone the owner",
}
SOURCE_LABELS = {  # where a deployed version came from
    "disk": "随系统发布 / Shipped with the system", "api": "接口上传 / Uploaded through the API",
    "designer": "流程设计器 / The designer", "upload": "上传 / Uploaded", "rollback": "回滚 / Rolled back",
}


def person_name(username: str | None) -> str:
    """A person as staff know them (郑师傅), never their login; a dash for nobody. One query per request."""
    if not username:
        return "—"
    if "display_names" not in g:
        g.display_names = display_names()
    names: dict[str, str] = g.display_names
    return names.get(username, username)


def role_label(key: str | None, locale: str) -> str:
    """A role by its name (维修人员), in the reader's language."""
    if not key:
        return "—"
    if "role_titles" not in g:
        g.role_titles = role_titles()
    titles: dict[str, str] = g.role_titles
    return bilingual(titles[key], locale) if key in titles else key


def flow_label(process_id: str | None, locale: str) -> str:
    label = FLOW_LABELS.get(process_id or "")
    return bilingual(label, locale) if label else (process_id or "—")


def source_label(source: str | None, locale: str) -> str:
    label = SOURCE_LABELS.get(source or "")
    return bilingual(label, locale) if label else (source or "—")


def export_label(kind: str, code: str | None) -> str:
    """A code as an export writes it: its Chinese label (exports are Chinese whatever the reader's language)."""
    if not code:
        return ""
    if kind == "flow":
        return flow_label(code, "zh")
    if kind == "project":
        return project_name(code)
    if kind == "text":  # already words, "中文 / English"
        return bilingual(code, "zh")
    return code_label(kind, code, "zh")


def code_label(kind: str, code: str | None, locale: str) -> str:
    """The label of a stored code; an unknown code is shown as it is, a missing one as a dash."""
    if not code:
        return "—"
    label = CODE_LABELS.get(kind, {}).get(code)
    return bilingual(label, locale) if label else code
