"""Language: Simplified Chinese first, English per user; bilingual labels "中文 / English" split per locale."""

from __future__ import annotations

from flask import request
from flask_login import current_user

LOCALES = ("zh", "en")


def select_locale() -> str:
    if current_user and current_user.is_authenticated:
        return current_user.principal.locale if current_user.principal.locale in LOCALES else "zh"
    chosen = request.cookies.get("lang")
    return chosen if chosen in LOCALES else "zh"


def bilingual(text: str | None, locale: str) -> str:
    """Pick one side of a "中文 / English" label; a label without " / " is shown as it is."""
    if not text:
        return ""
    chinese, separator, english = text.partition(" / ")
    if not separator:
        return text
    return english.strip() if locale == "en" else chinese.strip()
