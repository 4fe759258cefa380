"""The process designer's workspace: drafts of BPMN, DMN and form files, checked and deployed together.

A draft is the working copy of one file, shared by the designers. Saving a draft runs the checks
that need no parse; deploying the drafts runs the full deploy check and, only when nothing is
wrong, makes new versions and deletes the drafts in the same transaction.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jsonschema import Draft202012Validator
from lxml import etree
from sqlalchemy import select

from app.clock import Clock
from app.engine import (
    BPMN_NS,
    DMN_NAMESPACES,
    MAX_XML_BYTES,
    JsonTooDeepError,
    ScriptCompileError,
    TimerValueError,
    UnsafeXmlError,
    compile_expression,
    compile_script,
    evaluate_constant,
    expression_names,
    load_json,
    not_runnable,
    parse_timer_value,
    parse_xml,
    read_drafts,
    review_library,
)
from app.engine import Problem as Problem  # re-exported: what the checks answer, for the designer pages
from app.extensions import db
from app.models import Role
from app.models.designer import DesignerDraft
from app.services.access import Actor
from app.services.definitions.deploy import (
    NOT_EXECUTABLE,
    DeployedVersion,
    check_files,
    deploy_files,
    is_definition_name,
    latest_texts,
    start_variables,
)
from app.services.errors import ConflictError, InvalidDefinitionError, InvalidRequestError, NotFoundError, Text, msg
from app.services.people.users import role_names
from app.services.runtime import Runtime
from app.services.work.tickets import SYSTEM_VARIABLES

KINDS = {"bpmn": "bpmn", "dmn": "dmn", "json": "form"}
REFUSED = msg("the definitions have problems; nothing was deployed")


@dataclass(frozen=True)
class DesignFile:
    name: str
    kind: str  # bpmn | dmn | form
    is_deployed: bool
    draft_at: datetime | None
    draft_by: str | None


@dataclass(frozen=True)
class FileText:
    name: str
    kind: str
    content: str
    is_draft: bool
    draft_by: str | None = None
    draft_at: datetime | None = None

    @property
    def revision(self) -> str:
        return revision_of(self.content)


def revision_of(text: str | None) -> str:
    """What a save names as the text it started from, so a save over someone else's is refused."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16] if text is not None else "new"


def kind_of(name: str) -> str:
    """``bpmn``, ``dmn`` or ``form``; raise InvalidRequestError for any other file name."""
    if not is_definition_name(name):
        raise InvalidRequestError(
            msg("a file name uses letters, digits and underscores and ends in .bpmn, .dmn or .json"),
            errors={"name": "invalid"})
    return KINDS[name.rsplit(".", 1)[1]]


def deployed_texts() -> dict[str, str]:
    """The newest deployed text of every file (the newest version of a shared file wins)."""
    return {name: text.decode("utf-8") for name, text in latest_texts().items()}


def list_files() -> list[DesignFile]:
    deployed = deployed_texts()
    drafts = {draft.name: draft for draft in db.session.scalars(select(DesignerDraft))}
    return [
        DesignFile(name, kind_of(name), name in deployed, drafts[name].updated_at if name in drafts else None,
                   _who(drafts[name]) if name in drafts else None)
        for name in sorted(set(deployed) | set(drafts), key=lambda n: (KINDS[n.rsplit(".", 1)[1]], n))
    ]


def _who(draft: DesignerDraft) -> str | None:
    return draft.updated_by.display_name if draft.updated_by else None


def open_file(name: str) -> FileText:
    """The draft of ``name`` if there is one, else its deployed text; raise NotFoundError."""
    kind = kind_of(name)
    draft = db.session.get(DesignerDraft, name)
    if draft is not None:
        return FileText(name, kind, draft.content, True, _who(draft), draft.updated_at)
    deployed = deployed_texts()
    if name not in deployed:
        raise NotFoundError(msg("no file %(name)s", name=name))
    return FileText(name, kind, deployed[name], False)


