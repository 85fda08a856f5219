"""Every ``bash`` and ``python`` block of the playbook and the README, run as a reader would run it (Sybil).

Loaded by ``make test-docs`` / ``make test-docs-slow``::

    python -m pytest -p tests.docs.plugin -m 'not slow' README.md playbook

Each page runs in a fresh folder of its own, in page order: a copy of the shipped ``examples/`` and ``benchmarks/``
(built C++ examples included) and ``.venv``, a link to the environment running the tests, so that
``.venv/bin/phasm-perf`` and ``source .venv/bin/activate`` work as written. A shell block runs under
``bash -euo pipefail`` with that environment's ``bin`` first on ``PATH`` (as after ``source .venv/bin/activate``);
whatever it leaves running in the background is ended when the block ends. Python blocks of a page share one
namespace, as cells of one notebook.

A block is marked by an HTML comment on the line before it (invisible on the site)::

    <!-- doctest: slow -->               minutes of work (bench, search): run by make test-docs-slow
    <!-- doctest: gpu -->                needs an NVIDIA GPU: skipped, with that reason, on a machine without one
    <!-- doctest: skip REASON -->        never run here (a cluster, a server, the command running these tests)
    <!-- doctest: needs MODULE -->       slow, and skipped when MODULE (an optional extra's) is not installed
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from sybil import Example, Sybil
from sybil.parsers.markdown import CodeBlockParser, PythonCodeBlockParser

ROOT = Path(__file__).resolve().parents[2]
PAGES = ["README.md", "playbook/*.md"]
#: copied into each page's folder
SHIPPED = ("examples", "benchmarks")
DIRECTIVE = re.compile(r"<!--\s*doctest:\s*(slow|gpu|skip|needs)\s*(.*?)\s*-->\s*$")
#: seconds a block may take before it fails (a fast block, a slow one)
TIMEOUT = {"fast": 240, "slow": 900}


def _venv_bin() -> Path:
    return Path(sys.executable).parent


def _setup(namespace: dict) -> None:
    folder = Path(tempfile.mkdtemp(prefix="phasm-docs-"))
    for name in SHIPPED:
        shutil.copytree(ROOT / name, folder / name, symlinks=True,
                        ignore=shutil.ignore_patterns("__pycache__", "*.o", "phasm-out"))
    (folder / ".venv").symlink_to(_venv_bin().parent, target_is_directory=True)
    namespace["__docs_folder__"] = folder
    namespace["__docs_cwd__"] = os.getcwd()
    os.chdir(folder)


def _teardown(namespace: dict) -> None:
    os.chdir(namespace["__docs_cwd__"])
    if not os.environ.get("PHASM_DOCS_KEEP"):
        shutil.rmtree(namespace["__docs_folder__"], ignore_errors=True)


def _env(folder: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{_venv_bin()}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(_venv_bin().parent)
    env["MPLBACKEND"] = "Agg"
    env["PHASM_PERF_LOCAL_PROFILE"] = str(folder / "local.yaml")   # `--hardware local` measured here, not in ~/.cache
    env.pop("MLFLOW_TRACKING_URI", None)
    env.pop("PYTHONPATH", None)
    return env


def directive(example: Example) -> tuple[str, str] | None:
    """The ``<!-- doctest: ... -->`` comment on the line before the block, if any: (kind, reason)."""
    before = example.document.text[:example.region.start].rstrip("\n").rsplit("\n", 1)[-1]
    m = DIRECTIVE.search(before)
    return (m.group(1), m.group(2)) if m else None


def _tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])


def run_shell(example: Example) -> None:
    folder = example.namespace["__docs_folder__"]
    limit = TIMEOUT["slow" if (directive(example) or ("",))[0] == "slow" else "fast"]
    # output to a file, not a pipe: what the block leaves in the background (a dask scheduler...) would hold a
    # pipe open after the block ends; it is ended with the block's process group
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(["bash", "-euo", "pipefail", "-c", example.parsed], cwd=folder, env=_env(folder),
                                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)
        try:
            proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            pass
        finally:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        timed_out = proc.poll() is None
        if timed_out:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.seek(0)
        out = log.read()
    if timed_out:
        raise AssertionError(f"{example.path}:{example.line}: the block ran longer than {limit} s\n{_tail(out)}")
    if proc.returncode != 0:
        raise AssertionError(f"{example.path}:{example.line}: the block exited with status {proc.returncode}\n"
                             f"{_tail(out)}")


python_blocks = PythonCodeBlockParser()

sybil = Sybil(
    parsers=[CodeBlockParser(language="bash", evaluator=run_shell), python_blocks],
    patterns=PAGES,
    path=str(ROOT),
    setup=_setup,
    teardown=_teardown,
)
pytest_collect_file = sybil.pytest()


def has_gpu() -> bool:
    smi = shutil.which("nvidia-smi")
    if not smi:
        return False
    try:
        return subprocess.run([smi, "-L"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def pytest_collection_modifyitems(config, items):
    gpu = None
    for item in items:
        example = getattr(item, "example", None)
        if example is None:
            continue
        mark = directive(example)
        if mark is None:
            continue
        kind, reason = mark
        if kind == "slow":
            item.add_marker(pytest.mark.slow)
        elif kind == "needs":
            item.add_marker(pytest.mark.slow)
            if importlib.util.find_spec(reason) is None:
                item.add_marker(pytest.mark.skip(reason=f"needs {reason} (not installed)"))
        elif kind == "gpu":
            gpu = has_gpu() if gpu is None else gpu
            item.add_marker(pytest.mark.slow)
            if not gpu:
                item.add_marker(pytest.mark.skip(reason="needs an NVIDIA GPU (nvidia-smi -L found none)"))
        else:
            item.add_marker(pytest.mark.skip(reason=reason or "marked skip on the page"))
