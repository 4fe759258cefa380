"""The designer's home, the editor pages (BPMN, DMN, form) and their JSON endpoints: drafts, checks, new forms,
preview, deploy, import. A JSON endpoint lets a domain error through: ``web.errors`` answers it as JSON."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

from flask import Response, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import generate_csrf
from werkzeug.wrappers import Response as WerkzeugResponse

from app.services.access import may_deploy
from app.services.definitions import drafts as workspace
from app.services.definitions import versions as history
from app.services.errors import InvalidDefinitionError, InvalidRequestError
from app.services.people.users import people_with_role
from app.services.work.forms import parse_json_body
from app.web.context import me, require, runtime
from app.web.errors import status_of
from app.web.form_fields import fields_for, roles_offered
from app.web.i18n import bilingual, say, select_locale
from app.web.problems import shown

TEMPLATES = {"bpmn": "designer/bpmn.html", "dmn": "designer/dmn.html", "form": "designer/form.html"}


def _editor_texts() -> dict[str, str]:
    return {
        "saving": _("Saving the draft…"), "saved": _("Draft saved; the checks found no problem."),
        "savedWithProblems": _("Draft saved; the checks found {count} problem(s)."),
        "deploying": _("Deploying…"), "deployed": _("Deployed:"),
        "nothingChanged": _("Deployed: nothing changed, so no new version."),
        "failed": _("Something went wrong; nothing was lost."),
        "importWarnings": _("The file opened with {count} warning(s); deploying names what cannot run here."),
        "cannotOpen": _("The file cannot be shown"),
    }


def _editor_config(opened: workspace.FileText) -> dict[str, Any]:
    return {
        "file": opened.name, "kind": opened.kind, "content": opened.content, "revision": opened.revision,
        "locale": select_locale(),
        "csrfToken": generate_csrf(),
        "saveUrl": url_for("designer.save", name=opened.name), "deployUrl": url_for("designer.deploy"),
        "checkUrl": url_for("designer.check"), "newFormUrl": url_for("designer.create_form"),
        "previewUrl": url_for("designer.preview"),
        "fileUrl": url_for("designer.edit", name="__NAME__"),
        "roles": [{"key": key, "name": name_en if select_locale() == "en" else name_zh}
                  for key, name_zh, name_en in workspace.known_roles()],
        "forms": workspace.form_names(),
        "problems": shown(workspace.review_drafts()) if opened.is_draft else [],
        "text": _editor_texts(),
    }


@require(may_deploy)
def home() -> str:
    return _home_page(workspace.review_drafts())[0]


def _home_page(problems: Iterable[workspace.Problem], status: int = 200) -> tuple[str, int]:
    return render_template("designer/home.html", files=workspace.list_files(), processes=history.processes(),
                           problems=shown(problems)), status


def json_response(payload: dict[str, Any], status: int = 200) -> tuple[Response, int]:
    return jsonify(payload), status


@require(may_deploy)
def edit(name: str) -> str:
    opened = workspace.open_file(name)
    return render_template(TEMPLATES[opened.kind], opened=opened, config=_editor_config(opened))


@require(may_deploy)
def download(name: str) -> Response:
    opened = workspace.open_file(name)
    mimetype = "application/json" if opened.kind == "form" else "application/xml"
    return Response(opened.content, mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{opened.name}"'})


def _json_body() -> dict[str, Any]:
    body = parse_json_body(request.get_data()) if request.is_json else None  # 422 when nested too deep
    if not isinstance(body, dict):
        raise InvalidRequestError(_("The request body must be a JSON object."))
    return body


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key, "")
    if not isinstance(value, str):
        raise InvalidRequestError(_("%(key)s must be text.", key=key), errors={key: "not a string"})
    return value


@require(may_deploy)
def save(name: str) -> Any:
    body = _json_body()
    content = _text(body, "content")
    base = body.get("revision")
    problems = workspace.save_draft(name, content, user=me(), clock=runtime().clock,
                                    base_revision=base if isinstance(base, str) else None)
    return json_response({"problems": shown(problems),
                          "revision": workspace.revision_of(content)})


@require(may_deploy)
def discard(name: str) -> WerkzeugResponse:
    workspace.discard_draft(name)
    flash(_("The draft of %(name)s was discarded.", name=name), "info")
    return redirect(url_for("designer.home"))


@require(may_deploy)
def deploy() -> Any:
    versions = workspace.deploy_drafts(runtime(), user=me(), only_mine=True)
    return json_response({"versions": [asdict(version) for version in versions]})


@require(may_deploy)
def deploy_from_home() -> Any:
    """The home page's button: deploy every draft, or show the problems on the home page."""
    try:
        versions = workspace.deploy_drafts(runtime(), user=me())
    except (InvalidDefinitionError, InvalidRequestError) as exc:
        flash(bilingual(exc.message, select_locale()), "danger")
        return _home_page(exc.details.get("problems", []), status_of(exc))
    listed = ", ".join(f"{bilingual(v.title, select_locale())} v{v.version}" for v in versions)
    flash(_("Deployed: %(versions)s", versions=listed) if versions else _("Nothing changed, so no new version."),
          "success")
    return redirect(url_for("designer.home"))


@require(may_deploy)
def check() -> Any:
    body = _json_body()
    error = workspace.check_snippet(_text(body, "kind"), _text(body, "text"))
    return json_response({"error": say(error) if error is not None else None})


@require(may_deploy)
def create_form() -> Any:
    body = _json_body()
    name = workspace.new_form(_text(body, "name"), _text(body, "title"), user=me(), clock=runtime().clock)
    return json_response({"name": name, "url": url_for("designer.edit", name=name)}, 201)


@require(may_deploy)
def preview() -> Any:
    schema, errors = workspace.schema_errors(_text(_json_body(), "content"))
    html = ""
    if schema is not None:
        people = {role: people_with_role(role) for role in roles_offered(schema)}
        fields = fields_for(schema, {}, {}, select_locale(), runtime().timezone, people)
        html = render_template("designer/_preview.html", fields=fields, schema=schema)
    return json_response({"html": html, "errors": [asdict(error) for error in errors]})


@require(may_deploy)
def import_files() -> Any:
    uploads = request.files.getlist("files")
    files = {upload.filename or "": upload.read() for upload in uploads if upload.filename}
    try:
        names = workspace.import_files(files, user=me(), clock=runtime().clock)
    except InvalidRequestError as exc:
        flash(bilingual(exc.message, select_locale()), "danger")
        return _home_page(workspace.review_drafts(), status_of(exc))
    flash(_("Imported as drafts: %(names)s", names=", ".join(names)), "success")
    return redirect(url_for("designer.edit", name=names[0]) if len(names) == 1 else url_for("designer.home"))
