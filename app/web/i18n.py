"""Language: Simplified Chinese first, English per user (the API also per request's Accept-Language).

Services hand the web ``Text`` message ids, translated here with Flask-Babel; labels that come from data
files (BPMN titles, forms' choices) are "中文 / English" and ``bilingual`` picks one side.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

from flask import g, request
from flask_babel import force_locale, get_locale, gettext
from flask_login import current_user

from app.services.errors import Bilingual, Message, Text

LOCALES = ("zh", "en")


def select_locale() -> str:
    if request.path.startswith("/api/"):
        asked = request.accept_languages.best_match(LOCALES) if "Accept-Language" in request.headers else None
        principal = g.get("user")
        if asked or principal is not None:
            return asked or _known(principal.locale)
    if current_user and current_user.is_authenticated:
        return _known(current_user.principal.locale)
    return _known(request.cookies.get("lang"))


def _known(locale: str | None) -> str:
    return locale if locale in LOCALES else "zh"


def say(text: Message | None, locale: str | None = None) -> str:
    """A service's message in the reader's language (or ``locale``); a "中文 / English" data label as one side.

    A page that says many messages passes its ``locale`` (looked up once): without it, each message and each
    label inside it would ask for the reader's language again.
    """
    if not isinstance(text, Text):
        return _one_side(text, locale or select_locale())
    page_locale = str(get_locale())  # Flask-Babel's, kept for the request
    if locale is None:
        locale = page_locale  # the labels inside the message follow the message's language
    elif locale != page_locale:
        with force_locale(locale):
            return say(text, locale)
    params = {key: say(value, locale) if isinstance(value, Text | Bilingual) else value
              for key, value in text.params.items()}
    return cast(str, gettext(text.msgid, **params))  # flask_babel has no type hints


def said_errors(errors: Mapping[str, Message]) -> dict[str, str]:
    """Field -> message, each in the reader's language."""
    return {field: say(message) for field, message in errors.items()}


def bilingual(text: Message | None, locale: str) -> str:
    """Pick one side of a "中文 / English" label (a ``Text`` is translated); a label without " / " as it is."""
    return say(text, locale)


def _one_side(text: str | None, locale: str) -> str:
    if not text:
        return ""
    chinese, separator, english = text.partition(" / ")
    if not separator:
        return text
    return english.strip() if locale == "en" else chinese.strip()
