"""A user task's instructions (``spiffworkflow:instructionsForEndUser``): Markdown with sandboxed Jinja,
written once per language.

A text is split into language sections by a line that holds only ``[zh]`` or ``[en]``; text above the
first marker is shared by both languages. The reader sees the shared part and their own section (the
Chinese one when theirs is missing); a text without markers is shown to everyone as it is. Sections
are split before Jinja runs, so data can never open a section and each section compiles on its own.

Values print as people read them: a date-time in the business time zone as ``2026-03-02 09:00``, a
yes/no in the reader's language, nothing for a missing value. Filters: ``date``, ``datetime``,
``money`` and ``label`` (a choice's title from the bundle's forms, in the reader's language).

A template runs within ``RENDER_LIMITS`` (``limits.py``): CPU time, ``range`` and output size, and
the same size guards on ``*``, ``**``, ``+``, ``%``, widths and string methods as scripts; past them
the reader sees a short notice instead of a page that never comes.

A section is compiled once per language and time zone (``_compiled``, a bounded LRU keyed by its text):
compiling costs far more than rendering, and a task page shows the same few texts again and again. The
choices of the ``label`` filter vary with the bundle, so they reach it through ``_CHOICES`` at render time.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from datetime import date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Template, TemplateError, TemplateSyntaxError, Undefined
from jinja2.filters import do_center, do_format, do_indent
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment

from app.engine.guards import check_binop, check_format_template, guarded_attribute, guarded_range
from app.engine.limits import StepLimitError, StepLimits, run_limited

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
_MARKER = re.compile(r"^[ \t]*\[([A-Za-z]{2,3}(?:[-_][A-Za-z]{2,4})?)\][ \t]*$", re.MULTILINE)
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
_YES_NO = {"zh": ("是", "否"), "en": ("Yes", "No")}

Choices = Mapping[str, Mapping[str, str]]  # field name -> choice const -> "中文 / English" title

RENDER_LIMITS = StepLimits(cpu_seconds=0.5, max_bytes=64 * 1024)  # instructions are a few KB of text
_TOO_LARGE = {
    "zh": "（这段说明超出了显示限制（循环过多或内容过长），无法显示。请告知流程设计人员。）",
    "en": "(These instructions go past the display limits (too many loops or too much text) and cannot be "
          "shown. Please tell the process designer.)",
}


COMPILED_TEMPLATES = 512  # sections kept compiled (per language and time zone): every text of a few bundles
_CHOICES: ContextVar[Choices | None] = ContextVar("instruction_choices", default=None)


class InstructionsError(ValueError):
    """Language sections that cannot be told apart: an unknown or repeated marker, or one language missing."""


def language_sections(text: str) -> tuple[str, dict[str, str]]:
    """The shared text above the first marker, and each language's section; raise InstructionsError."""
    markers = list(_MARKER.finditer(text))
    sections: dict[str, str] = {}
    for index, marker in enumerate(markers):
        language = marker.group(1)
        if language not in LANGUAGES:
            raise InstructionsError(f"unknown language section [{language}]: use [zh] and [en]")
        if language in sections:
            raise InstructionsError(f"the [{language}] section appears twice")
        end = markers[index + 1].start() if index + 1 < len(markers) else len(text)
        sections[language] = text[marker.end():end].removeprefix("\n").rstrip()  # line 1 follows the marker
    missing = [language for language in LANGUAGES if markers and language not in sections]
    if missing:
        raise InstructionsError(f"the [{missing[0]}] section is missing: write the text in both [zh] and [en]")
    return (text[:markers[0].start()] if markers else text).rstrip(), sections


def instruction_problems(text: str) -> Iterator[str]:
    """What makes ``text`` unusable as instructions: bad sections, or a section that does not compile."""
    try:
        shared, sections = language_sections(text)
    except InstructionsError as exc:
        yield str(exc)
        return
    environment = _environment(DEFAULT_LANGUAGE, None)
    # Each piece compiles alone (a block cannot run from one piece into another), so lines are counted per piece.
    for where, piece in (("the shared text" if sections else "the text", shared),
                         *((f"the [{language}] section", section) for language, section in sections.items())):
        try:
            environment.from_string(piece)  # compiling also finds unknown filters and tests
        except TemplateSyntaxError as exc:
            yield f"instructions do not compile: {exc.message} (line {exc.lineno} of {where})"


def render(text: str, data: Mapping[str, Any], *, language: str, timezone: str | None,
           choices: Choices | None = None) -> str:
    """The reader's section filled with ``data``; the section unfilled if it cannot be rendered."""
    try:
        shared, sections = language_sections(text)
    except InstructionsError:
        return text
    section = _joined(shared, sections.get(language, sections.get(DEFAULT_LANGUAGE, "")))
    template = _compiled(section, language, timezone)
    if template is None:
        return section
    given = _CHOICES.set(choices)
    try:
        return _limited_render(template, data)
    except StepLimitError:
        return _TOO_LARGE.get(language, _TOO_LARGE[DEFAULT_LANGUAGE])
    except (TemplateError, TypeError, ValueError, ArithmeticError):
        return section
    finally:
        _CHOICES.reset(given)


