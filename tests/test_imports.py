"""Every module of app/ imports on its own, whatever was imported before it.

An import circle hides as long as some other module happens to be imported first (`register_blueprints`
importing admin before console did, for instance). One fresh interpreter imports each module in turn,
forgetting app/ before each one, so a module that needs a particular order fails here.

To keep it to seconds, it forgets only the module's own layer and those above it: the layers contract
(`.importlinter`, checked by tests/test_layering.py) proves a lower layer never imports a higher one, so a
circle lies within one layer. Each lower module was imported on its own at its own turn.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# The layers of `.importlinter`, lowest first; `app` itself (create_app) imports only the foundation at the top.
LAYERS = [
    ["app", "app.clock", "app.config", "app.database", "app.extensions", "app.models", "app.engine"],
    ["app.services"],
    ["app.web", "app.demo"],
    ["app.cli", "app.worker"],
]

IMPORT_EACH = """
import importlib, json, sys, traceback

layers = json.loads(sys.argv[2])


def layer(name):
    found = [index for index, packages in enumerate(layers)
             for package in packages if name == package or name.startswith(package + ".")]
    return max(found)


failures = {}
for name in json.loads(sys.argv[1]):
    for loaded in [key for key in sys.modules if key == "app" or key.startswith("app.")]:
        if layer(loaded) >= layer(name):
            del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception:
        failures[name] = traceback.format_exc(limit=-3)
print(json.dumps(failures))
"""


def app_modules() -> list[str]:
    names = []
    for path in sorted((ROOT / "app").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def in_layers(name: str) -> bool:
    return any(name == package or name.startswith(package + ".") for packages in LAYERS for package in packages)


def test_every_module_of_app_is_in_a_layer() -> None:
    names = app_modules()

    assert {"app", "app.engine", "app.web.console", "app.worker"} <= set(names)
    assert [name for name in names if not in_layers(name)] == []


def test_every_module_of_app_imports_in_a_fresh_interpreter(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_EACH, json.dumps(app_modules()), json.dumps(LAYERS)],
        # Bytecode kept aside, so each module is compiled once rather than at every import.
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "", "PYTHONPYCACHEPREFIX": str(tmp_path / "pycache")},
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )

    assert result.returncode == 0, result.stderr
    failures = json.loads(result.stdout.splitlines()[-1])
    assert not failures, "\n".join(f"{name}:\n{trace}" for name, trace in failures.items())
