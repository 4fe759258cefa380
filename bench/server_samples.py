"""Where the servers' CPU goes, by layer: py-spy samples of each server process while a load runs.

``Sampler`` attaches ``py-spy record --gil --nonblocking`` to the gunicorn workers and the flask worker for the
length of a phase (``--gil``: only samples of a thread holding the interpreter lock, i.e. running Python, so a
thread waiting for PostgreSQL or for the lock is not counted; ``--nonblocking``: the processes are never paused).
Each sample is put in one layer by its innermost frame that belongs to a known package (a frame of the standard
library counts for whoever called it):

- engine: SpiffWorkflow and ``app/engine`` (what the raw engine replay also runs, plus its sandbox and budgets)
- SQL client: SQLAlchemy and psycopg (building statements, sending them, reading rows, committing)
- web framework: gunicorn, Flask, Werkzeug, Jinja, Flask-Login/WTF/Babel
- app: ``app/services``, ``app/web``, ``app/models`` and the rest of ``app/`` (the product's own work)
- metrics and logging: prometheus_client and ``logging``
- other: anything else (the event loop of gunicorn's main thread, threading)

It also names the app's own functions that hold most samples (the innermost ``app/`` frame, engine aside), the list
to read before cutting anything. py-spy comes with the dev extras; where it cannot attach (no ptrace), the bench says
so and goes on without it.
"""

from __future__ import annotations

import collections
import re
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

LAYERS = ("engine", "SQL client", "web framework", "app", "metrics and logging", "other")
_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")
# (file prefix as py-spy prints it: the path below site-packages, or below the project) -> layer
_PACKAGES = (
    ("SpiffWorkflow/", "engine"), ("app/engine/", "engine"),
    ("sqlalchemy/", "SQL client"), ("psycopg/", "SQL client"), ("psycopg_pool/", "SQL client"),
    ("gunicorn/", "web framework"), ("flask/", "web framework"), ("werkzeug/", "web framework"),
    ("jinja2/", "web framework"), ("markupsafe/", "web framework"), ("flask_login/", "web framework"),
    ("flask_wtf/", "web framework"), ("flask_babel/", "web framework"), ("babel/", "web framework"),
    ("flask_sqlalchemy/", "SQL client"), ("prometheus_client/", "metrics and logging"),
    ("logging/", "metrics and logging"), ("app/", "app"),
)
TOP_FUNCTIONS = 12


def py_spy() -> str | None:
    """The py-spy executable beside this Python (the dev extras install it), else on PATH."""
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


def layer_of(frame_file: str) -> str | None:
    for prefix, layer in _PACKAGES:
        if frame_file.startswith(prefix) or f"/{prefix}" in frame_file:
            return layer
    return None


@dataclass
class Profile:
    """Samples per layer and per app function, of one kind of process."""

    layers: collections.Counter[str] = field(default_factory=collections.Counter)
    app_functions: collections.Counter[str] = field(default_factory=collections.Counter)

    @property
    def samples(self) -> int:
        return sum(self.layers.values())

    def add_stack(self, frames: list[str], count: int) -> None:
        """One folded stack (outermost frame first), seen ``count`` times."""
        parsed = [match.groupdict() for frame in frames if (match := _FRAME.match(frame))]
        layer = next((found for frame in reversed(parsed) if (found := layer_of(frame["file"]))), None)
        self.layers[layer or "other"] += count
        if layer != "engine":
            own = next((frame for frame in reversed(parsed) if layer_of(frame["file"]) == "app"), None)
            if own is not None:
                self.app_functions[f"{own['function']} ({own['file']})"] += count

    def read(self, folded: Path) -> None:
        """py-spy's raw output: one line per distinct stack, frames joined by ';', then the count."""
        for line in folded.read_text(errors="replace").splitlines():
            stack, _, count = line.rpartition(" ")
            if stack and count.isdigit():
                self.add_stack(stack.split(";"), int(count))


class Sampler:
    """py-spy on each of ``pids`` (kind -> process ids) from ``start`` to ``stop``."""

    def __init__(self, folder: Path, pids: dict[str, list[int]], rate: int = 100) -> None:
        self.folder, self.pids, self.rate = folder, pids, rate
        self.running: list[tuple[str, Path, subprocess.Popen[bytes]]] = []
        self.problem = "" if py_spy() else "py-spy is not installed (pip install -e '.[dev]')"

    def start(self) -> None:
        executable = py_spy()
        if executable is None:
            return
        for kind, pids in self.pids.items():
            for pid in pids:
                out = self.folder / f"samples-{kind.replace(' ', '_')}-{pid}.txt"
                command = [executable, "record", "--gil", "--nonblocking", "--format", "raw", "--rate",
                           str(self.rate), "--output", str(out), "--pid", str(pid)]
                self.running.append((kind, out, subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                                                 stderr=subprocess.PIPE)))

    def stop(self) -> dict[str, Profile]:
        profiles: dict[str, Profile] = {}
        for kind, out, process in self.running:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)  # py-spy writes what it sampled and exits
            try:
                _, error = process.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                _, error = process.communicate()
            if out.exists():
                profiles.setdefault(kind, Profile()).read(out)
            elif not self.problem:
                said = (error or b"").decode(errors="replace").strip().splitlines()
                self.problem = said[-1] if said else "py-spy wrote nothing"
        return profiles


def report(profiles: dict[str, Profile], cpu_ms_per_step: dict[str, float], problem: str) -> str:
    """Each kind's layers as shares of its samples and as CPU ms per step, then its heaviest app functions."""
    if not profiles:
        return f"where the servers' CPU goes: not sampled ({problem or 'no samples'})"
    lines = ["where the servers' CPU goes (py-spy, samples of a thread running Python; ms = share x CPU per step):"]
    for kind, profile in profiles.items():
        total = profile.samples or 1
        per_step = cpu_ms_per_step.get(kind)
        shares = ", ".join(
            f"{layer} {profile.layers[layer] / total:.0%}"
            + (f" ({profile.layers[layer] / total * per_step:.2f} ms)" if per_step else "")
            for layer in LAYERS if profile.layers[layer])
        lines.append(f"  {kind} ({profile.samples} samples): {shares}")
        for function, count in profile.app_functions.most_common(TOP_FUNCTIONS):
            lines.append(f"      {count / total:5.1%}  {function}")
    return "\n".join(lines)


def gunicorn_workers(master: int) -> list[int]:
    path = Path(f"/proc/{master}/task/{master}/children")
    return [int(pid) for pid in path.read_text().split()] if path.exists() else []