@lru_cache(maxsize=COMPILED_TEMPLATES)
def _compiled(section: str, language: str, timezone: str | None) -> Template | None:
    """``section`` compiled in the reader's environment; None when it does not compile (shown as it is)."""
    try:
        return _environment(language, timezone).from_string(section)
    except (TemplateError, TypeError, ValueError, ArithmeticError):
        return None


def _limited_render(template: Template, data: Mapping[str, Any]) -> str:
    """The template's text, piece by piece, within RENDER_LIMITS; raise StepLimitError."""
    def run() -> str:
        pieces, size = [], 0
        for piece in template.generate(**data):
            size += len(piece)
            if size > RENDER_LIMITS.max_bytes:
                raise StepLimitError(f"instructions longer than {RENDER_LIMITS.max_bytes:,} characters", "render")
            pieces.append(piece)
        return "".join(pieces)

    return str(run_limited(run, lambda: RENDER_LIMITS, traced=True))


def _joined(shared: str, section: str) -> str:
    return f"{shared}\n\n{section}" if shared and section else shared or section


class LimitedSandbox(SandboxedEnvironment):
    """Jinja's sandbox with the scripts' size guards on operators, string methods and ``str.format``."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        check_binop(operator, left, right)
        return super().call_binop(context, operator, left, right)

    def getattr(self, obj: Any, attribute: str) -> Any:
        return guarded_attribute(obj, attribute, super().getattr(obj, attribute))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        template = value.__self__

        def checked(*args: Any, **kwargs: Any) -> str:
            check_format_template(template, (*args, *kwargs.values()))
            return wrapped(*args, **kwargs)

        return checked


def _center(value: Any, width: int = 80) -> str:
    check_binop("*", " ", width)
    return do_center(value, width)


def _indent(value: str, width: int | str = 4, first: bool = False, blank: bool = False) -> str:
    check_binop("*", width if isinstance(width, str) else " ", 1 if isinstance(width, str) else width)
    return do_indent(value, width, first, blank)


def _format(value: str, *args: Any, **kwargs: Any) -> str:
    check_binop("%", value, kwargs or args)
    return do_format(value, *args, **kwargs)


@lru_cache(maxsize=32)
def _environment(language: str, timezone: str | None) -> SandboxedEnvironment:
    zone = ZoneInfo(timezone) if timezone else None
    environment = LimitedSandbox(autoescape=False, finalize=_finalizer(language, zone))
    environment.globals["range"] = guarded_range
    environment.filters.update({
        "center": _center, "indent": _indent, "format": _format,
        "datetime": lambda value: _local(value, zone, "%Y-%m-%d %H:%M"),
        "date": lambda value: _local(value, zone, "%Y-%m-%d"),
        "money": _money,
        "label": _labeller(language),
    })
    environment.globals["lang"] = language
    return environment


def _finalizer(language: str, zone: ZoneInfo | None) -> Callable[[Any], Any]:
    yes, no = _YES_NO.get(language, _YES_NO[DEFAULT_LANGUAGE])

    def finalize(value: Any) -> Any:
        if value is None or isinstance(value, Undefined):
            return ""
        if isinstance(value, bool):
            return yes if value else no
        if isinstance(value, datetime) or (isinstance(value, str) and _DATETIME.match(value)):
            return _local(value, zone, "%Y-%m-%d %H:%M")
        return markdown_text(value)

    return finalize


_MARKDOWN_MARKS = re.compile(r"([\\\[\]<>!])")


def markdown_text(value: Any) -> str:
    """A value printed into the Markdown as plain text: with ``[ ] < > !`` (and ``\\``) escaped, text from a
    ticket cannot open a link, an image or an autolink; only the designer's own text makes links."""
    return _MARKDOWN_MARKS.sub(r"\\\1", str(value))


def _local(value: Any, zone: ZoneInfo | None, pattern: str) -> str:
    """A date-time as business time (one with no offset is taken as already local); anything else as it is."""
    if value is None or isinstance(value, Undefined):
        return ""
    moment = value if isinstance(value, datetime) else _parsed(value)
    if moment is None:
        return value.isoformat() if isinstance(value, date) else str(value)
    if moment.tzinfo is not None and zone is not None:
        moment = moment.astimezone(zone)
    return moment.strftime(pattern)


def _parsed(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _money(value: Any) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:.2f}"
    return "" if value is None or isinstance(value, Undefined) else str(value)


def _labeller(language: str) -> Callable[..., str]:
    def label(value: Any, field: str | None = None) -> str:
        if value is None or isinstance(value, Undefined) or value == "":
            return ""
        choices = _CHOICES.get() or {}  # the rendering bundle's (``render``)
        tables = [choices.get(field, {})] if field else list(choices.values())
        title = next((table[str(value)] for table in tables if str(value) in table), None)
        return one_language(title, language) if title else str(value)

    return label


def one_language(text: str, language: str) -> str:
    """One side of a "中文 / English" title; a title without " / " as it is."""
    chinese, separator, english = text.partition(" / ")
    if not separator:
        return text
    return (english if language == "en" else chinese).strip()
