"""One renderer for every form: a JSON Schema becomes fields for the template, and a posted form
becomes typed data for the service. A new ``forms/*.json`` needs no new template."""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage, MultiDict

from app.services.errors import InvalidFormError, Message
from app.web.form_hints import condition_text, format_hint, required_when
from app.web.i18n import bilingual

PHOTO_TYPES = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}
MAX_PHOTO_BYTES = 5 * 1024 * 1024
MAX_SIGNATURE_BYTES = 512 * 1024


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    help: str
    widget: str  # text textarea number money select radio boolean date datetime phone photo signature
    required: bool
    read_only: bool
    choices: tuple[tuple[str, str], ...]
    value: Any
    error: Message | None  # a service's message id or text, said by the template's bilingual()
    pattern: str | None
    display: str = "—"  # the value as a person reads it: a choice's label, a local time, money with cents
    groups: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()  # a people picker's choices by department
    note: str = ""  # why a people picker offers what it offers (nobody in the task's department)
    hint: str = ""  # the expected format in words ("11 位手机号"), from the schema or its ``x-hint``
    max_length: int | None = None  # a live counter shows what is left
    required_when: tuple[dict[str, Any], ...] = ()  # required only when one of these holds (form_hints)
    required_when_text: str = ""  # the same in words: "改约为“是”时必填"


@dataclass(frozen=True)
class PeopleOffer:
    """What a ``"x-widget": "user"`` field offers: people, or groups of them with the reason it was widened."""

    people: list[tuple[str, str]]
    groups: list[tuple[str, list[tuple[str, str]]]] = field(default_factory=list)
    note: str = ""


def fields_for(schema: Mapping[str, Any] | None, data: Mapping[str, Any], errors: Mapping[str, Message],
               locale: str, timezone: str | None = None,
               people: Mapping[str, list[tuple[str, str]] | PeopleOffer] | None = None,
               shown_data: Mapping[str, Any] | None = None) -> list[Field]:
    """The fields to draw, with the values to show (what the user typed wins over stored data).

    ``shown_data`` is the data as people read it (names for logins and project keys, ``with_names``):
    read-only fields display it; what is edited and submitted keeps ``data``'s keys.

    With ``timezone`` (the business time zone), stored date-times are shown and edited in local time.
    ``people`` maps a role to the (username, name) pairs a ``"x-widget": "user"`` field offers, or to a
    ``PeopleOffer`` (people grouped by department, with the reason the list is wider than the department).
    """
    if not schema:
        return []
    required = set(schema.get("required", []))
    conditional = required_when(schema, data)
    fields = []
    for name, spec in (schema.get("properties") or {}).items():
        widget = _widget(spec)
        choices = tuple((str(c.get("const")), bilingual(c.get("title"), locale)) for c in spec.get("oneOf", []))
        groups: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()
        note = ""
        if spec.get("x-widget") == "user" and people is not None:
            offer = _offer(people.get(str(spec.get("x-role")), []), locale)
            groups = tuple((label, tuple(members)) for label, members in offer.groups)
            widget, note = "select", offer.note
            choices = tuple(offer.people) + tuple(choice for _, members in groups for choice in members)
        value = data.get(name)
        if widget == "datetime" and timezone and isinstance(value, str):
            value = _local_input(value, timezone)
        when = conditional.get(name, [])
        fields.append(Field(name=name, label=bilingual(spec.get("title") or name, locale),
                            help=bilingual(spec.get("description"), locale), widget=widget,
                            required=(name in required or {} in when) and not spec.get("readOnly"),
                            read_only=bool(spec.get("readOnly")), choices=choices, value=value,
                            error=errors.get(name), pattern=spec.get("pattern"),
                            display=_display(_read_only_value(spec, data.get(name), value, shown_data and
                                                              shown_data.get(name)), widget, choices),
                            groups=groups, note=note,
                            hint="" if spec.get("readOnly") else format_hint(spec, widget, locale),
                            max_length=_max_length(spec),
                            required_when=tuple(when) if name not in required and {} not in when else ()))
    return [_with_condition_text(f, fields, locale) for f in fields]


def _read_only_value(spec: Mapping[str, Any], stored: Any, value: Any, named: Any) -> Any:
    """What a field shows: a read-only login or project key as its name (``with_names``), else ``value``."""
    if spec.get("readOnly") and named is not None and named != stored:
        return named
    return value


def _with_condition_text(drawn: Field, fields: list[Field], locale: str) -> Field:
    if not drawn.required_when:
        return drawn
    labels = {f.name: f.label for f in fields}
    choices = {f.name: dict(f.choices) for f in fields}
    return replace(drawn, required_when_text=condition_text(list(drawn.required_when), labels, choices, locale))


def _max_length(spec: Mapping[str, Any]) -> int | None:
    limit = spec.get("maxLength")
    return limit if isinstance(limit, int) and not spec.get("readOnly") else None


def _offer(offered: list[tuple[str, str]] | PeopleOffer, locale: str) -> PeopleOffer:
    if not isinstance(offered, PeopleOffer):
        return PeopleOffer(list(offered))
    return PeopleOffer(offered.people, [(bilingual(label, locale), members) for label, members in offered.groups],
                       bilingual(offered.note, locale))