def save_draft(name: str, content: str, *, user: Actor, clock: Clock,
               base_revision: str | None = None) -> list[Problem]:
    """Store the draft (hostile or non-BPMN/DMN XML is refused) and return what the checks find.

    With ``base_revision`` (the revision the editor opened), a file saved by someone else in the
    meantime is not overwritten: ConflictError, and the editor keeps its text.
    """
    kind = kind_of(name)
    _check_content(name, content.encode("utf-8"), kind)
    draft = db.session.get(DesignerDraft, name)
    if base_revision is not None:
        current = draft.content if draft is not None else deployed_texts().get(name)
        if revision_of(current) not in (base_revision, revision_of(content)):
            who = draft.updated_by.display_name if draft is not None and draft.updated_by else "?"
            raise ConflictError(msg("%(who)s saved %(name)s after you opened it; download yours, reopen the file and "
                                    "merge", who=who, name=name))
    draft = draft or DesignerDraft(name=name)
    draft.content = content
    draft.updated_by_id = user.id
    draft.updated_at = clock.now()
    db.session.add(draft)
    db.session.commit()
    return review_drafts()


def _check_content(name: str, content: bytes, kind: str) -> None:
    """Refuse a file that is too large, and XML that is hostile, malformed or not BPMN/DMN as its name says."""
    if len(content) > MAX_XML_BYTES:
        message = f"file is larger than {MAX_XML_BYTES // 1024} KiB"
        raise InvalidRequestError(msg("%(name)s was refused: %(message)s", name=name, message=message),
                                  errors={name: message})
    if kind != "form":
        _check_xml(name, content, kind)


def _check_xml(name: str, content: bytes, kind: str) -> None:
    try:
        root = parse_xml(content)
    except UnsafeXmlError as exc:
        raise InvalidRequestError(msg("%(name)s was refused: %(message)s", name=name, message=str(exc)),
                                  errors={name: str(exc)}) from exc
    namespace = etree.QName(root).namespace
    expected = (BPMN_NS,) if kind == "bpmn" else DMN_NAMESPACES
    if namespace not in expected:
        message = f"not a {kind.upper()} document (root namespace {namespace})"
        raise InvalidRequestError(msg("%(name)s was refused: %(message)s", name=name, message=message),
                                  errors={name: message})


def import_files(files: Mapping[str, bytes], *, user: Actor, clock: Clock) -> list[str]:
    """Take uploaded .bpmn/.dmn/.json files (e.g. from Camunda Modeler) as drafts; all or none."""
    if not files:
        raise InvalidRequestError(msg("choose at least one file"), errors={"files": "required"})
    texts = {}
    for name, content in files.items():
        _check_content(name, content, kind_of(name))
        try:
            texts[name] = content.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InvalidRequestError(msg("%(name)s was refused: not UTF-8 text", name=name),
                                      errors={name: "not UTF-8"}) from exc
    for name, text in texts.items():
        draft = db.session.get(DesignerDraft, name) or DesignerDraft(name=name)
        draft.content, draft.updated_by_id, draft.updated_at = text, user.id, clock.now()
        db.session.add(draft)
    db.session.commit()
    return sorted(texts)


def discard_draft(name: str) -> None:
    draft = db.session.get(DesignerDraft, name)
    if draft is not None:
        db.session.delete(draft)
        db.session.commit()


def _draft_bytes(saved_by: int | None = None) -> dict[str, bytes]:
    query = select(DesignerDraft)
    if saved_by is not None:
        query = query.where(DesignerDraft.updated_by_id == saved_by)
    return {draft.name: draft.content.encode("utf-8") for draft in db.session.scalars(query)}


def review_drafts() -> list[Problem]:
    """The problems of the drafts over the deployed files, without parsing (cheap, on every save)."""
    drafts = _draft_bytes()
    if not drafts:
        return []
    library = read_drafts(latest_texts(), drafts)
    return review_library(library, set(drafts), role_names(), SYSTEM_VARIABLES,
                          lambda process_id: start_variables(library, process_id))


