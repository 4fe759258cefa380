"""Uploading definition files (designers)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import request
from flask_babel import gettext as _

from app.services.access import may_deploy
from app.services.definitions.deploy import deploy_files, unchanged_versions
from app.services.errors import ForbiddenError, InvalidRequestError
from app.web.api.blueprint import acting_user, api
from app.web.context import runtime


@api.post("/definitions")
def upload_definitions() -> tuple[dict[str, Any], int]:
    user = acting_user()
    if not may_deploy(user):
        raise ForbiddenError(_("Only process designers may deploy."))
    uploads = request.files.getlist("files")
    if not uploads:
        raise InvalidRequestError(_("Upload at least one file in 'files'."), errors={"files": "required"})
    files = {upload.filename or "": upload.read() for upload in uploads}
    versions = deploy_files(runtime(), files, user=user)
    if versions:
        return {"versions": [asdict(version) for version in versions]}, 201
    unchanged = unchanged_versions(files)
    return {"versions": [], "unchanged": [asdict(version) for version in unchanged],
            "message": _("Nothing changed; no new version was deployed.")}, 200