def _local_input(value: str, timezone: str) -> str:
    """An ISO date-time with an offset as the business-time ``YYYY-MM-DDTHH:MM`` a datetime-local input takes."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is not None:
        moment = moment.astimezone(ZoneInfo(timezone))
    return moment.strftime("%Y-%m-%dT%H:%M")


def _display(value: Any, widget: str, choices: tuple[tuple[str, str], ...]) -> str:
    if value is None or value == "":
        return "—"
    if choices:
        return next((label for const, label in choices if const == str(value)), str(value))
    if widget == "datetime" and isinstance(value, str):
        return value.replace("T", " ")[:16]
    if widget == "money" and isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:.2f}"
    return str(value)


def _widget(spec: Mapping[str, Any]) -> str:
    explicit = spec.get("x-widget")
    if explicit in ("textarea", "money", "phone", "photo", "signature"):
        return str(explicit)
    if spec.get("oneOf"):
        return "radio" if len(spec["oneOf"]) <= 3 else "select"
    kind = spec.get("type")
    if kind == "boolean":
        return "boolean"
    if kind in ("number", "integer"):
        return "number"
    return {"date": "date", "date-time": "datetime"}.get(spec.get("format", ""), "text")


FileSaver = Callable[[bytes, str], str]


def parse_submission(schema: Mapping[str, Any] | None, form: MultiDict[str, str],
                     files: MultiDict[str, FileStorage], save_file: FileSaver, timezone: str) -> dict[str, Any]:
    """Typed data from a posted form: only the schema's writable fields; empty inputs are left out."""
    data: dict[str, Any] = {}
    refused: dict[str, str] = {}
    for name, spec in ((schema or {}).get("properties") or {}).items():
        if spec.get("readOnly"):
            continue
        try:
            value = _parse_field(name, spec, form, files, save_file, timezone)
        except UploadRefusedError as exc:
            refused[name] = str(exc)
            continue
        if value is not None:
            data[name] = value
    if refused:
        raise InvalidFormError(_("An uploaded file was refused."), errors=refused)
    return data


class UploadRefusedError(ValueError):
    """A photo or signature of the wrong type or size."""


def _parse_field(name: str, spec: Mapping[str, Any], form: MultiDict[str, str], files: MultiDict[str, FileStorage],
                 save_file: FileSaver, timezone: str) -> Any:
    widget = _widget(spec)
    if widget == "photo":
        return _photo(files.get(name), save_file)
    raw = (form.get(name) or "").strip()
    if widget == "signature":
        if raw.startswith("data:image/png;base64,"):
            return _signature(raw, save_file)
        return raw if raw.startswith("upload:") else None
    if raw == "":
        return None
    if spec.get("type") == "boolean":
        return {"true": True, "false": False}.get(raw, raw)
    if spec.get("type") in ("number", "integer"):
        return _number(raw, integer=spec.get("type") == "integer")
    if spec.get("format") == "date-time":
        return _local_datetime(raw, timezone)
    return raw


def _number(raw: str, *, integer: bool) -> Any:
    try:
        return int(raw) if integer else float(raw)
    except ValueError:
        return raw  # the validator names the field: "is not of type number"


def _local_datetime(raw: str, timezone: str) -> str:
    """A browser's datetime-local value is business time; send it on with its offset."""
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return raw
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZoneInfo(timezone))
    return moment.isoformat()


def _photo(upload: FileStorage | None, save_file: FileSaver) -> str | None:
    if upload is None or not upload.filename:
        return None
    suffix = PHOTO_TYPES.get(upload.mimetype or "")
    content = upload.read(MAX_PHOTO_BYTES + 1)
    if suffix is None or not _looks_like_image(content):
        raise UploadRefusedError(_("Only JPEG, PNG or WebP images are accepted."))
    if len(content) > MAX_PHOTO_BYTES:
        raise UploadRefusedError(_("The photo is larger than 5 MB."))
    return save_file(content, suffix)


def _signature(data_url: str, save_file: FileSaver) -> str | None:
    try:
        content = base64.b64decode(data_url.split(",", 1)[1], validate=True)
    except (binascii.Error, IndexError) as exc:
        raise UploadRefusedError(_("The signature could not be read.")) from exc
    if len(content) > MAX_SIGNATURE_BYTES or not content.startswith(b"\x89PNG"):
        raise UploadRefusedError(_("The signature could not be read."))
    return save_file(content, ".png")


def _looks_like_image(content: bytes) -> bool:
    return content.startswith((b"\xff\xd8\xff", b"\x89PNG", b"RIFF"))


class Uploads:
    """The saver for one request's photos and signatures; ``discard()`` deletes them when the submission is refused.

    A refused form comes back to be sent again (a drawn signature with it), so its first files would be orphans.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.saved: list[Path] = []
        self._save = save_upload(folder)

    def __call__(self, content: bytes, suffix: str) -> str:
        reference = self._save(content, suffix)
        self.saved.append(self.folder / reference.removeprefix("upload:"))
        return reference

    def discard(self) -> None:
        for path in self.saved:
            path.unlink(missing_ok=True)
        self.saved.clear()


def save_upload(folder: Path) -> FileSaver:
    """Store an upload under a random name; the task data keeps only ``upload:<name>``."""
    def save(content: bytes, suffix: str) -> str:
        folder.mkdir(parents=True, exist_ok=True)
        name = secrets.token_hex(16) + suffix
        (folder / name).write_bytes(content)
        return f"upload:{name}"

    return save


def roles_offered(schema: Mapping[str, Any] | None) -> set[str]:
    """The roles whose people a form offers to choose from (``"x-widget": "user"``, ``"x-role"``)."""
    return {str(spec["x-role"]) for spec in ((schema or {}).get("properties") or {}).values()
            if spec.get("x-widget") == "user" and spec.get("x-role")}
