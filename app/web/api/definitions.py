"""Uploading definition files (designers)."""

from __future__ import annotations

from dataclasses import asdict

from flask import request

from app.services.access import may_deploy
from app.services.definitions.deploy import deploy_files, unchanged_versions
from app.services.errors import ForbiddenError, InvalidRequestError
from app.web.api.blueprint import acting_user, api, runtime


@api.post("/definitions")
def upload_definitions() -> tuple[dict, int]:
    user = acting_user()
    if not may_deploy(user):
        raise ForbiddenError("只有流程设计人员可以部署 / only process designers may deploy")
    uploads = request.files.getlist("files")
    if not uploads:
        raise InvalidRequestError("请上传文件 / upload at least one file in 'files'", errors={"files": "required"})
    files = {upload.filename or "": upload.read() for upload in uploads}
    versions = deploy_files(runtime(), files, user=user)
    if versions:
        return {"versions": [asdict(version) for version in versions]}, 201
    unchanged = unchanged_versions(files)
    return {"versions": [], "unchanged": [asdict(version) for version in unchanged],
            "message": "没有变化，未部署新版本 / nothing changed; no new version was deployed"}, 200
