"""Deploying definition files as versioned bundles, from disk or uploaded."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.engine import (
    BundlePlan,
    CompiledBundle,
    DefinitionError,
    Library,
    Problem,
    compile_bundle,
    plan_bundles,
    read_library,
)
from app.extensions import db
from app.models import Bundle, DiskFile
from app.services.access import Actor
from app.services.errors import ConflictError, InvalidDefinitionError, msg
from app.services.people.users import role_names
from app.services.runtime import Runtime
from app.services.work.instances import TICKET_DATA
from app.services.work.tickets import SYSTEM_VARIABLES

DEFINITION_SUFFIXES = (".bpmn", ".dmn", ".json")
# A file name is a key of the designer's pages and of its URLs: no path, no leading dot, no odd characters.
FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,150}\.(bpmn|dmn|json)$")
FILE_NAME_RULE = "a file name uses letters, digits and underscores and ends in .bpmn, .dmn or .json"


def is_definition_name(name: str) -> bool:
    """Whether ``name`` may name a definition file (the designer and the API deploy alike)."""
    return FILE_NAME.match(name) is not None


@dataclass(frozen=True)
class DeployedVersion:
    process_id: str
    version: int
    title: str


def deploy_files(rt: Runtime, uploaded: Mapping[str, bytes], *, user: Actor | None,
                 also: Callable[[], None] | None = None) -> list[DeployedVersion]:
    """Deploy uploaded files over the latest deployed ones; raise InvalidDefinitionError, nothing stored.

    ``also`` runs in the same transaction just before the commit (the designer deletes its drafts there).
    """
    misnamed = [Problem(name, None, FILE_NAME_RULE) for name in sorted(uploaded) if not is_definition_name(name)]
    if misnamed:
        raise InvalidDefinitionError(msg("the definitions have problems; nothing was deployed"), problems=misnamed)
    versions = _deploy(rt, uploaded, source="api", user=user)
    if also is not None:
        also()
    _commit()
    rt.latest_bundles.forget()  # what a request read before this deploy must not find the old versions kept
    return versions


def check_files(uploaded: Mapping[str, bytes]) -> list[Problem]:
    """Every problem that deploying ``uploaded`` would meet (the full check, parse included); nothing stored."""
    _, _, problems = _compile_changed(uploaded)
    return problems


def deploy_from_disk(rt: Runtime, bpmn_dir: Path, forms_dir: Path) -> list[DeployedVersion]:
    """Deploy the files that changed on disk since the last deploy from disk (never what came by API)."""
    on_disk = read_definition_dir(bpmn_dir) | read_definition_dir(forms_dir)
    known = {row.name: row.content_hash for row in db.session.scalars(select(DiskFile))}
    changed = {name: text for name, text in on_disk.items() if known.get(name) != _sha256(text)}
    if not changed:
        return []
    versions = _deploy(rt, changed, source="disk", user=None)
    for name, text in changed.items():
        db.session.merge(DiskFile(name=name, content_hash=_sha256(text)))
    _commit()
    rt.latest_bundles.forget()
    return versions


def latest_texts() -> dict[str, bytes]:
    """The newest deployed text of every file (the newest version of a shared file wins)."""
    return _library_texts(_latest_bundles())


def start_variables(library: Library, process_id: str) -> frozenset[str]:
    """What the application itself puts in the data when it starts ``process_id``.

    A process whose diagrams or tables read the ticket's data is a ticket process (the rule of
    ``instances.ticket_kind``): the ticket service starts it with SYSTEM_VARIABLES, or refuses to
    start it outside a ticket. A process may declare more with its ``startVariables`` property
    (read by the data-flow check itself).
    """
    reads_ticket_data = any(_READS_TICKET_DATA.search(text.decode("utf-8", "replace"))
                            for text in _bundle_diagrams(library, process_id))
    return SYSTEM_VARIABLES if reads_ticket_data else frozenset()


_READS_TICKET_DATA = re.compile(r"\b(?:" + "|".join(TICKET_DATA) + r")\b")


def _bundle_diagrams(library: Library, process_id: str) -> Iterator[bytes]:
    seen: set[str] = set()
    pending = [process_id]
    while pending:
        info = library.processes.get(pending.pop())
        if info is None or info.process_id in seen:
            continue
        seen.add(info.process_id)
        yield library.texts[info.file]
        yield from (library.texts[library.decisions[d]] for d in info.decisions.values() if d in library.decisions)
        pending.extend(info.calls.values())


def read_definition_dir(folder: Path) -> dict[str, bytes]:
    if not folder.is_dir():
        return {}
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())
            if path.is_file() and path.suffix in DEFINITION_SUFFIXES}


def _deploy(rt: Runtime, uploaded: Mapping[str, bytes], *, source: str, user: Actor | None) -> list[DeployedVersion]:
    checked, latest, problems = _compile_changed(uploaded)
    if problems:
        db.session.rollback()
        raise InvalidDefinitionError(msg("the definitions have problems; nothing was deployed"),
                                     problems=problems)
    return [_store(rt, bundle, checked.texts, latest.get(bundle.plan.process_id), source, user)
            for bundle in checked.compiled]


def _compile_changed(uploaded: Mapping[str, bytes]) -> tuple[_Checked, dict[str, Bundle], list[Problem]]:
    latest = _latest_bundles()
    texts = {**_library_texts(latest), **uploaded}
    library = read_library(texts)
    problems = list(library.problems)
    plans, reference_problems = plan_bundles(library)
    changed = [plan for plan in plans if plan.content_hash != _hash_of(latest.get(plan.process_id))]
    touched = set(uploaded) | {name for plan in changed for name in plan.files}
    problems += [p for p in reference_problems if p.file in touched]
    problems += _undecodable(uploaded)
    problems += _nothing_deployed(library, plans, changed, uploaded, other_problems=bool(problems))
    names = role_names()
    compiled = []
    for plan in changed:
        try:
            compiled.append(compile_bundle(library, plan, names, SYSTEM_VARIABLES,
                                           start_variables(library, plan.process_id)))
        except DefinitionError as exc:
            problems.extend(exc.problems)
    return _Checked(library.texts, compiled), latest, _unique(problems)


@dataclass(frozen=True)
class _Checked:
    texts: dict[str, bytes]
    compiled: list[CompiledBundle]


def _store(rt: Runtime, bundle: CompiledBundle, texts: Mapping[str, bytes], previous: Bundle | None, source: str,
           user: Actor | None) -> DeployedVersion:
    plan = bundle.plan
    spec_key = f"{plan.process_id}@{plan.content_hash}"
    row = Bundle(
        process_id=plan.process_id, version=(previous.version if previous else 0) + 1, title=plan.title,
        content_hash=plan.content_hash, spec_key=spec_key,
        files={name: texts[name].decode("utf-8") for name in plan.files},
        serialized_spec=rt.engine.register_bundle(spec_key, bundle), lane_roles=bundle.lane_roles,
        start_roles=list(bundle.start_roles), start_form=bundle.start_form, source=source,
        deployed_by_id=user.id if user else None, deployed_at=rt.clock.now(),
    )
    db.session.add(row)
    return DeployedVersion(row.process_id, row.version, row.title)


def _latest_bundles() -> dict[str, Bundle]:
    newest = (select(Bundle.process_id, func.max(Bundle.version).label("version"))
              .group_by(Bundle.process_id).subquery())
    rows = db.session.scalars(
        select(Bundle).join(newest, (Bundle.process_id == newest.c.process_id) & (Bundle.version == newest.c.version))
        .order_by(Bundle.deployed_at, Bundle.id)
    )
    return {row.process_id: row for row in rows}


def _library_texts(latest: Mapping[str, Bundle]) -> dict[str, bytes]:
    texts: dict[str, bytes] = {}
    for bundle in latest.values():  # oldest first, so the newest version of a shared file wins
        texts.update({name: text.encode("utf-8") for name, text in bundle.files.items()})
    return texts


def _hash_of(bundle: Bundle | None) -> str | None:
    return bundle.content_hash if bundle else None


def _undecodable(uploaded: Mapping[str, bytes]) -> list[Problem]:
    problems = []
    for name, content in uploaded.items():
        try:
            content.decode("utf-8")
        except UnicodeDecodeError:
            problems.append(Problem(name, None, "file is not UTF-8 text"))
    return problems


# English, as the engine's problems are; app/web/problems.py says them in Chinese.
NOT_EXECUTABLE = ('no process in this file is executable, so nothing of it would be deployed: mark the process '
                  'executable with isExecutable="true" (<bpmn:process id="…" isExecutable="true">)')
NO_PROCESS = "the file holds no process, so nothing of it would be deployed"
UNUSED = "no process uses this file, so nothing of it would be deployed: upload it with the process that uses it"


def _nothing_deployed(library: Library, plans: list[BundlePlan], changed: list[BundlePlan],
                      uploaded: Mapping[str, bytes], *, other_problems: bool) -> list[Problem]:
    """Uploaded files that no bundle holds: a diagram with nothing executable, a table or form nobody uses.

    A table or form is only called unused when nothing else is wrong (a broken diagram uses nothing).
    """
    used = {name for plan in plans for name in plan.files}
    problems = []
    for name in sorted(set(uploaded) - used):
        if name in library.bpmn:
            processes = [info for info in library.processes.values() if info.file == name]
            problems.append(Problem(name, processes[0].process_id if processes else None,
                                    NOT_EXECUTABLE if processes else NO_PROCESS))
        elif (name in library.dmn or name in library.forms) and not changed and not other_problems:
            problems.append(Problem(name, None, UNUSED))
    return problems


def unchanged_versions(uploaded: Mapping[str, bytes]) -> list[DeployedVersion]:
    """The deployed versions that already hold the uploaded files as they are (what a no-op upload left)."""
    return [DeployedVersion(row.process_id, row.version, row.title) for row in _latest_bundles().values()
            if set(row.files) & set(uploaded)
            and all(row.files.get(name, "").encode("utf-8") == text for name, text in uploaded.items()
                    if name in row.files)]


def _unique(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))


def _sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def _commit() -> None:
    try:
        db.session.commit()
    except IntegrityError as exc:
        db.session.rollback()
        raise ConflictError(msg("another deploy ran at the same time; try again")) from exc
