"""Who may import whom: the import-linter contracts of `.importlinter` hold.

web imports no model and nothing of the engine, services no web and no Flask, the engine nothing of app/ but
the clock, only the engine SpiffWorkflow, models no services or web, and the layers point one way.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from importlinter import api

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / ".importlinter"

LINT = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports(no_cache=True, no_logo=True))"


def contract(contract_id: str) -> dict[str, object]:
    contracts = api.read_configuration(str(CONFIG))["contracts_options"]
    return next(options for options in contracts if options["id"] == contract_id)


def test_the_import_contracts_are_kept() -> None:
    result = subprocess.run([sys.executable, "-c", LINT], cwd=ROOT, capture_output=True, text=True,
                            timeout=120, check=False)

    assert result.returncode == 0, result.stdout + result.stderr


def test_every_folder_of_app_is_a_package() -> None:
    """A folder without `__init__.py` is a namespace package, which import-linter does not see at all."""
    folders = {path.parent for path in (ROOT / "app").rglob("*.py")}

    assert sorted(str(folder.relative_to(ROOT)) for folder in folders
                  if not (folder / "__init__.py").exists()) == []


def test_the_engine_contract_names_every_other_module_of_app() -> None:
    top_level = {f"app.{path.stem}" for path in (ROOT / "app").glob("*.py") if path.stem != "__init__"}
    top_level |= {f"app.{folder.name}" for folder in (ROOT / "app").iterdir() if any(folder.glob("**/*.py"))}

    forbidden = set(contract("engine")["forbidden_modules"])  # type: ignore[call-overload]

    assert top_level - {"app.engine", "app.clock"} == {name for name in forbidden if name.startswith("app.")}
