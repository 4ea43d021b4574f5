"""Run the checker's subprocess on a learner's file and gather its report.

The learner's code never runs in this process: :func:`check_file` starts
``python -m deepstep.check._worker`` in its own session (so a runaway file and
anything it starts can be killed together), with no stdin, its output thrown
away, and a time limit for the whole run on top of the worker's own limits
(the import, each function).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import DataError

DEFAULT_TIMEOUT = 180.0          # the whole run, seconds
DEFAULT_FUNCTION_TIMEOUT = 20.0  # each function's checks, seconds
DEFAULT_IMPORT_TIMEOUT = 10.0
DEFAULT_EXAMPLES = 25            # random cases per function (hypothesis)


@dataclass
class Result:
    name: str
    ok: bool
    message: str = ""
    cause: str = ""

    def line(self) -> str:
        if self.ok:
            return f"{self.name}: ok"
        cause = f"; likely cause: {self.cause}" if self.cause else ""
        return f"{self.name}: wrong — {self.message}{cause}"


@dataclass
class Report:
    file: str
    results: list = field(default_factory=list)
    error: str = ""              # the file could not be imported or checked at all
    printed: int = 0             # characters the learner's code printed (not shown)

    @property
    def ok(self) -> bool:
        return not self.error and bool(self.results) and all(r.ok for r in self.results)

    def lines(self) -> list:
        out = [r.line() for r in self.results]
        if self.error:
            out.append(self.error)
        return out

    def text(self) -> str:
        return "\n".join(self.lines())

    def to_dict(self) -> dict:
        return {"file": self.file, "ok": self.ok, "error": self.error, "printed": self.printed,
                "results": [asdict(r) for r in self.results]}

    def __repr__(self):
        return self.text()

    def _repr_pretty_(self, p, cycle):          # IPython / Jupyter show the lines
        p.text(self.text())


def notebook_to_script(path: Path, dest: Path) -> None:
    """The imports and definitions of a .ipynb's code cells as one .py file.

    Only what defines the learner's functions is kept (imports, ``def``,
    ``class``, assignments of constants): the notebook's own test calls,
    training runs and plots are left out, so checking does not run them.
    IPython magics and shell lines are dropped; a cell that does not parse is
    kept whole, so its syntax error is reported.
    """
    import ast

    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
        cells = [c for c in nb["cells"] if c.get("cell_type") == "code"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{path} is not a readable Jupyter notebook ({exc}); save it again, "
                        f"or export it as a .py file") from None
    keep = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    out = []
    for n, cell in enumerate(cells, start=1):
        src = cell.get("source", "")
        src = "".join(src) if isinstance(src, list) else str(src)
        lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in src.splitlines()]
        code = "\n".join(lines)
        try:
            tree = ast.parse(code)
        except SyntaxError:
            out.append(f"# --- code cell {n} (as written: it does not parse) ---\n{code}\n")
            continue
        parts = []
        for node in tree.body:
            constant = isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
            if isinstance(node, keep) or constant:
                parts.append(ast.get_source_segment(code, node, padded=True) or "")
        if parts:
            out.append(f"# --- code cell {n} ---\n" + "\n\n".join(parts) + "\n")
    dest.write_text("\n\n".join(out), encoding="utf-8")


def check_file(path, *, timeout=DEFAULT_TIMEOUT, function_timeout=DEFAULT_FUNCTION_TIMEOUT,
               import_timeout=DEFAULT_IMPORT_TIMEOUT, examples=DEFAULT_EXAMPLES, only=()) -> Report:
    """Check the lesson's functions defined in the learner's ``path`` (.py or .ipynb)."""
    import importlib.util

    if importlib.util.find_spec("hypothesis") is None:
        raise DataError("deepstep check needs hypothesis for its random cases: pip install 'deepstep[check]'")
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} not found: give the path of your .py file (or .ipynb notebook)")
    if path.suffix not in (".py", ".ipynb"):
        raise DataError(f"{path} is not a .py file or a .ipynb notebook: save your functions in one")
    with tempfile.TemporaryDirectory(prefix="deepstep-check-") as tmp:
        tmp = Path(tmp)
        script = path.resolve()
        if path.suffix == ".ipynb":
            script = tmp / ((path.stem if path.stem.isidentifier() else "notebook") + ".py")
            notebook_to_script(path, script)
        results_path = tmp / "results.jsonl"
        stderr_path = tmp / "stderr.txt"
        cmd = [sys.executable, "-m", "deepstep.check._worker", str(script), str(results_path),
               str(function_timeout), str(import_timeout), str(examples), *only]
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", MPLBACKEND="Agg", PYTHONHASHSEED="0",
                   OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
        pkg_root = str(Path(__file__).resolve().parents[2])       # so the worker finds this deepstep
        env["PYTHONPATH"] = pkg_root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        timed_out = False
        with open(stderr_path, "wb") as err:
            proc = subprocess.Popen(cmd, cwd=str(path.resolve().parent), stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL, stderr=err, env=env, start_new_session=True)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                timed_out = True
                _kill(proc)
        records = _read_records(results_path)
        stderr_tail = _tail(stderr_path)
    return _report(str(path), records, timed_out, timeout, proc.returncode, stderr_tail)


def _kill(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        proc.kill()
    proc.wait()


def _read_records(path):
    records = []
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                try:
                    records.append(json.loads(line))
                except ValueError:
                    break                      # a line cut short by a kill
    except OSError:
        pass
    return records


def _tail(path, limit=600):
    try:
        data = Path(path).read_bytes()[-limit:]
    except OSError:
        return ""
    lines = data.decode("utf-8", "replace").strip().splitlines()
    return lines[-1] if lines else ""


def _report(file, records, timed_out, timeout, returncode, stderr_tail):
    from .cases import FUNCTIONS

    report = Report(file)
    found, started, done = [], None, False
    for rec in records:
        report.printed = max(report.printed, rec.get("printed", 0))
        ev = rec.get("event")
        if ev == "import_error":
            cause = f"; {rec['cause']}" if rec.get("cause") else ""
            report.error = f"{Path(file).name} could not be imported: {rec['message']}{cause}"
            return report
        if ev == "found":
            found = rec["names"]
        elif ev == "start":
            started = rec["name"]
        elif ev == "result":
            report.results.append(Result(rec["name"], rec["ok"], rec.get("message", ""), rec.get("cause", "")))
            started = None
        elif ev == "done":
            done = True
    if not records:
        why = f"it ran past the time limit of {timeout:g} s" if timed_out else \
            f"the check stopped (exit status {returncode}){': ' + stderr_tail if stderr_tail else ''}"
        report.error = f"{Path(file).name} could not be checked: {why}"
        return report
    if not found and done:
        report.error = (f"{Path(file).name} defines none of the lesson's functions "
                        f"(looked for: {', '.join(FUNCTIONS)})")
        return report
    if not done:
        if started:
            why = f"ran past the time limit of {timeout:g} s" if timed_out else \
                f"stopped the check (exit status {returncode})"
            report.results.append(Result(started, False, f"{why} while being checked",
                                         "an endless loop, or a call that ends the process (exit, os._exit)"))
        checked = {r.name for r in report.results}
        for name in found:
            if name not in checked:
                report.results.append(Result(name, False, "not checked: the check stopped before reaching it"))
    return report
