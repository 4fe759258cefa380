"""History of a process: versions with who and when, the difference between two, download, roll back."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from app.services.access import may_deploy
from app.services.definitions import versions as history
from app.services.errors import ConflictError, InvalidDefinitionError, NotFoundError
from app.web.context import me, require, runtime
from app.web.i18n import bilingual, say, select_locale
from app.web.problems import shown


@require(may_deploy)
def process_history(process_id: str) -> str:
    rows = history.versions(process_id)
    return render_template("designer/history.html", process_id=process_id, rows=rows)


def _version_arg(name: str, default: int) -> int:
    try:
        return int(request.args.get(name, default))
    except ValueError as exc:
        raise NotFoundError(_("No version %(version)s.", version=request.args.get(name))) from exc


@require(may_deploy)
def diff(process_id: str) -> str:
    rows = history.versions(process_id)
    new = _version_arg("new", rows[0].version)
    old = _version_arg("old", max(new - 1, 1))
    diffs = history.diff_versions(process_id, old, new)
    old_files, new_files = history.version_files(process_id, old), history.version_files(process_id, new)
    diagrams = [
        {"file": d.file, "old": old_files.get(d.file), "new": new_files.get(d.file),
         "changes": [asdict(change) for change in d.changes]}
        for d in diffs if d.file.endswith(".bpmn")
    ]
    return render_template("designer/diff.html", process_id=process_id, rows=rows, old=old, new=new,
                           diffs=diffs, diagrams=diagrams)


@require(may_deploy)
def version_file(process_id: str, version: int, name: str) -> Response:
    text = history.version_file(process_id, version, name)
    mimetype = "application/json" if name.endswith(".json") else "application/xml"
    return Response(text, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})


@require(may_deploy)
def rollback(process_id: str, version: int) -> Any:
    try:
        deployed = history.roll_back(runtime(), process_id, version, user=me())
    except (ConflictError, InvalidDefinitionError) as exc:
        problems = shown(exc.details.get("problems", []))
        flash(say(exc.message) + "".join(f" · {p['file']} {p['element_id'] or ''}: {p['text']}" for p in problems),
              "danger")
        return redirect(url_for("designer.process_history", process_id=process_id))
    flash(_("Version %(old)s deployed again as version %(new)s of %(title)s.", old=version, new=deployed.version,
            title=bilingual(deployed.title, select_locale())), "success")
    return redirect(url_for("designer.process_history", process_id=process_id))
