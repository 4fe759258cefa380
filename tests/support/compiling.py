"""Read, plan and compile definition files the way the deploy service does, once per content.

Compiling is pure (the same bytes give the same bundles) and the compiled specs are only read by the
engines that register them, so a test run compiles each set of files once (the session fixture
``compiled`` in tests/support/fixtures.py). The key is every file's name and bytes: a test that
rewrites a file gets a fresh compile. Each test still builds its own engine, clock and database.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from app.engine import CompiledBundle, DefinitionError, Problem, compile_bundle, plan_bundles, read_library
from tests.support.fixtures import ROLES


@dataclass
class Deployment:
    """What reading, planning and compiling a set of files gave: bundles by process id, forms, problems."""

    bundles: dict[str, CompiledBundle] = field(default_factory=dict)
    forms: dict[str, dict[str, Any]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


Compiler = Callable[[Mapping[str, bytes]], Deployment]


def deploy_texts(texts: Mapping[str, bytes]) -> Deployment:
    """Read, plan and compile every bundle of ``texts``; problems are collected, never raised."""
    library = read_library(texts)
    deployment = Deployment(forms=library.forms, problems=list(library.problems))
    plans, reference_problems = plan_bundles(library)
    deployment.problems.extend(reference_problems)
    for plan in plans:
        try:
            deployment.bundles[plan.process_id] = compile_bundle(library, plan, ROLES)
        except DefinitionError as exc:
            deployment.problems.extend(exc.problems)
    return deployment


def content_key(texts: Mapping[str, bytes]) -> bytes:
    """One hash of every file's name and bytes: any changed, added or removed file gives another key."""
    digest = hashlib.sha256()
    for name, content in sorted(texts.items()):
        digest.update(hashlib.sha256(name.encode()).digest() + hashlib.sha256(content).digest())
    return digest.digest()


def remembering_compiler() -> Compiler:
    """``deploy_texts`` remembered by content: what the session fixture ``compiled`` hands out."""
    deployments: dict[bytes, Deployment] = {}

    def compile_once(texts: Mapping[str, bytes]) -> Deployment:
        key = content_key(texts)
        if key not in deployments:
            deployments[key] = deploy_texts(texts)
        return deployments[key]

    return compile_once