def deploy_drafts(rt: Runtime, *, user: Actor, only_mine: bool = False) -> list[DeployedVersion]:
    """Deploy the drafts as one set; raise InvalidDefinitionError (nothing stored) when anything is wrong.

    ``only_mine``: only the drafts ``user`` saved last (an editor's button), so another designer's
    unfinished work is not deployed with it; otherwise every draft (the workspace's button).
    """
    drafts = _draft_bytes(user.id if only_mine else None)
    if not drafts:
        raise InvalidRequestError(msg("there is no draft to deploy"))
    library = read_drafts(latest_texts(), drafts)
    unsupported = not_runnable(library, set(drafts))
    if unsupported:
        others = [p for p in check_files(drafts) if p.message != NOT_EXECUTABLE]  # said once, by not_runnable
        raise InvalidDefinitionError(REFUSED, problems=list(dict.fromkeys(unsupported + others)))
    return deploy_files(rt, drafts, user=user, also=_delete_drafts(set(drafts)))


def _delete_drafts(names: set[str]) -> Callable[[], None]:
    def delete() -> None:
        for name in names:
            draft = db.session.get(DesignerDraft, name)
            if draft is not None:
                db.session.delete(draft)
    return delete


def known_roles() -> list[tuple[str, str, str]]:
    """(key, Chinese name, English name) of every role, for the lane's role choice."""
    return [(role.key, role.name_zh, role.name_en) for role in db.session.scalars(select(Role).order_by(Role.key))]


def form_names() -> list[str]:
    return sorted(file.name for file in list_files() if file.kind == "form")


@dataclass(frozen=True)
class SchemaError:
    path: str
    message: str


def schema_errors(text: str) -> tuple[dict[str, Any] | None, list[SchemaError]]:
    """The form schema and every way it breaks the JSON Schema meta-schema (or our ``type: object`` rule)."""
    try:
        schema = load_json(text)
    except JsonTooDeepError as exc:
        return None, [SchemaError("", str(exc))]
    except json.JSONDecodeError as exc:
        return None, [SchemaError("", f"not valid JSON: {exc}")]
    errors = [SchemaError("/".join(str(part) for part in error.absolute_path), error.message)
              for error in Draft202012Validator(Draft202012Validator.META_SCHEMA).iter_errors(schema)]
    if not isinstance(schema, dict):
        return None, errors or [SchemaError("", "a form is a JSON object")]
    if schema.get("type") != "object":
        errors.append(SchemaError("type", 'a form schema has "type": "object"'))
    return schema, errors


def check_snippet(kind: str, text: str) -> Text | None:
    """Why a script, condition, narrowing expression or timer (``timer:timeDuration``...) would be refused."""
    try:
        if kind == "script":
            compile_script(text)
            return None
        if not text.strip():
            return msg("the expression is empty")
        compile_expression(text)
        if kind.startswith("timer:") and not expression_names(text):
            parse_timer_value(kind.removeprefix("timer:") or "timeDuration",
                              evaluate_constant(text))
    except ScriptCompileError as exc:
        return msg("does not compile: %(reason)s", reason=str(exc))
    except (TimerValueError, TypeError, ValueError) as exc:
        return msg("not a valid ISO 8601 value: %(reason)s", reason=str(exc))
    return None


def new_form(name: str, title: str, *, user: Actor, clock: Clock) -> str:
    """A draft form with one note field, to be shaped in the form editor; raise ConflictError if the name is taken."""
    if kind_of(name) != "form":
        raise InvalidRequestError(msg("a form file name ends in .json"), errors={"name": "invalid"})
    if db.session.get(DesignerDraft, name) is not None or name in latest_texts():
        raise ConflictError(msg("the form %(name)s already exists", name=name))
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema", "title": title or name, "type": "object",
        "properties": {"note": {"type": "string", "title": "备注 / Note", "x-widget": "textarea"}},
        "required": [],
    }
    save_draft(name, json.dumps(schema, ensure_ascii=False, indent=2) + "\n", user=user, clock=clock)
    return name
