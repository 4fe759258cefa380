"""Versions of a deployed process: who deployed what and when, the difference between two, roll back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from app.engine import FileDiff, diff_files
from app.extensions import db
from app.models import Bundle
from app.services.access import Actor
from app.services.definitions.deploy import DeployedVersion, deploy_files
from app.services.errors import ConflictError, NotFoundError, msg
from app.services.runtime import Runtime


@dataclass(frozen=True)
class ProcessSummary:
    process_id: str
    title: str
    latest_version: int
    deployed_at: datetime


@dataclass(frozen=True)
class VersionRow:
    version: int
    deployed_at: datetime
    deployed_by: str | None  # None: deployed from disk at start-up
    source: str
    files: tuple[str, ...]


def processes() -> list[ProcessSummary]:
    newest = (select(Bundle.process_id, func.max(Bundle.version).label("version"))
              .group_by(Bundle.process_id).subquery())
    rows = db.session.scalars(select(Bundle).join(
        newest, (Bundle.process_id == newest.c.process_id) & (Bundle.version == newest.c.version))
        .order_by(Bundle.process_id))
    return [ProcessSummary(row.process_id, row.title, row.version, row.deployed_at) for row in rows]


def versions(process_id: str) -> list[VersionRow]:
    """Every version of ``process_id``, newest first; raise NotFoundError."""
    rows = db.session.scalars(select(Bundle).where(Bundle.process_id == process_id)
                              .order_by(Bundle.version.desc())).all()
    if not rows:
        raise NotFoundError(msg("no process %(process_id)s", process_id=process_id))
    return [VersionRow(row.version, row.deployed_at, row.deployed_by.display_name if row.deployed_by else None,
                       row.source, tuple(sorted(row.files))) for row in rows]


def _bundle(process_id: str, version: int) -> Bundle:
    row = db.session.scalars(select(Bundle).where(Bundle.process_id == process_id,
                                                  Bundle.version == version)).first()
    if row is None:
        raise NotFoundError(msg("no version %(version)s of %(process_id)s", version=version, process_id=process_id))
    return row


def version_files(process_id: str, version: int) -> dict[str, str]:
    return dict(_bundle(process_id, version).files)


def version_file(process_id: str, version: int, name: str) -> str:
    """The text of one file of a version; raise NotFoundError."""
    files = version_files(process_id, version)
    if name not in files:
        raise NotFoundError(msg("version %(version)s has no %(name)s", version=version, name=name))
    return files[name]


def diff_versions(process_id: str, old: int, new: int) -> list[FileDiff]:
    """What changed from version ``old`` to version ``new``: files and elements added, removed, changed."""
    return diff_files(version_files(process_id, old), version_files(process_id, new))


def roll_back(rt: Runtime, process_id: str, version: int, *, user: Actor) -> DeployedVersion:
    """Deploy version ``version``'s files again as the newest version (running instances keep theirs)."""
    files = {name: text.encode("utf-8") for name, text in version_files(process_id, version).items()}
    deployed = [v for v in deploy_files(rt, files, user=user) if v.process_id == process_id]
    if not deployed:
        raise ConflictError(msg("version %(version)s is the same as the newest", version=version))
    return deployed[0]
