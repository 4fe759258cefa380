"""What the codes stored on tickets read as on screen, in both languages ("中文 / English")."""

from __future__ import annotations

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
    "satisfaction": {
        "very_satisfied": "非常满意 / Very satisfied", "satisfied": "满意 / Satisfied", "neutral": "一般 / Neutral",
        "dissatisfied": "不满意 / Dissatisfied", "very_dissatisfied": "非常不满意 / Very dissatisfied",
    },
}


def code_label(kind: str, code: str | None, locale: str) -> str:
    """The label of a stored code; an unknown code is shown as it is, a missing one as a dash."""
    if not code:
        return "—"
    label = CODE_LABELS.get(kind, {}).get(code)
    return bilingual(label, locale) if label else code
